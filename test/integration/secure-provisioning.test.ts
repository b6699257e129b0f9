/**
 * Secure provisioning end to end: the companion activates simulated devices over SoftAP HTTP and
 * over the simulated BLE medium, with security 1 and 2, against a real gateway — and every
 * failure a person can meet near the device is reported with its step and stable code.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceHost } from '../../firmware-sim/device-host.js';
import { type ActivationInput, activateDevice } from '../../provisioning/companion/activation-flow.js';
import { SimBleTransport } from '../../provisioning/transport/sim-ble-central.js';
import { SoftApHttpTransport } from '../../provisioning/transport/softap-http.js';
import type { ProvisioningLink, ProvisioningTransport } from '../../provisioning/transport/transport.js';
import { isTetherError, type TetherError } from '../../shared/errors.js';
import { GatewayClient } from '../../shared/gateway-client.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { HOME_WIFI, startSimDevice } from '../support/sim-device.js';

describe('secure provisioning over SoftAP and BLE', () => {
  let gw: TestGateway;
  let mediumDir: string;
  let adminToken: string;
  const hosts: DeviceHost[] = [];
  const templates: Record<0 | 1 | 2, string> = { 0: '', 1: '', 2: '' };

  beforeAll(async () => {
    mediumDir = await mkdtemp(join(tmpdir(), 'tether-ble-medium-'));
    gw = await startTestGateway();
    adminToken = await gw.login();
    for (const minSecurity of [0, 1, 2] as const) {
      const res = await gw.api<{ id: string }>(
        'POST',
        '/api/templates',
        { name: `Plug sec${minSecurity}`, datastreams: [{ name: 'temp', type: 'double' }], minSecurity },
        adminToken,
      );
      templates[minSecurity] = res.body.id;
    }
  });

  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.stop();
  });

  afterAll(async () => {
    await gw.stop();
    await rm(mediumDir, { recursive: true, force: true });
  });

  const companion = async () => {
    const client = new GatewayClient({ baseUrl: gw.baseUrl });
    await client.login(ADMIN.email, ADMIN.password);
    return client;
  };

  const device = async (templateId: string, security: 0 | 1 | 2, extra: { ble?: boolean } = {}) => {
    const host = await startSimDevice({
      templateId,
      security,
      aps: [HOME_WIFI, { ssid: 'far-away', passphrase: 'whatever-pass', rssi: -95 }],
      ...(extra.ble ? { ble: { mediumDir } } : {}),
    });
    hosts.push(host);
    return host;
  };

  const input = (
    host: DeviceHost,
    templateId: string,
    over: Partial<ActivationInput> = {},
  ): ActivationInput => ({
    templateId,
    address: host.softApAddress!,
    pop: host.device.factory.pop,
    wifi: { ssid: HOME_WIFI.ssid, passphrase: HOME_WIFI.passphrase },
    wifiPollMs: 30,
    cloudTimeoutMs: 10_000,
    ...over,
  });

  const failure = (promise: Promise<unknown>): Promise<TetherError> =>
    promise.then(
      () => {
        throw new Error('expected the activation to fail');
      },
      (error: unknown) => {
        if (!isTetherError(error)) throw error;
        return error;
      },
    );

  const pendingDevices = async () =>
    (await gw.gateway.services.store.devices.find({ status: 'pending' })).map((d) => d.id);

  const expectOwnedByAdmin = async (deviceId: string) => {
    const admin = (await gw.gateway.services.store.users.byEmail(ADMIN.email))!;
    const read = await gw.api<{ status: string; ownerId: string }>(
      'GET',
      `/api/devices/${deviceId}`,
      undefined,
      adminToken,
    );
    expect(read.body).toMatchObject({ status: 'active', ownerId: admin.id });
  };

  it.each([1, 2] as const)('activates a device over SoftAP with security %i', async (security) => {
    const host = await device(templates[security], security);
    const result = await activateDevice(
      new SoftApHttpTransport(),
      await companion(),
      input(host, templates[security]),
    );
    expect(result.security).toBe(security);
    // The device reports the level it was provisioned with; the gateway keeps it.
    expect(result.deviceReportedSecurity).toBe(security);
    await expectOwnedByAdmin(result.deviceId);
  });

  it.each([1, 2] as const)(
    'activates a device over the simulated BLE medium with security %i',
    async (security) => {
      const host = await device(templates[security], security, { ble: true });
      const transport = new SimBleTransport({ mediumDir });
      const found = await transport.discover({ timeoutMs: 1_000, namePrefix: 'PROV_' });
      const seen = found.find((d) => d.name === host.device.factory.name);
      expect(seen?.rssi).toBeLessThan(0);
      const result = await activateDevice(
        transport,
        await companion(),
        input(host, templates[security], { address: seen!.address }),
      );
      expect(result.security).toBe(security);
      expect(result.hardwareId).toBe(host.device.factory.hardwareId);
      await expectOwnedByAdmin(result.deviceId);
    },
  );

  it('refuses a wrong proof of possession, then locks the device out after five', async () => {
    const host = await device(templates[2], 2);
    const client = await companion();
    const first = await failure(
      activateDevice(new SoftApHttpTransport(), client, input(host, templates[2], { pop: 'wrong-pop' })),
    );
    expect(first.code).toBe('POP_INVALID');
    expect(first.details?.step).toBe('secure-session');
    for (let i = 0; i < 4; i++) {
      await failure(
        activateDevice(new SoftApHttpTransport(), client, input(host, templates[2], { pop: `wrong-${i}` })),
      );
    }
    // Even the right PoP is refused while the lockout lasts, and the error says so.
    const locked = await failure(
      activateDevice(new SoftApHttpTransport(), client, input(host, templates[2])),
    );
    expect(locked.code).toBe('POP_LOCKED_OUT');
    expect(Number(locked.details?.retryAfterMs)).toBeGreaterThan(0);
    expect(host.device.state).not.toBe('running');
  });

  it('reports a wrong Wi-Fi passphrase and takes the corrected one in the same session', async () => {
    const host = await device(templates[2], 2);
    const failures: string[] = [];
    const result = await activateDevice(
      new SoftApHttpTransport(),
      await companion(),
      input(host, templates[2], {
        wifi: { ssid: HOME_WIFI.ssid, passphrase: 'not the passphrase' },
        onWifiFailed: async (error) => {
          failures.push(error.code);
          return { ssid: HOME_WIFI.ssid, passphrase: HOME_WIFI.passphrase };
        },
      }),
    );
    expect(failures).toEqual(['WIFI_AUTH_FAILED']);
    await expectOwnedByAdmin(result.deviceId);
    expect(host.device.configValid).toBe(true);
  });

  it('reports a network that cannot be found', async () => {
    const host = await device(templates[2], 2);
    const error = await failure(
      activateDevice(
        new SoftApHttpTransport(),
        await companion(),
        input(host, templates[2], { wifi: { ssid: 'no-such-network', passphrase: 'whatever-pass' } }),
      ),
    );
    expect(error.code).toBe('WIFI_NETWORK_NOT_FOUND');
    expect(error.details?.step).toBe('wifi');
    expect(error.details?.hint).toBeTypeOf('string');
    // The companion gave its session back: no pending device lingers at the gateway.
    expect(await pendingDevices()).toEqual([]);
  });

  it('refuses to downgrade: a security 1 device for a product that requires security 2', async () => {
    const host = await device(templates[2], 1);
    const error = await failure(
      activateDevice(new SoftApHttpTransport(), await companion(), input(host, templates[2])),
    );
    expect(error.code).toBe('SECURITY_MISMATCH');
    // Nothing secret was sent: the device never got past the version check.
    expect(host.device.state).toBe('wait-config');
    expect(await pendingDevices()).toEqual([]);
  });

  it('refuses at the gateway a device that a companion ignoring the product minimum provisioned', async () => {
    // A third-party protocomm client does not know the product's minimum: it uses security 1.
    const host = await device(templates[2], 1);
    const gateway = await companion();
    const unaware = {
      createProvisioningSession: async (templateId: string, name?: string) => ({
        ...(await gateway.createProvisioningSession(templateId, name)),
        minSecurity: 0 as const,
      }),
      waitForActivation: gateway.waitForActivation.bind(gateway),
    };
    const error = await failure(
      activateDevice(new SoftApHttpTransport(), unaware, input(host, templates[2])),
    );
    expect(error.code).toBe('SECURITY_MISMATCH');
    expect(error.details?.step).toBe('cloud-activation');
    expect(error.message).toMatch(/provisioned with security 1, but product .* requires at least security 2/);
    const stillPending = await gw.api<{ status: string }>(
      'GET',
      `/api/devices/${(await pendingDevices())[0]}`,
      undefined,
      adminToken,
    );
    expect(stillPending.body.status).toBe('pending');
  });

  it('rejects a tampered encrypted message (AES-GCM) and applies nothing', async () => {
    const host = await device(templates[2], 2);
    const tampering = tamperingTransport(new SoftApHttpTransport(), 'tether-activation');
    const error = await failure(activateDevice(tampering, await companion(), input(host, templates[2])));
    expect(error.details?.step).toBe('activation-data');
    expect(error.code).toBe('PROTOCOL_ERROR');
    expect(host.device.state).not.toBe('connecting-cloud');
    expect(host.device.state).not.toBe('running');
  });
});

/** A man in the middle that flips one bit of the first request to `endpoint`. */
function tamperingTransport(inner: ProvisioningTransport, endpoint: string): ProvisioningTransport {
  return {
    kind: inner.kind,
    discover: (options) => inner.discover(options),
    connect: async (address): Promise<ProvisioningLink> => {
      const link = await inner.connect(address);
      let done = false;
      return {
        kind: link.kind,
        close: () => link.close(),
        exchange: (name, request) => {
          if (name !== endpoint || done) return link.exchange(name, request);
          done = true;
          const copy = Uint8Array.from(request);
          copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0x01;
          return link.exchange(name, copy);
        },
      };
    },
  };
}
