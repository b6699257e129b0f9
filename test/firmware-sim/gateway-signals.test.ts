/**
 * The simulated device honours what the real gateway tells it, over real MQTT on loopback: a
 * datastream write (stored and echoed), ping, reboot, reconfigure, re-provision (the old token is
 * refused: back to provisioning with 703, Wi-Fi kept) and deletion (downlink/wipe: factory state).
 * Provisioned through the real companion flow first; security 1 keeps it quick.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceHost } from '../../firmware-sim/device-host.js';
import type { DeviceState } from '../../firmware-sim/simulated-device.js';
import { activateDevice } from '../../provisioning/companion/activation-flow.js';
import { SoftApHttpTransport } from '../../provisioning/transport/softap-http.js';
import { GatewayClient } from '../../shared/gateway-client.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { HOME_WIFI, startSimDevice } from '../support/sim-device.js';

function until(host: DeviceHost, predicate: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve();
    const started = Date.now();
    const timer = setInterval(() => {
      if (predicate()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${what} (state ${host.device.state})`));
      }
    }, 10);
  });
}

describe('the simulated device and the real gateway', () => {
  let gw: TestGateway;
  let token: string;
  let host: DeviceHost;
  let deviceId: string;
  const states: DeviceState[] = [];

  beforeEach(async () => {
    gw = await startTestGateway();
    token = await gw.login();
    const templateId = (
      await gw.api<{ id: string }>(
        'POST',
        '/api/templates',
        { name: 'Lamp', minSecurity: 1, datastreams: [{ name: 'power', type: 'int', min: 0, max: 1 }] },
        token,
      )
    ).body.id;
    host = await startSimDevice({
      templateId,
      security: 1,
      timings: { backoffBaseMs: 50, backoffMaxMs: 200 },
    });
    host.device.on('state', ({ to }) => states.push(to));
    const companion = new GatewayClient({ baseUrl: gw.baseUrl });
    await companion.login(ADMIN.email, ADMIN.password);
    ({ deviceId } = await activateDevice(new SoftApHttpTransport(), companion, {
      templateId,
      address: host.softApAddress!,
      pop: host.device.factory.pop,
      wifi: { ssid: HOME_WIFI.ssid, passphrase: HOME_WIFI.passphrase },
      wifiPollMs: 50,
    }));
    expect(host.device.state).toBe('running');
    states.length = 0;
  });

  afterEach(async () => {
    await host?.stop();
    await gw?.stop();
  });

  it('stores and echoes a datastream the person writes, and answers a ping', async () => {
    const write = await gw.api('PUT', `/api/devices/${deviceId}/datastreams/power`, { value: 1 }, token);
    expect(write.status).toBe(200);
    await until(host, () => host.device.values.power === '1', 'the write');
    const device = await gw.api<{ values?: Record<string, unknown> }>(
      'GET',
      `/api/devices/${deviceId}`,
      undefined,
      token,
    );
    expect(JSON.stringify(device.body)).toContain('power');
    const ping = await gw.api<{ online?: boolean }>(
      'POST',
      `/api/devices/${deviceId}/ping`,
      undefined,
      token,
    );
    expect(ping.status).toBe(200);
    expect(host.device.state).toBe('running');
  });

  it('reboots on request and comes back online from flash', async () => {
    await gw.api('POST', `/api/devices/${deviceId}/reboot`, undefined, token);
    // The downlink may be in before the API answers: the device is then mid-reboot, its restart
    // counted and its state not yet off. Back up is off, then running again.
    await until(host, () => states.includes('off') && host.device.state === 'running', 'the reboot');
    expect(host.device.stats.restarts).toBe(1);
    expect(host.device.bootCount).toBe(2);
  });

  it('re-enters provisioning on reconfigure, with its SoftAP service open again', async () => {
    await gw.api('POST', `/api/devices/${deviceId}/reconfigure`, undefined, token);
    await until(host, () => host.device.state === 'wait-config', 'provisioning');
    await host.settled();
    expect(host.softApAddress).toBeDefined();
    expect(host.device.configValid).toBe(false);
  });

  it('goes back to provisioning when it is re-provisioned elsewhere: told to reconfigure, not refused', async () => {
    const downlinks: string[] = [];
    host.device.on('downlink', ({ topic }) => downlinks.push(topic));
    const connectsBefore = host.device.stats.connects;
    const res = await gw.api('POST', `/api/devices/${deviceId}/reprovision`, undefined, token);
    expect(res.status).toBe(200);
    await until(host, () => host.device.state === 'wait-config', 'provisioning');
    // downlink/reconfigure came while the old token still worked: no refused connect (703) loop.
    expect(downlinks).toContain('downlink/reconfigure');
    expect(host.device.lastError).toBe(0);
    expect(host.device.stats.connects).toBe(connectsBefore);
  });

  it('wipes itself when the device is deleted at the gateway', async () => {
    const wiped = new Promise<string>((resolve) =>
      host.device.once('wiped', ({ reason }) => resolve(reason)),
    );
    const res = await gw.api<{ wasOnline: boolean }>('DELETE', `/api/devices/${deviceId}`, undefined, token);
    expect(res.body.wasOnline).toBe(true);
    expect(await wiped).toMatch(/deleted/);
    await until(host, () => host.device.state === 'wait-config', 'factory state');
    expect(host.device.configValid).toBe(false);
    expect(states).toContain('reset-config');
  });
});
