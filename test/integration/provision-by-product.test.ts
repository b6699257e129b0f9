/**
 * `tether provision` without --template: the companion asks the device which product it runs
 * (its proto-ver answer names it) and provisions it as that product — here for a client, who
 * reads only the template facts provisioning needs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceHost } from '../../firmware-sim/device-host.js';
import { addUser } from '../accounts/account-support.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { runCliHere } from '../support/run-cli.js';
import { HOME_WIFI, startSimDevice } from '../support/sim-device.js';

describe('provisioning by the product the device names', () => {
  let gw: TestGateway;
  let home: string;
  let host: DeviceHost;
  let templateId: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    home = await mkdtemp(join(tmpdir(), 'tether-product-'));
    const admin = await gw.login();
    templateId = (
      await gw.api<{ id: string }>(
        'POST',
        '/api/templates',
        { name: 'Thermostat', datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }] },
        admin,
      )
    ).body.id;
    await addUser(gw, admin, 'buyer@example.com', 'user');
    await gw.api(
      'PATCH',
      `/api/users/${(await gw.gateway.services.store.users.byEmail('buyer@example.com'))!.id}`,
      { type: 'client' },
      admin,
    );
    host = await startSimDevice({ templateId });
  }, 60_000);
  afterAll(async () => {
    await host.stop();
    await gw.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('activates the device as the product it says it is, for a client who never typed the template', async () => {
    const env = { TETHER_HOME: home, TETHER_GATEWAY_URL: gw.baseUrl, TETHER_PASSWORD: '' };
    expect(
      (await runCliHere(['login', '-e', 'buyer@example.com', '-p', 'a long enough password'], env)).code,
    ).toBe(0);
    const res = await runCliHere(
      [
        'provision',
        '--device',
        host.softApAddress!,
        '--pop',
        host.device.factory.pop,
        '--ssid',
        HOME_WIFI.ssid,
        '--passphrase',
        HOME_WIFI.passphrase,
        '--json',
      ],
      env,
    );
    expect(res.code, res.stderr).toBe(0);
    const result = JSON.parse(res.stdout) as { deviceId: string };
    const device = await gw.gateway.services.store.devices.get(result.deviceId);
    expect(device).toMatchObject({ templateId, status: 'active' });
    const buyer = await gw.gateway.services.store.users.byEmail('buyer@example.com');
    expect(device?.ownerId).toBe(buyer?.id);
  });
});
