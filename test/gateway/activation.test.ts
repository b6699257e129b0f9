import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('dynamic activation at the gateway', () => {
  let gw: TestGateway;
  let token: string;
  let templateId: string;

  beforeEach(async () => {
    gw = await startTestGateway();
    token = await gw.login();
    const res = await gw.api<{ id: string }>(
      'POST',
      '/api/templates',
      {
        name: 'Thermostat',
        datastreams: [{ name: 'temp', type: 'double', min: -40, max: 125 }],
      },
      token,
    );
    expect(res.status).toBe(201);
    templateId = res.body.id;
  });

  afterEach(async () => {
    await gw.stop();
  });

  it('activates a pending device when it connects with its token and names its template', async () => {
    const session = await gw.api<{ deviceId: string; token: string; brokerUrl: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId },
      token,
    );
    expect(session.status).toBe(201);
    expect(session.body.token).toHaveLength(32);
    expect(session.body.brokerUrl).toBe(gw.brokerUrl);

    const client = await mqtt.connectAsync(gw.brokerUrl, {
      username: 'device',
      password: session.body.token,
      reconnectPeriod: 0,
    });
    await client.publishAsync(
      'info/mcu',
      JSON.stringify({ tmpl: templateId, ver: '1.0.0', hwid: 'AA:BB:CC:00:11:22' }),
    );
    await client.publishAsync('ds/temp', '21.5');
    await expect
      .poll(
        async () =>
          (
            await gw.api<{ status: string; values: Record<string, { value: unknown }> }>(
              'GET',
              `/api/devices/${session.body.deviceId}`,
              undefined,
              token,
            )
          ).body.values.temp?.value,
      )
      .toBe(21.5);
    const device = await gw.api<Record<string, unknown>>(
      'GET',
      `/api/devices/${session.body.deviceId}`,
      undefined,
      token,
    );
    expect(device.body).toMatchObject({ status: 'active', hardwareId: 'AA:BB:CC:00:11:22', online: true });
    expect(device.body).not.toHaveProperty('tokenHash');
    await client.endAsync();
  });

  it('a session and an activation each commit once: the change and its audit event share one fsync', async () => {
    // A gateway whose telemetry window (last seen at the connect) stays shut during the test.
    const quiet = await startTestGateway({ store: { telemetryFlushDelayMs: 600_000 } });
    try {
      const admin = await quiet.login();
      const template = await quiet.api<{ id: string }>('POST', '/api/templates', { name: 'Plug' }, admin);
      const store = quiet.gateway.services.store as EmbeddedStore;
      const beforeSession = store.writeCount;
      const session = await quiet.api<{ deviceId: string; token: string }>(
        'POST',
        '/api/provisioning/sessions',
        { templateId: template.body.id },
        admin,
      );
      expect(session.status).toBe(201);
      expect(store.writeCount - beforeSession).toBe(1);

      const client = await mqtt.connectAsync(quiet.brokerUrl, {
        username: 'device',
        password: session.body.token,
        reconnectPeriod: 0,
      });
      const beforeActivation = store.writeCount;
      const activated = new Promise<void>((resolve) =>
        quiet.gateway.services.events.on('device.activated', () => resolve()),
      );
      await client.publishAsync('info/mcu', JSON.stringify({ tmpl: template.body.id, ver: '1.0.0' }));
      await activated;
      expect(store.writeCount - beforeActivation).toBe(1);
      await client.endAsync();
      const audit = await store.audit.list({ targetId: session.body.deviceId });
      expect(audit.map((e) => e.action)).toEqual(['device.activated', 'provisioning.started']);
    } finally {
      await quiet.stop();
    }
  });

  it('refuses a wrong token with CONNACK "bad username or password"', async () => {
    const error = await mqtt
      .connectAsync(gw.brokerUrl, { username: 'device', password: 'x'.repeat(32), reconnectPeriod: 0 })
      .then(
        () => null,
        (e: { code?: number }) => e,
      );
    expect(error?.code).toBe(4);
  });

  it('cancels a session that has not activated: the token is refused at once; an active device is not cancelled', async () => {
    const open = async () =>
      (
        await gw.api<{ deviceId: string; token: string }>(
          'POST',
          '/api/provisioning/sessions',
          { templateId },
          token,
        )
      ).body;
    const pending = await open();
    const path = `/api/provisioning/sessions/${pending.deviceId}`;
    expect((await gw.api('DELETE', path, undefined, token)).status).toBe(204);
    expect((await gw.api('DELETE', path, undefined, token)).status).toBe(404);
    const refused = await mqtt
      .connectAsync(gw.brokerUrl, { username: 'device', password: pending.token, reconnectPeriod: 0 })
      .then(
        () => null,
        (e: { code?: number }) => e.code,
      );
    expect(refused).toBe(4);

    const active = await open();
    const client = await mqtt.connectAsync(gw.brokerUrl, {
      username: 'device',
      password: active.token,
      reconnectPeriod: 0,
    });
    await client.publishAsync('info/mcu', JSON.stringify({ tmpl: templateId }));
    await expect
      .poll(
        async () =>
          (await gw.api<{ status: string }>('GET', `/api/devices/${active.deviceId}`, undefined, token)).body
            .status,
      )
      .toBe('active');
    const conflict = await gw.api<{ error: { code: string } }>(
      'DELETE',
      `/api/provisioning/sessions/${active.deviceId}`,
      undefined,
      token,
    );
    expect(conflict.status).toBe(409);
    await client.endAsync();
  });

  describe("a session's push stream", () => {
    const openSession = async () =>
      (
        await gw.api<{ deviceId: string; token: string }>(
          'POST',
          '/api/provisioning/sessions',
          { templateId },
          token,
        )
      ).body;

    it('hears an activation that lands while the session is read (subscribe, then read)', async () => {
      const { services } = gw.gateway;
      const session = await openSession();
      const device = await mqtt.connectAsync(gw.brokerUrl, {
        username: 'device',
        password: session.token,
        reconnectPeriod: 0,
      });
      const actor = await services.auth.authenticate(token);
      // The store answers with the row as it was when the read began, and the device activates
      // before the answer arrives: what a read from PostgreSQL can see under an activation.
      const devices = services.store.devices;
      const read = devices.get.bind(devices);
      let raced = false;
      devices.get = async (id) => {
        const row = await read(id);
        if (id === session.deviceId && !raced) {
          raced = true;
          const activated = new Promise<void>((resolve) =>
            services.events.on('device.activated', () => resolve()),
          );
          await device.publishAsync('info/mcu', JSON.stringify({ tmpl: templateId }));
          await activated;
        }
        return row;
      };
      const states: string[] = [];
      try {
        await services.provisioning.watch(actor, session.deviceId, (outcome) => states.push(outcome.state));
      } finally {
        devices.get = read;
        await device.endAsync();
      }
      expect(raced).toBe(true);
      expect(states).toEqual(['active']);
    });

    it('costs an activation one event listener however many streams are open', async () => {
      const { services } = gw.gateway;
      const actor = await services.auth.authenticate(token);
      const sessions = [await openSession(), await openSession(), await openSession()];
      const heard = sessions.map(() => [] as string[]);
      const watch = (i: number) =>
        services.provisioning.watch(actor, sessions[i]!.deviceId, (o) => heard[i]!.push(o.state));
      const stops = [await watch(0)];
      const withOne = services.events.listenerCount('device.activated');
      stops.push(await watch(1), await watch(2));
      expect(services.events.listenerCount('device.activated')).toBe(withOne);
      const device = await mqtt.connectAsync(gw.brokerUrl, {
        username: 'device',
        password: sessions[1]!.token,
        reconnectPeriod: 0,
      });
      await device.publishAsync('info/mcu', JSON.stringify({ tmpl: templateId }));
      await expect.poll(() => heard[1]).toEqual(['waiting', 'active']);
      expect(heard[0]).toEqual(['waiting']);
      expect(heard[2]).toEqual(['waiting']);
      for (const stop of stops) stop();
      await device.endAsync();
    });

    it('answers an unknown session with a JSON 404 before any event', async () => {
      const res = await gw.api<{ error: { code: string } }>(
        'GET',
        '/api/provisioning/sessions/dev_unknown/events',
        undefined,
        token,
      );
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    });
  });
});
