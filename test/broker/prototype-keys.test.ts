/**
 * Names that come from a device (datastreams, metadata fields, widget properties, batch_ds keys)
 * never index a plain object: `constructor`, `__proto__`, `toString` and friends are names like
 * any other, answered or refused with a coded diag, and never crash the gateway — also after the
 * records went through the JSON file and back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activeDevice, connectDevice, createTemplate, sleep } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

const PROTO_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

describe('prototype-property names from a device', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;
  const escaped: unknown[] = [];
  const onEscape = (error: unknown) => escaped.push(error);

  beforeEach(async () => {
    escaped.length = 0;
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtException', onEscape);
    gw = await startTestGateway({ mqtt: { publishesPerSecond: 1000 } });
    admin = await gw.login();
    templateId = await createTemplate(gw, admin);
  });
  afterEach(async () => {
    await gw.stop();
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtException', onEscape);
  });

  const device = async (id: string) =>
    (await gw.api<Record<string, unknown>>('GET', `/api/devices/${id}`, undefined, admin)).body;

  it('get/meta and get/ds naming inherited properties answer nothing for them and keep the gateway up', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    await dev.client.publishAsync('meta/Serial Number', 'SN-1');
    await dev.client.publishAsync('ds/temp', '20');
    await dev.client.publishAsync('get/meta', `${PROTO_NAMES.join(',')},Serial Number`);
    expect(await dev.next('downlink/meta/Serial Number')).toBe('SN-1');
    await dev.client.publishAsync('get/ds', `${PROTO_NAMES.join(',')},temp`);
    expect(await dev.next('downlink/ds/temp')).toBe('20');
    for (const name of PROTO_NAMES) await dev.client.publishAsync(`ds/${name}/erase`, '');
    await dev.client.publishAsync('get/ds', 'temp');
    expect(await dev.next('downlink/ds/temp')).toBe('20');
    await sleep(100);
    expect(
      dev.inbox.filter((m) => m.topic.startsWith('downlink/meta/') || m.topic.startsWith('downlink/ds/')),
    ).toEqual([]);
    expect(dev.client.connected).toBe(true);
    expect((await gw.api('GET', '/healthz')).status).toBe(200);
    expect(escaped).toEqual([]);
    await dev.client.endAsync();
  });

  it('takes prototype names as ordinary metadata fields, within the per-device cap, across a restart', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    for (const name of PROTO_NAMES) await dev.client.publishAsync(`meta/${name}`, `v-${name}`);
    await expect
      // Each field is a journalled write: on a busy machine 64 of them take a few seconds.
      .poll(async () => Object.keys((await device(minted.deviceId)).meta as object).length, {
        timeout: 15_000,
      })
      .toBe(PROTO_NAMES.length);
    await dev.client.publishAsync('get/meta', PROTO_NAMES.join(','));
    for (const name of PROTO_NAMES) expect(await dev.next(`downlink/meta/${name}`)).toBe(`v-${name}`);
    // Fill up to the cap (64) with ordinary fields: an inherited name must not slip past it.
    for (let i = PROTO_NAMES.length; i < 64; i++) await dev.client.publishAsync(`meta/f${i}`, 'x');
    await expect
      // Each field is a journalled write: on a busy machine 64 of them take a few seconds.
      .poll(async () => Object.keys((await device(minted.deviceId)).meta as object).length, {
        timeout: 15_000,
      })
      .toBe(64);
    await dev.client.publishAsync('meta/propertyIsEnumerable', 'one too many');
    expect(JSON.parse(await dev.next('downlink/diag')).message).toMatch(/At most 64 metadata fields/);
    await dev.client.endAsync();

    // Through the file and back: the records are plain JSON again, and still read by own keys only.
    const dataDir = gw.dataDir;
    await gw.gateway.stop();
    const again = await startTestGateway({}, { dataDir });
    try {
      const dev2 = await connectDevice(again.brokerUrl, minted.token);
      await dev2.client.publishAsync('get/meta', [...PROTO_NAMES, 'isPrototypeOf'].join(','));
      for (const name of PROTO_NAMES) expect(await dev2.next(`downlink/meta/${name}`)).toBe(`v-${name}`);
      await dev2.client.publishAsync('get/ds', PROTO_NAMES.join(','));
      await sleep(100);
      expect(dev2.inbox.filter((m) => m.topic !== 'downlink/diag')).toEqual([]);
      await dev2.client.endAsync();
    } finally {
      await again.stop();
    }
    expect(escaped).toEqual([]);
  });

  it('refuses prototype names as datastreams, properties and batch_ds keys with a coded diag', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    for (const name of PROTO_NAMES) {
      await dev.client.publishAsync(`ds/${name}`, '1');
      expect(JSON.parse(await dev.next('downlink/diag')).code).toBe('VALIDATION_FAILED');
      await dev.client.publishAsync(`ds/${name}/prop/label`, 'x');
      expect(JSON.parse(await dev.next('downlink/diag')).code).toBe('VALIDATION_FAILED');
      await dev.client.publishAsync(`ds/temp/prop/${name}`, 'x');
      expect(JSON.parse(await dev.next('downlink/diag')).code).toBe('VALIDATION_FAILED');
    }
    await dev.client.publishAsync('batch_ds', '{"__proto__": {"temp": 1}, "constructor": 2, "toString": 3}');
    expect(JSON.parse(await dev.next('downlink/diag')).code).toBe('VALIDATION_FAILED');
    const body = await device(minted.deviceId);
    expect(body.values).toEqual({});
    expect(body.props ?? {}).toEqual({});
    expect(dev.client.connected).toBe(true);
    expect(escaped).toEqual([]);
    await dev.client.endAsync();
  });
});
