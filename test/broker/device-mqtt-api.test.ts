/**
 * Blynk's device MQTT API against a real gateway with real mqtt.js clients on loopback: every
 * uplink and downlink topic, isolation between devices, takeover, size and rate limits, and the
 * CONNACK answers (bad token, long client id, MQTT 5).
 */
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  activeDevice,
  connackCode,
  connectDevice,
  createTemplate,
  DATASTREAMS,
  mint,
  sleep,
} from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('device MQTT API', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;

  beforeEach(async () => {
    gw = await startTestGateway({ mqtt: { publishesPerSecond: 20, maxMessageBytes: 256 } });
    admin = await gw.login();
    templateId = await createTemplate(gw, admin);
  });
  afterEach(async () => {
    await gw.stop();
  });

  const device = (id: string) =>
    gw.api<Record<string, unknown> & { values: Record<string, { value: unknown }> }>(
      'GET',
      `/api/devices/${id}`,
      undefined,
      admin,
    );

  /** Blynk's "Sync with latest server value" on every datastream of the test template. */
  const syncAll = async () => {
    const synced = DATASTREAMS.map((d) => ({ ...d, sync: true }));
    const res = await gw.api('PATCH', `/api/templates/${templateId}`, { datastreams: synced }, admin);
    expect(res.status).toBe(200);
  };

  it('handles every uplink topic and answers on the matching downlink', async () => {
    await syncAll();
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    const c = dev.client;
    await c.publishAsync(
      'info/mcu',
      JSON.stringify({
        tmpl: templateId,
        ver: '1.2.3',
        build: 'b7',
        type: templateId,
        rxbuff: 1024,
        hwid: 'hw-1',
      }),
    );
    await c.publishAsync('ds/temp', '21.5');
    await c.publishAsync(
      'batch_ds',
      JSON.stringify({ power: 1, mode: 'heat', where: [30.52, 50.45], label: 'kitchen' }),
    );
    await c.publishAsync('ds/temp/prop/color', 'red');
    await c.publishAsync('meta/Serial Number', 'SN-42');
    await expect
      .poll(async () => (await device(minted.deviceId)).body.meta)
      .toEqual({ 'Serial Number': 'SN-42' });
    const body = (await device(minted.deviceId)).body;
    expect(body).toMatchObject({
      firmware: { ver: '1.2.3', build: 'b7', type: templateId },
      hardwareId: 'hw-1',
      online: true,
    });
    expect(Object.fromEntries(Object.entries(body.values).map(([k, v]) => [k, v.value]))).toEqual({
      temp: 21.5,
      power: 1,
      mode: 'heat',
      where: [30.52, 50.45],
      label: 'kitchen',
    });
    expect(body.props).toEqual({ temp: { color: 'red' } });

    await c.publishAsync('get/ds', 'temp,mode');
    expect(await dev.next('downlink/ds/temp')).toBe('21.5');
    expect(await dev.next('downlink/ds/mode')).toBe('heat');
    await c.publishAsync('get/ds/all', '');
    const all = await Promise.all(
      ['temp', 'power', 'mode', 'label', 'where'].map((n) => dev.next(`downlink/ds/${n}`)),
    );
    // A multi-value downlink separates its items with NUL, as Blynk does.
    expect(all).toEqual(['21.5', '1', 'heat', 'kitchen', '30.52\u000050.45']);

    await c.publishAsync('get/meta', 'Serial Number,Device Name,Device Owner');
    expect(await dev.next('downlink/meta/Serial Number')).toBe('SN-42');
    expect(await dev.next('downlink/meta/Device Name')).toBe(minted.name);
    expect(await dev.next('downlink/meta/Device Owner')).toBe('admin@example.com');

    await c.publishAsync('get/utc/all/json', '');
    const utc = JSON.parse(await dev.next('downlink/utc/all/json')) as { time: number; tz_name: string };
    expect(Math.abs(utc.time - Date.now())).toBeLessThan(5000);
    // The device's location datastream (Kyiv) sets its time zone.
    expect(utc.tz_name).toBe('Europe/Kyiv');
    await c.publishAsync('get/loc/all', '');
    expect(await dev.next('downlink/loc/all')).toBe('50.45,30.52');

    // event/<code> (defined on the template) reaches the push stream as a bus event
    await gw.api(
      'PATCH',
      `/api/templates/${templateId}`,
      { events: [{ code: 'temp_is_high', name: 'Temperature is high' }] },
      admin,
    );
    const seen = new Promise((resolve) => gw.gateway.services.events.on('device.event', resolve));
    await c.publishAsync('event/temp_is_high', 'Too hot');
    expect(await seen).toMatchObject({ code: 'temp_is_high', description: 'Too hot' });

    await c.publishAsync('ds/temp/erase', '');
    await expect.poll(async () => (await device(minted.deviceId)).body.values.temp).toBeUndefined();
    await c.endAsync();
  });

  it('answers a value the template refuses on downlink/diag and never stores it', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    await dev.client.publishAsync('ds/temp', '500');
    expect(JSON.parse(await dev.next('downlink/diag'))).toMatchObject({ code: 'VALIDATION_FAILED' });
    await dev.client.publishAsync('ds/mode', 'boil');
    expect(JSON.parse(await dev.next('downlink/diag')).message).toMatch(/not one of off, heat, cool/);
    await dev.client.publishAsync('ds/nope', '1');
    expect(JSON.parse(await dev.next('downlink/diag')).message).toMatch(/not defined/);
    // An object is not a value: refused with a code, never stringified (toString: null threw).
    await dev.client.publishAsync('batch_ds', '{"temp":{"toString":null}}');
    expect(JSON.parse(await dev.next('downlink/diag')).message).toMatch(/batch_ds: the value of "temp"/);
    expect((await device(minted.deviceId)).body.values).toEqual({});
    await dev.client.endAsync();
  });

  it('answers get/ds with the template default when never set; takes booleans in batch_ds', async () => {
    const streams = [
      { name: 'temp', type: 'double', min: -40, max: 125, defaultValue: 20, sync: true },
      { name: 'power', type: 'int', min: 0, max: 1, sync: true },
      { name: 'label', type: 'string', defaultValue: 'not synced' },
    ];
    const bad = await gw.api(
      'PATCH',
      `/api/templates/${templateId}`,
      { datastreams: [{ ...streams[0], defaultValue: 500 }] },
      admin,
    );
    expect(bad.status).toBe(400);
    expect(
      (await gw.api('PATCH', `/api/templates/${templateId}`, { datastreams: streams }, admin)).status,
    ).toBe(200);
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    await dev.client.publishAsync('get/ds', 'temp');
    expect(await dev.next('downlink/ds/temp')).toBe('20');
    await dev.client.publishAsync('batch_ds', JSON.stringify({ power: true }));
    await expect.poll(async () => (await device(minted.deviceId)).body.values.power?.value).toBe(1);
    await dev.client.publishAsync('get/ds/all', '');
    expect(await dev.next('downlink/ds/power')).toBe('1');
    expect(await dev.next('downlink/ds/temp')).toBe('20');
    // get/ds/all follows each datastream's "sync with latest server value"; get/ds answers anyway.
    await sleep(100);
    expect(dev.inbox.filter((m) => m.topic === 'downlink/ds/label')).toEqual([]);
    await dev.client.publishAsync('get/ds', 'label');
    expect(await dev.next('downlink/ds/label')).toBe('not synced');
    await dev.client.endAsync();
  });

  it('sends every downlink the people side can trigger', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    const id = minted.deviceId;
    expect((await gw.api('PUT', `/api/devices/${id}/datastreams/temp`, { value: 22 }, admin)).body).toEqual({
      value: 22,
      online: true,
    });
    expect(await dev.next('downlink/ds/temp')).toBe('22');
    expect((await gw.api('POST', `/api/devices/${id}/reconfigure`, undefined, admin)).body).toEqual({
      online: true,
    });
    expect(await dev.next('downlink/reconfigure')).toBe('');
    expect((await gw.api('POST', `/api/devices/${id}/reboot`, undefined, admin)).body).toEqual({
      online: true,
    });
    expect(await dev.next('downlink/reboot')).toBe('');
    // Blynk sends ping at QoS 1 so that the PUBACK is the answer: the API waits for it.
    await expect.poll(() => dev.inbox.length).toBe(0);
    const pingQos = new Promise<number>((resolve) =>
      dev.client.once('message', (_t, _p, packet) => resolve(packet.qos)),
    );
    const ping = await gw.api<{ online: boolean; answered: boolean; rttMs: number }>(
      'POST',
      `/api/devices/${id}/ping`,
      undefined,
      admin,
    );
    expect(ping.body).toMatchObject({ online: true, answered: true });
    expect(ping.body.rttMs).toBeGreaterThanOrEqual(0);
    expect(await pingQos).toBe(1);
    expect(await dev.next('downlink/ping')).toBe('');
    // Direct broker downlinks the gateway uses: meta and redirect.
    const broker = gw.gateway.services.broker;
    expect(broker.sendToDevice(id, 'downlink/meta/Location', 'Kyiv')).toBe(true);
    expect(await dev.next('downlink/meta/Location')).toBe('Kyiv');
    const redirect = await gw.api(
      'POST',
      `/api/devices/${id}/redirect`,
      { url: 'mqtts://ny3.example.com:8883' },
      admin,
    );
    expect(redirect.body).toEqual({ online: true, url: 'mqtts://ny3.example.com:8883' });
    expect(await dev.next('downlink/redirect')).toBe('mqtts://ny3.example.com:8883');
    // A form Blynk's samples could not follow is refused at the API.
    const bad = await gw.api<{ error: { code: string } }>(
      'POST',
      `/api/devices/${id}/redirect`,
      { url: 'ny3.example.com:8883' },
      admin,
    );
    expect(bad.status).toBe(400);
    await dev.client.endAsync();
    await expect.poll(() => broker.isConnected(id)).toBe(false);
    expect((await gw.api('POST', `/api/devices/${id}/reconfigure`, undefined, admin)).body).toEqual({
      online: false,
    });
  });

  it('keeps devices apart: no reading or writing another device, no subscribing outside downlink/', async () => {
    const [a, b] = await mint(gw, admin, templateId, 2);
    for (const d of [a!, b!]) await gw.api('POST', '/api/claims', { claimCode: d.claimCode }, admin);
    const devA = await connectDevice(gw.brokerUrl, a!.token);
    const devB = await connectDevice(gw.brokerUrl, b!.token);
    // Subscriptions outside downlink/ are refused (SUBACK 0x80), including the internal namespace.
    for (const filter of ['#', 'ds/#', `d/${b!.deviceId}/#`, '$SYS/#', 'downlink/../x']) {
      const granted = await devA.client.subscribeAsync(filter).then(
        (g) => g[0]?.qos,
        () => 128,
      );
      expect(granted, filter).toBe(128);
    }
    // A downlink for B reaches B only.
    await gw.api('PUT', `/api/devices/${b!.deviceId}/datastreams/temp`, { value: 5 }, admin);
    expect(await devB.next('downlink/ds/temp')).toBe('5');
    await sleep(100);
    expect(devA.inbox.filter((m) => m.topic.includes('temp'))).toEqual([]);
    // A's uplink lands on A only.
    await devA.client.publishAsync('ds/temp', '11');
    await expect.poll(async () => (await device(a!.deviceId)).body.values.temp?.value).toBe(11);
    expect((await device(b!.deviceId)).body.values.temp?.value).toBe(5);
    // Publishing into B's internal namespace (or anywhere outside the API) reaches nobody: it is
    // answered on A's diag, and A stays connected.
    await devA.client.publishAsync(`d/${b!.deviceId}/ds/temp`, '99');
    expect(JSON.parse(await devA.next('downlink/diag')).code).toBe('TOPIC_UNSUPPORTED');
    await sleep(100);
    expect((await device(b!.deviceId)).body.values.temp?.value).toBe(5);
    expect(devB.inbox.filter((m) => m.topic !== 'downlink/ds/temp')).toEqual([]);
    expect(devA.client.connected).toBe(true);
    await devA.client.endAsync();
    await devB.client.endAsync();
  });

  it('one connection per token: a new connection takes over and the old one is closed', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const first = await connectDevice(gw.brokerUrl, minted.token, { clientId: 'first' });
    const second = await connectDevice(gw.brokerUrl, minted.token, { clientId: 'second' });
    await first.closed;
    expect(second.client.connected).toBe(true);
    await gw.api('PUT', `/api/devices/${minted.deviceId}/datastreams/temp`, { value: 1 }, admin);
    expect(await second.next('downlink/ds/temp')).toBe('1');
    expect(gw.gateway.services.broker.connectedDevices).toBe(1);
    await second.client.endAsync();
  });

  it('tells a device over the size limit on downlink/diag, then drops it if it goes on', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    // Blynk counts the variable header (2 + topic) with the payload: 2 + 8 + 300 = 310.
    await dev.client.publishAsync('ds/label', 'x'.repeat(300));
    const diag = JSON.parse(await dev.next('downlink/diag'));
    expect(diag).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(diag.message).toMatch(/310 bytes .* over the limit of 256/);
    expect(dev.client.connected).toBe(true);
    for (let i = 0; i < 3; i++) dev.client.publish('ds/label', 'x'.repeat(300));
    await dev.closed;
    expect((await device(minted.deviceId)).body.values.label).toBeUndefined();
  });

  it('drops at once a connection whose packet is far over the limit, before reading it', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    // The hard cap is 4x the message limit plus 1 KB (2,048 bytes here); 1 MB never gets buffered.
    dev.client.publish('ds/label', Buffer.alloc(1024 * 1024, 0x61));
    await dev.closed;
    expect(dev.inbox.filter((m) => m.topic === 'downlink/diag')).toEqual([]);
    expect((await device(minted.deviceId)).body.values.label).toBeUndefined();
    // The device may come back with sane messages.
    const again = await connectDevice(gw.brokerUrl, minted.token);
    await again.client.publishAsync('ds/label', 'ok');
    await expect.poll(async () => (await device(minted.deviceId)).body.values.label?.value).toBe('ok');
    await again.client.endAsync();
  });

  it('tells a device over the rate limit on downlink/diag, then drops it if it goes on', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    for (let i = 0; i < 21; i++) dev.client.publish('ds/temp', String(i));
    expect(JSON.parse(await dev.next('downlink/diag')).message).toMatch(/more than 20 messages per second/);
    for (let i = 0; i < 10; i++) dev.client.publish('ds/temp', String(i));
    await dev.closed;
  });

  it('refuses bad tokens, revoked tokens, long client ids and MQTT 5 with the right CONNACK', async () => {
    const [minted] = await mint(gw, admin, templateId);
    const url = gw.brokerUrl;
    expect(await connackCode(url, { username: 'device', password: 'x'.repeat(32) })).toBe(4);
    expect(await connackCode(url, { username: 'someone', password: minted!.token })).toBe(4);
    expect(await connackCode(url, { username: 'device' })).toBe(4);
    expect(
      await connackCode(url, { username: 'device', password: minted!.token, clientId: 'c'.repeat(65) }),
    ).toBe(2);
    expect(
      await connackCode(url, { username: 'device', password: minted!.token, clientId: 'c'.repeat(64) }),
    ).toBe(0);
    // An unclaimed static-token device may connect (it sits in the maker's pool).
    expect(await connackCode(url, { username: 'device', password: minted!.token, clientId: '' })).toBe(0);
    // aedes 1.x speaks MQTT 3.1.1 only: an MQTT 5 CONNECT gets "unacceptable protocol version".
    const v5 = await mqtt
      .connectAsync(url, {
        username: 'device',
        password: minted!.token,
        protocolVersion: 5,
        reconnectPeriod: 0,
        connectTimeout: 3000,
      })
      .then(
        async (c) => {
          await c.endAsync();
          return 0;
        },
        (e: { code?: number }) => e.code ?? -1,
      );
    expect(v5).toBe(1);
    await gw.api('DELETE', `/api/static-tokens/${minted!.deviceId}`, undefined, admin);
    expect(await connackCode(url, { username: 'device', password: minted!.token })).toBe(4);
  });

  it('refuses uplinks of a pending device before info/mcu, and get/ds works after a restart', async () => {
    const session = await gw.api<{ deviceId: string; token: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId },
      admin,
    );
    const dev = await connectDevice(gw.brokerUrl, session.body.token);
    await dev.client.publishAsync('ds/temp', '20');
    expect(JSON.parse(await dev.next('downlink/diag')).code).toBe('PERMISSION_DENIED');
    await dev.client.publishAsync('info/mcu', JSON.stringify({ tmpl: templateId }));
    await dev.client.publishAsync('ds/temp', '20.25');
    await expect.poll(async () => (await device(session.body.deviceId)).body.values.temp?.value).toBe(20.25);
    await dev.client.endAsync();

    // Restart on the same data folder: the latest value comes back from the file.
    const dataDir = gw.dataDir;
    await gw.gateway.stop();
    const again = await startTestGateway({}, { dataDir });
    try {
      const dev2 = await connectDevice(again.brokerUrl, session.body.token);
      await dev2.client.publishAsync('get/ds', 'temp');
      expect(await dev2.next('downlink/ds/temp')).toBe('20.25');
      await dev2.client.endAsync();
    } finally {
      await again.stop();
    }
  });
});
