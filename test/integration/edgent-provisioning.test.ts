/**
 * Blynk.Edgent legacy provisioning end to end: plaintext, so only for a product that opts in
 * (minimum security 0); the same device state machine, the same gateway activation.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceHost } from '../../firmware-sim/device-host.js';
import { activateEdgentDevice } from '../../provisioning/companion/edgent-activation-flow.js';
import { isTetherError, type TetherError } from '../../shared/errors.js';
import { GatewayClient } from '../../shared/gateway-client.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { HOME_WIFI, startSimDevice } from '../support/sim-device.js';

describe('Blynk.Edgent legacy provisioning', () => {
  let gw: TestGateway;
  let adminToken: string;
  let legacyTemplate: string;
  let secureTemplate: string;
  const hosts: DeviceHost[] = [];

  beforeAll(async () => {
    gw = await startTestGateway();
    adminToken = await gw.login();
    const make = async (minSecurity: 0 | 2) =>
      (
        await gw.api<{ id: string }>(
          'POST',
          '/api/templates',
          { name: `Legacy ${minSecurity}`, minSecurity },
          adminToken,
        )
      ).body.id;
    legacyTemplate = await make(0);
    secureTemplate = await make(2);
  });
  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.stop();
  });
  afterAll(async () => {
    await gw.stop();
  });

  const companion = async () => {
    const client = new GatewayClient({ baseUrl: gw.baseUrl });
    await client.login(ADMIN.email, ADMIN.password);
    return client;
  };
  const device = async (templateId: string) => {
    const host = await startSimDevice({ templateId, edgent: true });
    hosts.push(host);
    return host;
  };
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => {
        if (!isTetherError(e)) throw e;
        return e as TetherError;
      },
    );

  it('activates an Edgent device of a product that opts in, warning that the channel is plaintext', async () => {
    const host = await device(legacyTemplate);
    const warnings: string[] = [];
    const result = await activateEdgentDevice(await companion(), {
      templateId: legacyTemplate,
      address: host.edgentAddress!,
      wifi: { ssid: HOME_WIFI.ssid, passphrase: HOME_WIFI.passphrase },
      onWarning: (w) => warnings.push(w),
      cloudTimeoutMs: 10_000,
    });
    expect(warnings[0]).toContain('not encrypted');
    const read = await gw.api<{ status: string }>(
      'GET',
      `/api/devices/${result.deviceId}`,
      undefined,
      adminToken,
    );
    expect(read.body.status).toBe('active');
    expect(host.device.state).toBe('running');
    // The plaintext AP is no security at all, and the device says so in info/mcu.
    expect(result.deviceReportedSecurity).toBe(0);
  });

  it('refuses plaintext provisioning for a product that requires security', async () => {
    const host = await device(secureTemplate);
    const error = await failure(
      activateEdgentDevice(await companion(), {
        templateId: secureTemplate,
        address: host.edgentAddress!,
        wifi: { ssid: HOME_WIFI.ssid, passphrase: HOME_WIFI.passphrase },
      }),
    );
    expect(error.code).toBe('SECURITY_MISMATCH');
    expect(host.device.state).toBe('wait-config');
  });

  it('reports a wrong Wi-Fi passphrase with last_error 701 as WIFI_AUTH_FAILED', async () => {
    const host = await device(legacyTemplate);
    const error = await failure(
      activateEdgentDevice(await companion(), {
        templateId: legacyTemplate,
        address: host.edgentAddress!,
        wifi: { ssid: HOME_WIFI.ssid, passphrase: 'wrong passphrase' },
        cloudTimeoutMs: 5_000,
      }),
    );
    expect(error.code).toBe('WIFI_AUTH_FAILED');
    expect(error.details?.step).toBe('wifi');
    expect(host.device.lastError).toBe(701);
  });
});
