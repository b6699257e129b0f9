/**
 * aedes does not catch a broker hook that throws. A hook that fails for one device must end that
 * device's connection alone, with a logged, coded reason: every other device stays connected and
 * the gateway keeps serving.
 */
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activeDevice, connectDevice, createTemplate } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('a broker hook that throws', () => {
  let gw: TestGateway;

  beforeEach(async () => {
    gw = await startTestGateway();
  });
  afterEach(async () => {
    await gw.stop();
  });

  it('refuses that one connection and leaves the others and the gateway serving', async () => {
    const admin = await gw.login();
    const templateId = await createTemplate(gw, admin);
    const healthy = await activeDevice(gw, admin, templateId);
    const failing = await activeDevice(gw, admin, templateId);
    const other = await connectDevice(gw.brokerUrl, healthy.token);

    // A synchronous throw inside the authenticate hook, as a programming error would cause.
    const devices = gw.gateway.services.devices;
    const lookup = devices.authenticateToken.bind(devices);
    devices.authenticateToken = (token: string) => {
      if (token === failing.token) throw new Error('hook bug');
      return lookup(token);
    };

    const refused = mqtt.connect(gw.brokerUrl, {
      username: 'device',
      password: failing.token,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    const outcome = await new Promise<string>((resolve) => {
      refused.once('connect', () => resolve('connected'));
      refused.once('error', (error) => resolve(`refused: ${error.message}`));
      refused.once('close', () => resolve('closed'));
    });
    refused.end(true);
    expect(outcome).toMatch(/^refused: .*Server unavailable/i);

    expect(other.client.connected).toBe(true);
    const health = await gw.api('GET', '/healthz');
    expect(health.status).toBe(200);
    // Once the hook stops failing, the same device connects again.
    devices.authenticateToken = lookup;
    const again = await connectDevice(gw.brokerUrl, failing.token);
    expect(again.client.connected).toBe(true);
    await again.client.endAsync();
    await other.client.endAsync();
  });
});
