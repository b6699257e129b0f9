/**
 * The device event timeline: `event/<code>` as the template defines it is kept per device (across
 * a restart), readable through the API and the CLI, bounded per device, mailed to the owner where
 * the definition asks (with a mail budget), refused when undefined or too frequent, and gone with
 * the device.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TIMELINE_LIMITS, DeviceEventService } from '../../gateway/devices/device-events.js';
import { ManualClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { runCli } from '../support/run-cli.js';
import { activeDevice, connectDevice, createTemplate, sleep } from './device-fixtures.js';

const EVENTS = [
  { code: 'temp_is_high', name: 'Temperature is high', level: 'warning', notify: true },
  { code: 'measurement_error', name: 'Measurement error', description: 'The sensor failed' },
];

interface TimelineEvent {
  code: string;
  name: string;
  level: string;
  description: string;
  at: number;
  notified: boolean;
}

describe('device event timeline', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;

  beforeEach(async () => {
    gw = await startTestGateway({ mqtt: { publishesPerSecond: 1000 } });
    admin = await gw.login();
    templateId = await createTemplate(gw, admin);
    const res = await gw.api('PATCH', `/api/templates/${templateId}`, { events: EVENTS }, admin);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });
  afterEach(async () => {
    await gw.stop();
  });

  const timeline = async (id: string, query = '') =>
    (await gw.api<{ events: TimelineEvent[] }>('GET', `/api/devices/${id}/events${query}`, undefined, admin))
      .body.events;

  it('keeps defined events per device, newest first, across a restart; refuses undefined codes', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    await dev.client.publishAsync('event/measurement_error', '');
    await dev.client.publishAsync('event/temp_is_high', 'Too hot:\u001b[2J\u202e 31 °C\n');
    await dev.client.publishAsync('event/not_defined', 'x');
    expect(JSON.parse(await dev.next('downlink/diag'))).toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect.poll(async () => (await timeline(minted.deviceId)).length).toBe(2);
    const [latest, first] = await timeline(minted.deviceId);
    // Control characters and bidi overrides are blanked: a terminal or page shows it as it reads.
    expect(latest).toMatchObject({
      code: 'temp_is_high',
      level: 'warning',
      description: 'Too hot: [2J  31 °C',
    });
    // An empty payload takes the definition's description (Blynk).
    expect(first).toMatchObject({
      code: 'measurement_error',
      level: 'info',
      description: 'The sensor failed',
    });
    await dev.client.endAsync();

    const dataDir = gw.dataDir;
    await gw.gateway.stop();
    const again = await startTestGateway({}, { dataDir });
    try {
      const token = await again.login();
      const after = await again.api<{ events: TimelineEvent[] }>(
        'GET',
        `/api/devices/${minted.deviceId}/events`,
        undefined,
        token,
      );
      expect(after.body.events.map((e) => e.code)).toEqual(['temp_is_high', 'measurement_error']);
    } finally {
      await again.stop();
    }
  });

  it('mails the owner where the definition asks, within a budget per device and owner', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    for (let i = 0; i < 7; i++) await dev.client.publishAsync('event/temp_is_high', `reading ${i}`);
    await dev.client.publishAsync('event/measurement_error', '');
    await expect.poll(async () => (await timeline(minted.deviceId)).length).toBe(8);
    const events = await timeline(minted.deviceId);
    // Five mails an hour per device and owner; the rest are kept but not mailed.
    expect(events.filter((e) => e.notified)).toHaveLength(5);
    const outbox = join(gw.dataDir, 'outbox');
    await expect.poll(async () => (await readdir(outbox)).filter((f) => f.endsWith('.eml')).length).toBe(5);
    const mail = await readFile(
      join(outbox, (await readdir(outbox)).find((f) => f.endsWith('.eml'))!),
      'utf8',
    );
    expect(mail).toContain(`To: ${ADMIN.email}`);
    expect(mail).toContain('Temperature is high');
    expect(mail).toContain(`/devices/${minted.deviceId}`);
    await dev.client.endAsync();
  });

  it('bounds the timeline and the event rate, and forgets a deleted device’s events', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    // Ten a minute per device: the eleventh in a burst is refused on diag.
    for (let i = 0; i < 11; i++) dev.client.publish('event/measurement_error', `e${i}`);
    expect(JSON.parse(await dev.next('downlink/diag'))).toMatchObject({ code: 'RATE_LIMITED' });
    await expect.poll(async () => (await timeline(minted.deviceId)).length).toBe(10);
    // Paging back.
    const page = await timeline(minted.deviceId, '?limit=3');
    expect(page.map((e) => e.description)).toEqual(['e9', 'e8', 'e7']);
    const older = await timeline(minted.deviceId, `?limit=3&before=${page.at(-1)!.at}`);
    expect(older.every((e) => e.at < page.at(-1)!.at)).toBe(true);
    // The per-device count: the newest are kept (500 by default; here a service with 4, on the
    // same store), and the age limit (a service that keeps nothing older than now).
    const { store, events, clock } = gw.gateway.services;
    const small = new DeviceEventService({
      store,
      clock,
      events,
      devices: gw.gateway.services.devices,
      mailer: { send: async () => {} },
      logger: silentLogger(),
      deviceLink: (id) => id,
      limits: { ...DEFAULT_TIMELINE_LIMITS, keepPerDevice: 4, eventsPerMinute: 1000 },
    });
    const device = (await store.devices.get(minted.deviceId))!;
    await small.record(device, 'measurement_error', 'last');
    expect((await timeline(minted.deviceId)).map((e) => e.description)).toEqual(['last', 'e9', 'e8', 'e7']);
    const aged = new DeviceEventService({
      store,
      clock,
      events,
      devices: gw.gateway.services.devices,
      mailer: { send: async () => {} },
      logger: silentLogger(),
      deviceLink: (id) => id,
      limits: { ...DEFAULT_TIMELINE_LIMITS, maxAgeMs: 0 },
    });
    await sleep(5);
    await aged.record(device, 'measurement_error', 'only this one is young enough');
    expect((await timeline(minted.deviceId)).map((e) => e.description)).toEqual([
      'only this one is young enough',
    ]);
    await dev.client.endAsync();

    await gw.api('DELETE', `/api/devices/${minted.deviceId}`, undefined, admin);
    await expect
      .poll(() => gw.gateway.services.store.deviceEvents.find({ deviceId: minted.deviceId }))
      .toEqual([]);
  });

  it('pages with the cursor of the previous page, never skipping events of one millisecond', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const { store, events } = gw.gateway.services;
    // A service whose clock stands still: seven events in one millisecond.
    const frozen = new DeviceEventService({
      store,
      clock: new ManualClock(Date.now()),
      events,
      devices: gw.gateway.services.devices,
      mailer: { send: async () => {} },
      logger: silentLogger(),
      deviceLink: (id) => id,
      limits: { ...DEFAULT_TIMELINE_LIMITS, eventsPerMinute: 1000 },
    });
    const device = (await store.devices.get(minted.deviceId))!;
    for (let i = 0; i < 7; i++) await frozen.record(device, 'measurement_error', `m${i}`);
    const page = (query: string) =>
      gw.api<{ events: TimelineEvent[]; next?: string }>(
        'GET',
        `/api/devices/${minted.deviceId}/events${query}`,
        undefined,
        admin,
      );
    const seen: string[] = [];
    let next: string | undefined;
    for (let n = 0; n < 5; n++) {
      const res = await page(`?limit=3${next ? `&after=${next}` : ''}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      seen.push(...res.body.events.map((e) => e.description));
      next = res.body.next;
      if (!next) break;
    }
    // Newest first, each exactly once (paging by time would lose all but the first page here).
    expect(seen).toEqual(['m6', 'm5', 'm4', 'm3', 'm2', 'm1', 'm0']);
    // A cursor of another device, or one that does not exist, is refused with a coded error.
    const other = await activeDevice(gw, admin, templateId);
    const first = await page('?limit=1');
    const foreign = await gw.api<{ error: { code: string } }>(
      'GET',
      `/api/devices/${other.deviceId}/events?after=${first.body.next}`,
      undefined,
      admin,
    );
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('reads the timeline with tether device events', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    await dev.client.publishAsync('event/temp_is_high', 'Too hot');
    await expect.poll(async () => (await timeline(minted.deviceId)).length).toBe(1);
    await dev.client.endAsync();
    const env = { TETHER_HOME: join(gw.dataDir, 'cli-home'), TETHER_GATEWAY_URL: gw.baseUrl };
    const login = await runCli(['login', '--email', ADMIN.email, '--password', ADMIN.password], env);
    expect(login.code, login.stderr).toBe(0);
    const out = await runCli(['device', 'events', minted.deviceId], env);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/warning\s+temp_is_high\s+Too hot\s+yes/);
  }, 60_000);
});
