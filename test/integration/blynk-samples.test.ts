/**
 * Blynk firmware, unchanged, against Tether: a client that speaks exactly as
 * Blynk-Technologies/Blynk-MQTT-Samples do (empty or library-chosen client id, keepalive 45, clean
 * session, `downlink/#` at QoS 0, info/mcu as MicroPython's blynk_mqtt.py sends it, the heater
 * demo's topics and payloads, redirects read with Python's urlparse) on the samples' blueprint,
 * whose datastream names have spaces; and every topic of Blynk's device MQTT API documentation
 * with its documented payload. Only the host, the port and the token differ from blynk.cloud.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../shared/clock.js';
import { createTemplate, mint } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

/** The samples' blueprint ("MQTT Air Cooler/Heater"), plus the lower-case streams of the C/Lua/Arduino samples. */
const BLUEPRINT = [
  { name: 'Power', type: 'int', min: 0, max: 1, sync: true },
  { name: 'Set Temperature', type: 'double', min: 10, max: 30, defaultValue: 23, sync: true },
  { name: 'Current Temperature', type: 'double', min: -50, max: 100 },
  { name: 'Status', type: 'int', min: 1, max: 4 },
  { name: 'Terminal', type: 'string' },
  { name: 'terminal', type: 'string' },
  { name: 'uptime', type: 'int', min: 0 },
  { name: 'rssi', type: 'int', min: -120, max: 0 },
  // The datastreams of the documentation's examples (batch_ds, timestamped_batch).
  { name: 'Name', type: 'string' },
  { name: 'Temperature', type: 'double', min: -50, max: 150 },
  { name: 'Humidity', type: 'double', min: 0, max: 100 },
  { name: 'Location', type: 'location' },
  { name: 'Device On', type: 'int', min: 0, max: 1 },
];

/** MicroPython's blynk_mqtt.py LOGO, sent to the Terminal datastream on connect by demo.py. */
const LOGO = String.raw`
      ___  __          __
     / _ )/ /_ _____  / /__
    / _  / / // / _ \/  '_/
   /____/_/\_, /_//_/_/\_\
          /___/
`;

/** The documentation's timestamps (2026-03-04): this gateway's clock is set to that day. */
const DOCS_NOW = 1772639468974 + 60_000;
class DocsDayClock extends SystemClock {
  readonly #offset = DOCS_NOW - Date.now();
  override now(): number {
    return Date.now() + this.#offset;
  }
}

/** Python's urllib.parse.urlparse(url).hostname and .port, as blynk_paho.py reads a redirect. */
function urlparse(url: string): { hostname: string | undefined; port: number | undefined } {
  const netloc = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url)?.[1] ?? '';
  const hostPort = netloc.includes('@') ? netloc.slice(netloc.lastIndexOf('@') + 1) : netloc;
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
  const host = match?.[1]?.replace(/^\[|\]$/g, '').toLowerCase();
  return { hostname: host || undefined, port: match?.[2] ? Number(match[2]) : undefined };
}

interface SampleDevice {
  client: MqttClient;
  received: Array<{ topic: string; payload: string; qos: number }>;
  next(topic: string, timeoutMs?: number): Promise<{ payload: string; qos: number }>;
  closed: Promise<void>;
}

/** Connects as the samples do: MQTT 3.1.1, clean session, keepalive 45, subscribe downlink/# at QoS 0. */
async function sampleDevice(url: string, token: string, clientId = ''): Promise<SampleDevice> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    clientId,
    clean: true,
    keepalive: 45,
    username: 'device',
    password: token,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
  const received: SampleDevice['received'] = [];
  const waiters: Array<{ topic: string; resolve: (m: { payload: string; qos: number }) => void }> = [];
  client.on('message', (topic, payload, packet) => {
    const message = { topic, payload: payload.toString('utf8'), qos: packet.qos };
    const i = waiters.findIndex((w) => w.topic === topic);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(message);
    else received.push(message);
  });
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  await client.subscribeAsync('downlink/#', { qos: 0 });
  return {
    client,
    received,
    closed,
    next: (topic, timeoutMs = 3_000) => {
      const i = received.findIndex((m) => m.topic === topic);
      if (i >= 0) return Promise.resolve(received.splice(i, 1)[0]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`nothing on ${topic} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          topic,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
  };
}

describe("Blynk's MQTT samples and documented payloads", () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;

  beforeAll(async () => {
    gw = await startTestGateway({}, { clock: new DocsDayClock() });
    admin = await gw.login();
    templateId = await createTemplate(gw, admin, 'MQTT Air Cooler/Heater');
    const res = await gw.api(
      'PATCH',
      `/api/templates/${templateId}`,
      {
        datastreams: BLUEPRINT,
        // The documentation's event codes.
        events: [
          { code: 'temp_is_high', name: 'Temperature is high', description: 'The room is too warm' },
          { code: 'measurement_error', name: 'Measurement error' },
        ],
      },
      admin,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });
  afterAll(async () => {
    await gw.stop();
  });

  /** A device as Blynk's console makes one: activated, with its auth token. */
  const blynkDevice = async () => {
    const [minted] = await mint(gw, admin, templateId);
    await gw.api('POST', '/api/claims', { claimCode: minted!.claimCode }, admin);
    return minted!;
  };
  const deviceRecord = async (id: string) =>
    (
      await gw.api<{
        values: Record<string, { value: unknown; at: number }>;
        props?: Record<string, Record<string, string>>;
        meta?: Record<string, string>;
        firmware: unknown;
        online: boolean;
      }>('GET', `/api/devices/${id}`, undefined, admin)
    ).body;

  it('runs the heater demo (Python/MicroPython/HTML5/Node-RED) on the spaced blueprint names', async () => {
    const minted = await blynkDevice();
    const dev = await sampleDevice(gw.brokerUrl, minted.token);
    // blynk_mqtt.py: info/mcu, then demo.connected(): get/ds and the logo on the Terminal.
    await dev.client.publishAsync(
      'info/mcu',
      JSON.stringify({ type: templateId, tmpl: templateId, ver: '0.1.0', rxbuff: 1024 }),
    );
    await dev.client.publishAsync('get/ds', 'Power,Set Temperature');
    // Never set: Power has no value and no default (nothing comes); Set Temperature its default.
    expect((await dev.next('downlink/ds/Set Temperature')).payload).toBe('23');
    await dev.client.publishAsync('ds/Terminal', `${LOGO}\n`);
    await dev.client.publishAsync('ds/Terminal', 'Type "help" for the list of available commands\n');
    // demo.update(), once a second.
    await dev.client.publishAsync('ds/Current Temperature', String(15.312345678901234));
    await dev.client.publishAsync('ds/Status', '1');
    await dev.client.publishAsync('ds/Status/prop/color', 'E4F6F7');
    await expect.poll(async () => (await deviceRecord(minted.deviceId)).values.Status?.value).toBe(1);
    const record = await deviceRecord(minted.deviceId);
    expect(record.values['Current Temperature']?.value).toBeCloseTo(15.3123, 3);
    expect(record.values.Terminal?.value).toContain('help');
    expect(record.props?.Status).toEqual({ color: 'E4F6F7' });
    expect(record.firmware).toMatchObject({ ver: '0.1.0', type: templateId });

    // The app switches the heater on and types into the Terminal.
    await gw.api('PUT', `/api/devices/${minted.deviceId}/datastreams/Power`, { value: 1 }, admin);
    expect((await dev.next('downlink/ds/Power')).payload).toBe('1');
    await dev.client.publishAsync('ds/Set Temperature/prop/isDisabled', '0');
    await gw.api('PUT', `/api/devices/${minted.deviceId}/datastreams/Terminal`, { value: 'set 25' }, admin);
    expect((await dev.next('downlink/ds/Terminal')).payload).toBe('set 25');
    await dev.client.publishAsync('ds/Set Temperature', '25');
    await dev.client.publishAsync('ds/Terminal', 'Temperature set to 25\n');
    await gw.api(
      'PUT',
      `/api/devices/${minted.deviceId}/datastreams/Set%20Temperature`,
      { value: 27.5 },
      admin,
    );
    expect((await dev.next('downlink/ds/Set Temperature')).payload).toBe('27.5');
    await expect
      .poll(async () => (await deviceRecord(minted.deviceId)).props?.['Set Temperature'])
      .toEqual({ isDisabled: '0' });

    // Nothing the demo sends is refused: no diag at all.
    expect(dev.received.filter((m) => m.topic === 'downlink/diag')).toEqual([]);
    expect(dev.client.connected).toBe(true);
    await dev.client.endAsync();
  });

  it('runs the libmosquitto/Lua/Arduino samples (library client ids, lower-case streams)', async () => {
    const minted = await blynkDevice();
    // libmosquitto's mosquitto_new(NULL, …) makes up "mosq-…"; two such devices may collide.
    const dev = await sampleDevice(gw.brokerUrl, minted.token, 'mosq-UNUSED0000000');
    const other = await blynkDevice();
    const dev2 = await sampleDevice(gw.brokerUrl, other.token, 'mosq-UNUSED0000000');
    for (let uptime = 0; uptime < 3; uptime++) await dev.client.publishAsync('ds/uptime', String(uptime));
    await dev.client.publishAsync('ds/rssi', '-61');
    await gw.api('PUT', `/api/devices/${minted.deviceId}/datastreams/terminal`, { value: 'hi' }, admin);
    expect((await dev.next('downlink/ds/terminal')).payload).toBe('hi');
    await dev.client.publishAsync('ds/terminal', 'Your command: hi');
    await expect.poll(async () => (await deviceRecord(minted.deviceId)).values.uptime?.value).toBe(2);
    expect(dev.client.connected && dev2.client.connected).toBe(true);
    await dev.client.endAsync();
    await dev2.client.endAsync();
  });

  it('serves every uplink topic of the documentation with its documented payload', async () => {
    const minted = await blynkDevice();
    const dev = await sampleDevice(gw.brokerUrl, minted.token);
    const id = minted.deviceId;
    // Datastreams: plain value, batch, timestamped batch, erase.
    await dev.client.publishAsync('ds/Temperature', '21.3');
    await dev.client.publishAsync(
      'batch_ds',
      JSON.stringify({
        Name: 'Sample Batch Uplink',
        Temperature: 10.3,
        Location: [30.523333, 50.450001],
        'Device On': true,
      }),
    );
    await dev.client.publishAsync('batch_ds', '{"Temperature": 23.1, "Humidity": 72}');
    await expect.poll(async () => (await deviceRecord(id)).values.Humidity?.value).toBe(72);
    const values = (await deviceRecord(id)).values;
    expect(values.Name?.value).toBe('Sample Batch Uplink');
    expect(values.Location?.value).toEqual([30.523333, 50.450001]);
    expect(values['Device On']?.value).toBe(1);
    // Tether keeps each datastream's latest value: points older than the one held (23.1, just
    // now) are checked and leave it be; into an erased datastream the newest point goes.
    const older = '[[1772639468034, 34.4]]';
    await dev.client.publishAsync('ds/Temperature/timestamped_batch', older);
    await dev.client.publishAsync('ds/Temperature/erase', '');
    await expect.poll(async () => (await deviceRecord(id)).values.Temperature).toBeUndefined();
    await dev.client.publishAsync(
      'ds/Temperature/timestamped_batch',
      '[\n  [1772639468034, 34.4],\n  [1772639468341, 25.4],\n  [1772639468974, 83.1]\n]',
    );
    await expect
      .poll(async () => (await deviceRecord(id)).values.Temperature)
      .toEqual({
        value: 83.1,
        at: 1772639468974,
      });
    await dev.client.publishAsync('ds/Temperature/erase', '');
    await expect.poll(async () => (await deviceRecord(id)).values.Temperature).toBeUndefined();
    // Multi-value: items separated by NUL.
    await dev.client.publishAsync('ds/Location', '30.52\u000050.45');
    await expect.poll(async () => (await deviceRecord(id)).values.Location?.value).toEqual([30.52, 50.45]);

    // Widget properties: set, erase.
    await dev.client.publishAsync('ds/Temperature/prop/color', 'red');
    await dev.client.publishAsync('ds/Temperature/prop/label', 'Air temperature');
    await dev.client.publishAsync('ds/Temperature/prop/color/erase', '');
    await expect
      .poll(async () => (await deviceRecord(id)).props?.Temperature)
      .toEqual({ label: 'Air temperature' });

    // Metadata: set, then ask for it with the system fields.
    await dev.client.publishAsync('meta/Serial Number', '12345');
    await dev.client.publishAsync('get/meta', 'Serial Number,Device Name,Device Owner');
    expect((await dev.next('downlink/meta/Serial Number')).payload).toBe('12345');
    expect((await dev.next('downlink/meta/Device Name')).payload).toBe(minted.name);
    expect((await dev.next('downlink/meta/Device Owner')).payload).toBe('admin@example.com');

    // Events: with the default description (empty payload) and with one.
    const events: Array<{ code: string; description: string }> = [];
    const off = gw.gateway.services.events.on('device.event', (e) => events.push(e));
    await dev.client.publish('event/temp_is_high', '');
    await dev.client.publishAsync('event/measurement_error', 'Failed to measure temperature');
    await expect.poll(() => events.map((e) => e.code)).toEqual(['temp_is_high', 'measurement_error']);
    off();
    // Kept on the device's timeline; the empty payload took the event's default description.
    const timeline = await gw.api<{ events: Array<{ code: string; description: string }> }>(
      'GET',
      `/api/devices/${id}/events`,
      undefined,
      admin,
    );
    expect(timeline.body.events.map((e) => [e.code, e.description])).toEqual([
      ['measurement_error', 'Failed to measure temperature'],
      ['temp_is_high', 'The room is too warm'],
    ]);

    // get/ds/all: the datastreams with "sync with latest server value" (Power, Set Temperature).
    await dev.client.publishAsync('get/ds/all', '');
    expect((await dev.next('downlink/ds/Set Temperature')).payload).toBe('23');

    // Time and place: the device's location (Kyiv) decides its time zone.
    await dev.client.publishAsync('get/utc/all/json', '');
    const utc = JSON.parse((await dev.next('downlink/utc/all/json')).payload);
    expect(Object.keys(utc).sort()).toEqual([
      'dst_offset',
      'iso8601',
      'time',
      'tz_name',
      'tz_offset',
      'tz_rule',
    ]);
    expect(utc).toMatchObject({
      tz_name: 'Europe/Kyiv',
      tz_rule: 'EET-2EEST,M3.5.0/3,M10.5.0/4',
      tz_offset: 120,
    });
    expect(utc.iso8601).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0[23]:00$/);
    await dev.client.publishAsync('get/loc/all', '');
    expect((await dev.next('downlink/loc/all')).payload).toBe('50.45,30.52');

    expect(dev.received.filter((m) => m.topic === 'downlink/diag')).toEqual([]);
    await dev.client.endAsync();
  });

  it('falls back as Blynk does for time and place: metadata, then the organization, then UTC or a diag', async () => {
    const minted = await blynkDevice();
    const dev = await sampleDevice(gw.brokerUrl, minted.token);
    const utcName = async () => {
      await dev.client.publishAsync('get/utc/all/json', '');
      return JSON.parse((await dev.next('downlink/utc/all/json')).payload).tz_name as string;
    };
    expect(await utcName()).toBe('UTC');
    await dev.client.publishAsync('get/loc/all', '');
    expect(JSON.parse((await dev.next('downlink/diag')).payload)).toMatchObject({ code: 'NOT_FOUND' });
    const orgId = (await gw.gateway.services.store.devices.get(minted.deviceId))!.orgId;
    const org = await gw.api(
      'PATCH',
      `/api/orgs/${orgId}`,
      { timezone: 'America/Goose_Bay', location: { lat: 53.3, lon: -60.4 } },
      admin,
    );
    expect(org.status, JSON.stringify(org.body)).toBe(200);
    expect(await utcName()).toBe('America/Goose_Bay');
    await dev.client.publishAsync('get/loc/all', '');
    expect((await dev.next('downlink/loc/all')).payload).toBe('53.3,-60.4');
    // The device's "Time Zone" metadata comes before the organization's.
    await dev.client.publishAsync('meta/Time Zone', 'Asia/Tokyo');
    expect(await utcName()).toBe('Asia/Tokyo');
    await gw.api('PATCH', `/api/orgs/${orgId}`, { timezone: null, location: null }, admin);
    await dev.client.endAsync();
  });

  it('delivers every downlink the samples handle: ping at QoS 1 on a QoS 0 subscription, reboot, reconfigure, redirect', async () => {
    const minted = await blynkDevice();
    const dev = await sampleDevice(gw.brokerUrl, minted.token);
    const id = minted.deviceId;
    // "downlink/ping … always published with QOS 1": the client's automatic PUBACK answers it.
    const ping = await gw.api<{ online: boolean; answered: boolean; rttMs: number }>(
      'POST',
      `/api/devices/${id}/ping`,
      undefined,
      admin,
    );
    expect(ping.body).toMatchObject({ online: true, answered: true });
    expect(await dev.next('downlink/ping')).toMatchObject({ payload: '', qos: 1 });
    await gw.api('POST', `/api/devices/${id}/reboot`, undefined, admin);
    expect((await dev.next('downlink/reboot')).payload).toBe('');
    await gw.api('POST', `/api/devices/${id}/reconfigure`, undefined, admin);
    expect((await dev.next('downlink/reconfigure')).payload).toBe('');

    // blynk_paho.py follows a redirect with urlparse(payload).hostname and .port (here to this
    // same node: the address another node would have is all that changes).
    const target = `mqtt://127.0.0.1:${gw.gateway.mqttPort}`;
    const redirect = await gw.api('POST', `/api/devices/${id}/redirect`, { url: target }, admin);
    expect(redirect.status).toBe(200);
    const payload = (await dev.next('downlink/redirect')).payload;
    const { hostname, port } = urlparse(payload);
    expect({ hostname, port }).toEqual({ hostname: '127.0.0.1', port: gw.gateway.mqttPort });
    await dev.client.endAsync();
    const moved = await sampleDevice(`mqtt://${hostname}:${port}`, minted.token);
    await moved.client.publishAsync('ds/uptime', '7');
    await expect.poll(async () => (await deviceRecord(id)).values.uptime?.value).toBe(7);
    await moved.client.endAsync();
  });
});
