/**
 * Blynk's HTTPS device API (docs.blynk.io, blynk.cloud "Device HTTPS API") as a script calls it:
 * plain GET requests with the device token, the paths, parameters and answers of Blynk's docs,
 * against a real gateway, with a real MQTT device on the other side.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDatastreamSpec } from '../../scripts/commands/template-create.js';
import { ManualClock } from '../../shared/clock.js';
import { activeDevice, connectDevice, mint } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

/** The Blynk datastreams of the tests, on Blynk's virtual pins. */
const DATASTREAMS = [
  { pin: 'V0', name: 'temp', type: 'double', min: -40, max: 125 },
  { pin: 'v1', name: 'power', type: 'int', min: 0, max: 1 },
  { pin: 'V2', name: 'mode', type: 'enum', values: ['off', 'heat', 'cool'], defaultValue: 'off' },
  { pin: 'V3', name: 'label', type: 'string' },
  { pin: 'V4', name: 'where', type: 'location' },
  { name: 'unpinned', type: 'int' },
];

interface Answer {
  status: number;
  type: string;
  text: string;
  json: () => unknown;
  retryAfter: string | null;
}

async function call(gw: TestGateway, pathAndQuery: string, method = 'GET'): Promise<Answer> {
  const res = await fetch(`${gw.baseUrl}/external/api/${pathAndQuery}`, { method });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    text,
    json: () => JSON.parse(text),
    retryAfter: res.headers.get('retry-after'),
  };
}

const blynkError = (message: string) => ({ error: expect.objectContaining({ message }) });

describe("Blynk's HTTPS device API", () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;
  let token: string;
  let deviceId: string;

  const values = async () =>
    (
      await gw.api<{ values: Record<string, { value: unknown }> }>(
        'GET',
        `/api/devices/${deviceId}`,
        undefined,
        admin,
      )
    ).body.values;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    const res = await gw.api<{ id: string; datastreams: Array<{ pin?: string }> }>(
      'POST',
      '/api/templates',
      {
        name: 'Air Cooler',
        datastreams: DATASTREAMS,
        events: [{ code: 'overheat', name: 'Overheat' }],
      },
      admin,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    // Pins are kept as Blynk writes them.
    expect(res.body.datastreams.map((d) => d.pin)).toEqual(['V0', 'V1', 'V2', 'V3', 'V4', undefined]);
    templateId = res.body.id;
    const minted = await activeDevice(gw, admin, templateId);
    token = minted.token;
    deviceId = minted.deviceId;
  });
  afterAll(async () => gw?.stop());

  it('update sets a datastream by pin, as the device would, and passes it to the connected device', async () => {
    const device = await connectDevice(gw.brokerUrl, token);
    const updated = await call(gw, `update?token=${token}&v1=1`);
    expect(updated.status).toBe(200);
    expect(updated.text).toBe('');
    expect((await values()).power?.value).toBe(1);
    expect(await device.next('downlink/ds/power')).toBe('1');
    // Upper-case pins, names beyond Blynk, and two-value datastreams by pin=…&value=…&value=…
    expect((await call(gw, `update?token=${token}&V0=21.5`)).status).toBe(200);
    expect((await call(gw, `update?token=${token}&label=${encodeURIComponent('Living room')}`)).status).toBe(
      200,
    );
    expect((await call(gw, `update?token=${token}&pin=V4&value=30.52&value=50.45`)).status).toBe(200);
    expect(await values()).toMatchObject({
      temp: { value: 21.5 },
      label: { value: 'Living room' },
      where: { value: [30.52, 50.45] },
    });
    await device.client.endAsync();
  });

  it('get answers one value as text and several as a JSON object; getAll answers every pin', async () => {
    await call(gw, `batch/update?token=${token}&v0=19.25&v3=hall`);
    const one = await call(gw, `get?token=${token}&v0`);
    expect(one.status).toBe(200);
    expect(one.text).toBe('19.25');
    // A datastream never set answers with its default.
    expect((await call(gw, `get?token=${token}&V2`)).text).toBe('off');
    const several = await call(gw, `get?token=${token}&v0&v3&v4&mode`);
    expect(several.type).toMatch(/json/);
    expect(several.json()).toEqual({ v0: 19.25, v3: 'hall', v4: [30.52, 50.45], mode: 'off' });
    expect((await call(gw, `getAll?token=${token}`)).json()).toEqual({
      v0: 19.25,
      v1: 1,
      v2: 'off',
      v3: 'hall',
      v4: [30.52, 50.45],
    });
  });

  it('batch/update sets several datastreams in one request', async () => {
    const res = await call(gw, `batch/update?token=${token}&v0=23&v1=0&V2=cool`);
    expect(res.status).toBe(200);
    expect(await values()).toMatchObject({
      temp: { value: 23 },
      power: { value: 0 },
      mode: { value: 'cool' },
    });
  });

  it("refuses with Blynk's status and texts, and the exact reason", async () => {
    const cases: Array<[string, string]> = [
      [`update?token=${'x'.repeat(32)}&v1=1`, 'Invalid token.'],
      ['update?v1=1', 'Invalid token.'],
      [`get?token=${token}&v9`, 'No datastream setup for that pin.'],
      [`update?token=${token}&v9=1`, 'No datastream setup for that pin.'],
      [`update?token=${token}&x1=1`, 'Wrong pin format.'],
      [`update?token=${token}&v1=abc`, "Value doesn't match the Datastream data type."],
      [`update?token=${token}&v1=5`, "Value doesn't match the Datastream data type."],
      [`update?token=${token}&v0=1&v0=2`, "Value doesn't match the Datastream data type."],
      [`batch/update?token=${token}&v0=1&nope=2`, 'Wrong pin format.'],
      [`get?token=${token}&dataStreamId=1`, "Requested dataStream doesn't exist in the product Air Cooler"],
      [`logEvent?token=${token}`, 'Event code is not provided.'],
      // Names from outside never reach an object's prototype.
      [`get?token=${token}&constructor`, 'Wrong pin format.'],
      [`update?token=${token}&__proto__=1`, 'Wrong pin format.'],
      [`update?token=${token}&toString=1`, 'Wrong pin format.'],
    ];
    for (const [query, message] of cases) {
      const res = await call(gw, query);
      expect(res.status, query).toBe(400);
      expect(res.json(), query).toEqual(blynkError(message));
    }
    const reason = (await call(gw, `update?token=${token}&v1=abc`)).json() as { error: { reason: string } };
    expect(reason.error.reason).toMatch(/power.*not a number/);
    // A GET with side effects has no HEAD twin that would run it.
    expect((await call(gw, `update?token=${token}&v1=1`, 'HEAD')).status).toBe(404);
    expect((await values()).power?.value).toBe(0);
  });

  it('isHardwareConnected says whether the device is connected over MQTT', async () => {
    const offline = await call(gw, `isHardwareConnected?token=${token}`);
    expect([offline.status, offline.text]).toEqual([200, 'false']);
    const device = await connectDevice(gw.brokerUrl, token);
    await expect.poll(async () => (await call(gw, `isHardwareConnected?token=${token}`)).text).toBe('true');
    await device.client.endAsync();
    await expect.poll(async () => (await call(gw, `isHardwareConnected?token=${token}`)).text).toBe('false');
  });

  it('logEvent records an event as MQTT event/<code> does', async () => {
    const seen: Array<{ code: string; description: string }> = [];
    const off = gw.gateway.services.events.on('device.event', (e) => seen.push(e));
    const res = await call(
      gw,
      `logEvent?token=${token}&code=overheat&description=${encodeURIComponent('Too hot: 41 °C')}`,
    );
    off();
    expect(res.status).toBe(200);
    expect(seen).toEqual([expect.objectContaining({ code: 'overheat', description: 'Too hot: 41 °C' })]);
    // On the device's timeline, as MQTT's; a code the template does not define is Blynk's 400.
    const timeline = await gw.api<{ events: Array<{ code: string }> }>(
      'GET',
      `/api/devices/${deviceId}/events`,
      undefined,
      admin,
    );
    expect(timeline.body.events.map((e) => e.code)).toEqual(['overheat']);
    const undefinedCode = await call(gw, `logEvent?token=${token}&code=not_defined`);
    expect(undefinedCode.status).toBe(400);
    expect(undefinedCode.json()).toMatchObject(
      blynkError("Can't find Event with this code in Product template"),
    );
  });

  it('refuses data from a device that is not activated, and provision activates it as info/mcu does', async () => {
    const session = await gw.api<{ deviceId: string; token: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId },
      admin,
    );
    const pending = session.body.token;
    const early = await call(gw, `update?token=${pending}&v0=1`);
    expect(early.status).toBe(400);
    expect(early.json()).toEqual(blynkError('The device is not activated yet.'));
    const wrong = await call(gw, `provision?token=${pending}&templateId=TMPLother123`);
    expect(wrong.status).toBe(400);
    expect((wrong.json() as { error: { code: string } }).error.code).toBe('TEMPLATE_MISMATCH');
    const ok = await call(gw, `provision?token=${pending}&templateId=${templateId}&ver=1.2.0&type=MCU`);
    expect(ok.status).toBe(200);
    const outcome = await gw.api<{ state: string }>(
      'GET',
      `/api/provisioning/sessions/${session.body.deviceId}`,
      undefined,
      admin,
    );
    expect(outcome.body.state).toBe('active');
    expect((await call(gw, `update?token=${pending}&v0=2`)).status).toBe(200);
  });
});

describe('the same limits as MQTT', () => {
  let gw: TestGateway;
  let token: string;
  let templateId: string;
  let admin: string;

  beforeAll(async () => {
    // A clock that stands still: every request falls in the same second.
    gw = await startTestGateway(
      { mqtt: { publishesPerSecond: 3, maxMessageBytes: 64 } },
      { clock: new ManualClock(Date.now()) },
    );
    admin = await gw.login();
    const res = await gw.api<{ id: string }>(
      'POST',
      '/api/templates',
      { name: 'Limits', datastreams: DATASTREAMS },
      admin,
    );
    templateId = res.body.id;
    const [minted] = await mint(gw, admin, templateId);
    token = minted!.token;
  });
  afterAll(async () => gw?.stop());

  it('refuses a value over the message size limit with 413, and more than the rate with 429', async () => {
    // ds/label + 2-byte length + 60 bytes > 64: as an MQTT publish of the same data would be.
    const big = await call(gw, `update?token=${token}&v3=${'a'.repeat(60)}`);
    expect(big.status).toBe(413);
    expect((big.json() as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(gw, `update?token=${token}&v0=${i}`)).status);
    // The oversized request counted as nothing: three pass, the fourth is over the rate.
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await call(gw, `batch/update?token=${token}&v0=1&v1=1`);
    expect(limited.status).toBe(429);
    expect(limited.retryAfter).toBe('1');
  });

  it("counts a connected device's MQTT messages and HTTPS calls against one budget", async () => {
    const [other] = await mint(gw, admin, templateId);
    const device = await connectDevice(gw.brokerUrl, other!.token);
    try {
      // Two of the three a second over MQTT (the clock stands still: one second throughout)...
      await device.client.publishAsync('ds/temp', '20', { qos: 1 });
      await device.client.publishAsync('ds/temp', '21', { qos: 1 });
      // ...leave one for the HTTPS API, not three.
      const statuses: number[] = [];
      for (let i = 0; i < 2; i++)
        statuses.push((await call(gw, `update?token=${other!.token}&v0=${i}`)).status);
      expect(statuses).toEqual([200, 429]);
      // And the budget spent over HTTPS is spent for MQTT too.
      device.client.publish('ds/temp', '22');
      expect(JSON.parse(await device.next('downlink/diag'))).toMatchObject({ code: 'RATE_LIMITED' });
    } finally {
      await device.client.endAsync();
    }
  });
});

describe('virtual pins on a template', () => {
  it('tether template create takes a leading pin; a datastream may also be named like one', () => {
    expect(parseDatastreamSpec('V1:temp:double:-40:125')).toEqual({
      name: 'temp',
      type: 'double',
      min: -40,
      max: 125,
      pin: 'V1',
    });
    expect(parseDatastreamSpec('v12:mode:enum:off|on')).toEqual({
      name: 'mode',
      type: 'enum',
      values: ['off', 'on'],
      pin: 'V12',
    });
    expect(parseDatastreamSpec('V1:double')).toEqual({ name: 'V1', type: 'double' });
  });

  it('keeps pins in the store across a restart', async () => {
    const first = await startTestGateway({}, { keepData: true });
    const dataDir = first.dataDir;
    try {
      const admin = await first.login();
      const created = await first.api<{ id: string }>(
        'POST',
        '/api/templates',
        { name: 'Kept', datastreams: [{ name: 'temp', type: 'double', pin: 'v7' }] },
        admin,
      );
      await first.stop();
      const again = await startTestGateway({}, { dataDir });
      try {
        const template = await again.api<{ datastreams: Array<{ pin?: string }> }>(
          'GET',
          `/api/templates/${created.body.id}`,
          undefined,
          await again.login(),
        );
        expect(template.body.datastreams[0]?.pin).toBe('V7');
      } finally {
        await again.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses two datastreams on one pin and pins outside V0-V255', async () => {
    const gw = await startTestGateway();
    try {
      const admin = await gw.login();
      const twice = await gw.api(
        'POST',
        '/api/templates',
        {
          name: 'T',
          datastreams: [
            { name: 'a', type: 'int', pin: 'V1' },
            { name: 'b', type: 'int', pin: 'v1' },
          ],
        },
        admin,
      );
      expect(twice.status).toBe(400);
      expect(JSON.stringify(twice.body)).toMatch(/a and b both use pin V1/);
      for (const pin of ['V256', 'V01', 'A1', 'V']) {
        const bad = await gw.api(
          'POST',
          '/api/templates',
          { name: 'T', datastreams: [{ name: 'a', type: 'int', pin }] },
          admin,
        );
        expect(bad.status, pin).toBe(400);
      }
    } finally {
      await gw.stop();
    }
  });
});
