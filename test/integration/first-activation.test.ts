/**
 * The first whole path through the product: a person's account, a provisioning session, a
 * simulated device that receives its token over ESP-IDF provisioning (SoftAP HTTP, security 2),
 * connects to the gateway's broker and becomes that person's device. Real sockets on loopback.
 */
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceHost } from '../../firmware-sim/device-host.js';
import { type ActivationGateway, activateDevice } from '../../provisioning/companion/activation-flow.js';
import { SoftApHttpTransport } from '../../provisioning/transport/softap-http.js';
import { isTetherError, TetherError } from '../../shared/errors.js';
import { GatewayClient } from '../../shared/gateway-client.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { HOME_WIFI, startSimDevice } from '../support/sim-device.js';

describe('first activation, end to end', () => {
  let gw: TestGateway;
  let adminToken: string;
  let templateId: string;
  const hosts: DeviceHost[] = [];

  beforeEach(async () => {
    gw = await startTestGateway();
    adminToken = await gw.login();
    const res = await gw.api<{ id: string }>(
      'POST',
      '/api/templates',
      { name: 'Thermostat', datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }] },
      adminToken,
    );
    templateId = res.body.id;
  });

  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.stop();
    await gw.stop();
  });

  const companion = async () => {
    const client = new GatewayClient({ baseUrl: gw.baseUrl });
    await client.login(ADMIN.email, ADMIN.password);
    return client;
  };

  it('provisions a device over SoftAP with security 2; it ends active and owned by the person', async () => {
    const host = await startSimDevice({ templateId });
    hosts.push(host);
    const steps: string[] = [];
    const result = await activateDevice(new SoftApHttpTransport(), await companion(), {
      templateId,
      address: host.softApAddress!,
      pop: host.device.factory.pop,
      wifi: { ssid: HOME_WIFI.ssid, passphrase: HOME_WIFI.passphrase },
      wifiPollMs: 50,
      onStep: (step, status) => status === 'done' && steps.push(step),
    });
    expect(steps).toEqual([
      'gateway-session',
      'connect',
      'proto-ver',
      'secure-session',
      'activation-data',
      'wifi',
      'cloud-activation',
    ]);
    expect(result.security).toBe(2);
    expect(result.hardwareId).toBe(host.device.factory.hardwareId);

    const admin = (await gw.gateway.services.store.users.byEmail(ADMIN.email))!;
    const device = await gw.api<Record<string, unknown>>(
      'GET',
      `/api/devices/${result.deviceId}`,
      undefined,
      adminToken,
    );
    expect(device.body).toMatchObject({
      status: 'active',
      ownerId: admin.id,
      activatedBy: admin.id,
      hardwareId: host.device.factory.hardwareId,
      templateId,
    });
    expect(host.device.state).toBe('running');
    expect(host.device.configValid).toBe(true);
  });

  it('keeps the device invisible to a person of another organization', async () => {
    const host = await startSimDevice({ templateId });
    hosts.push(host);
    const result = await activateDevice(new SoftApHttpTransport(), await companion(), {
      templateId,
      address: host.softApAddress!,
      pop: host.device.factory.pop,
      wifi: { ssid: HOME_WIFI.ssid, passphrase: HOME_WIFI.passphrase },
      wifiPollMs: 50,
    });
    // A second, unrelated account: its own root organization.
    await gw.gateway.services.auth.createRootAccount({
      email: 'other@example.com',
      password: 'another long password',
      organization: 'Other Co',
    });
    const otherToken = await gw.login('other@example.com', 'another long password');
    const read = await gw.api<{ error: { code: string } }>(
      'GET',
      `/api/devices/${result.deviceId}`,
      undefined,
      otherToken,
    );
    expect(read.status).toBe(404);
    expect(read.body.error.code).toBe('DEVICE_NOT_FOUND');
    const list = await gw.api<{ devices: unknown[] }>('GET', '/api/devices', undefined, otherToken);
    expect(list.body.devices).toEqual([]);
  });

  it('lets the device token through MQTT and refuses a wrong token with "bad username or password"', async () => {
    const session = await gw.api<{ token: string; deviceId: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId },
      adminToken,
    );
    const ok = await mqtt.connectAsync(gw.brokerUrl, {
      username: 'device',
      password: session.body.token,
      reconnectPeriod: 0,
    });
    await ok.endAsync();
    const wrong = await mqtt
      .connectAsync(gw.brokerUrl, {
        username: 'device',
        password: `${session.body.token.slice(0, -1)}x`,
        reconnectPeriod: 0,
      })
      .then(
        async (c) => {
          await c.endAsync();
          return null;
        },
        (e: { code?: number }) => e.code,
      );
    expect(wrong).toBe(4);
  });

  it('refuses the token of an expired provisioning session, and the companion hears why', async () => {
    await gw.stop();
    gw = await startTestGateway({ provisioning: { sessionTtlSeconds: 10 } });
    adminToken = await gw.login();
    templateId = (
      await gw.api<{ id: string }>('POST', '/api/templates', { name: 'T', datastreams: [] }, adminToken)
    ).body.id;
    const client = await companion();
    const session = await client.createProvisioningSession(templateId);
    // Expire it: the store is the gateway's own; move the deadline into the past.
    await gw.gateway.services.store.devices.update(session.deviceId, {
      provisioningExpiresAt: Date.now() - 1,
    });
    const code = await mqtt
      .connectAsync(gw.brokerUrl, { username: 'device', password: session.token, reconnectPeriod: 0 })
      .then(
        () => null,
        (e: { code?: number }) => e.code,
      );
    expect(code).toBe(4);
    const outcome = await client.waitForActivation(session.deviceId);
    expect(outcome).toMatchObject({ state: 'expired', code: 'PROVISIONING_EXPIRED' });
  });

  it('refuses a device that names the wrong template, and the reason reaches the companion', async () => {
    const otherTemplate = (
      await gw.api<{ id: string }>('POST', '/api/templates', { name: 'Lamp', datastreams: [] }, adminToken)
    ).body.id;
    // The device runs Lamp firmware; the person asks to activate a Thermostat.
    const host = await startSimDevice({ templateId: otherTemplate });
    hosts.push(host);
    const error = await activateDevice(new SoftApHttpTransport(), await companion(), {
      templateId,
      address: host.softApAddress!,
      pop: host.device.factory.pop,
      wifi: { ssid: HOME_WIFI.ssid, passphrase: HOME_WIFI.passphrase },
      wifiPollMs: 50,
    }).then(
      () => null,
      (e: unknown) => e as TetherError,
    );
    expect(isTetherError(error)).toBe(true);
    expect(error?.code).toBe('TEMPLATE_MISMATCH');
    expect(error?.details?.step).toBe('proto-ver');
  });

  it('refuses at the gateway a device whose firmware reports another template over MQTT', async () => {
    const otherTemplate = (
      await gw.api<{ id: string }>('POST', '/api/templates', { name: 'Lamp', datastreams: [] }, adminToken)
    ).body.id;
    const client = await companion();
    const session = await client.createProvisioningSession(templateId);
    const device = await mqtt.connectAsync(gw.brokerUrl, {
      username: 'device',
      password: session.token,
      reconnectPeriod: 0,
    });
    const outcome = client.waitForActivation(session.deviceId);
    await device.publishAsync('info/mcu', JSON.stringify({ tmpl: otherTemplate, ver: '1.0.0' }));
    await expect(outcome).resolves.toMatchObject({ state: 'failed', code: 'TEMPLATE_MISMATCH' });
    await device.endAsync(true);
    const stored = await gw.gateway.services.store.devices.get(session.deviceId);
    expect(stored?.status).toBe('pending');
  });

  describe('the push stream', () => {
    /** The companion's gateway, recording each outcome stream it opens and when. */
    const recording = (client: GatewayClient, log: string[], failFirst = false) => {
      const signals: AbortSignal[] = [];
      const gateway: ActivationGateway = {
        createProvisioningSession: (t, n) => client.createProvisioningSession(t, n),
        cancelProvisioningSession: async (id) => {
          log.push('cancel');
          await client.cancelProvisioningSession(id);
        },
        waitForActivation: async (id, options = {}) => {
          log.push('follow');
          if (options.signal) signals.push(options.signal);
          if (failFirst && signals.length === 1) {
            throw new TetherError('GATEWAY_UNREACHABLE', 'The stream broke (test).');
          }
          return client.waitForActivation(id, options);
        },
      };
      return { gateway, signals };
    };

    it('is open before the device gets its Wi-Fi, so the outcome is pushed, not read afterwards', async () => {
      const host = await startSimDevice({ templateId });
      hosts.push(host);
      const log: string[] = [];
      const { gateway } = recording(await companion(), log);
      const result = await activateDevice(new SoftApHttpTransport(), gateway, {
        templateId,
        address: host.softApAddress!,
        pop: host.device.factory.pop,
        wifi: { ssid: HOME_WIFI.ssid, passphrase: HOME_WIFI.passphrase },
        wifiPollMs: 50,
        onStep: (step, status) => log.push(`${step} ${status}`),
      });
      expect(result.ownerId).not.toBeNull();
      expect(log.indexOf('follow')).toBeGreaterThan(-1);
      expect(log.indexOf('follow')).toBeLessThan(log.indexOf('wifi start'));
      expect(log.filter((entry) => entry === 'follow')).toHaveLength(1);
    });

    it('is opened once more when it broke before the outcome', async () => {
      const host = await startSimDevice({ templateId });
      hosts.push(host);
      const log: string[] = [];
      const { gateway } = recording(await companion(), log, true);
      const result = await activateDevice(new SoftApHttpTransport(), gateway, {
        templateId,
        address: host.softApAddress!,
        pop: host.device.factory.pop,
        wifi: { ssid: HOME_WIFI.ssid, passphrase: HOME_WIFI.passphrase },
        wifiPollMs: 50,
      });
      expect(result.ownerId).not.toBeNull();
      expect(log.filter((entry) => entry === 'follow')).toHaveLength(2);
    });

    it('is closed when the flow fails before the device could reach the gateway', async () => {
      const host = await startSimDevice({ templateId });
      hosts.push(host);
      const log: string[] = [];
      const { gateway, signals } = recording(await companion(), log);
      const error = await activateDevice(new SoftApHttpTransport(), gateway, {
        templateId,
        address: host.softApAddress!,
        pop: 'not the proof of possession',
        wifi: { ssid: HOME_WIFI.ssid, passphrase: HOME_WIFI.passphrase },
        wifiPollMs: 50,
      }).then(
        () => null,
        (e: unknown) => e as TetherError,
      );
      expect(error?.code).toBe('POP_INVALID');
      expect(log).toEqual(['follow', 'cancel']);
      expect(signals).toHaveLength(1);
      expect(signals[0]?.aborted).toBe(true);
    });
  });
});
