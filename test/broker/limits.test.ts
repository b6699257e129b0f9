/**
 * The device limits as Blynk documents them and beyond: size counts the PUBLISH variable header
 * with the payload, breaches are coded by kind and answered on diag before any close, breaches
 * far apart fade instead of adding up, and a device closed for abuse meets a growing reconnect
 * back-off enforced by the gateway. A ManualClock drives the gateway's time.
 */
import { createConnection } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DecayingCount,
  publishPacketBytes,
  publishSize,
  ReconnectBackoff,
} from '../../gateway/broker/device-limits.js';
import { ManualClock } from '../../shared/clock.js';
import {
  activeDevice,
  connackCode,
  connectDevice,
  createTemplate,
  sleep,
} from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('limit arithmetic', () => {
  it('weighs a PUBLISH as Blynk does: variable header (topic, packet id) plus payload', () => {
    expect(publishSize('ds/label', 300, 0)).toBe(2 + 8 + 300);
    expect(publishSize('ds/label', 300, 1)).toBe(2 + 8 + 2 + 300);
    expect(publishSize('ds/Температура', 0, 0)).toBe(2 + Buffer.byteLength('ds/Температура'));
    // The whole packet adds the fixed header: 1 byte and 1–4 bytes of remaining length.
    expect(publishPacketBytes('a', 100, 0)).toBe(1 + 1 + 103);
    expect(publishPacketBytes('a', 200, 0)).toBe(1 + 2 + 203);
  });

  it('lets breaches fade: one per decay period', () => {
    const count = new DecayingCount(10_000);
    expect(count.add(0)).toBe(1);
    expect(count.add(0)).toBe(2);
    expect(count.valueAt(10_000)).toBe(1);
    expect(count.add(30_000)).toBe(1);
  });

  it('doubles the reconnect back-off per close, up to the cap, and forgets after a quiet spell', () => {
    const backoff = new ReconnectBackoff({ baseMs: 5_000, maxMs: 20_000, forgetMs: 60_000, maxEntries: 2 });
    expect(backoff.remainingMs('a', 0)).toBe(0);
    expect(backoff.punish('a', 0)).toBe(5_000);
    expect(backoff.remainingMs('a', 1_000)).toBe(4_000);
    expect(backoff.punish('a', 6_000)).toBe(10_000);
    expect(backoff.punish('a', 17_000)).toBe(20_000);
    expect(backoff.punish('a', 40_000)).toBe(20_000);
    expect(backoff.punish('a', 200_000)).toBe(5_000); // forgotten
    // Memory stays bounded.
    backoff.punish('b', 200_000);
    backoff.punish('c', 200_000);
    expect(backoff.size).toBe(2);
  });
});

describe('device limits at the broker', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    gw = await startTestGateway({ mqtt: { publishesPerSecond: 5, maxMessageBytes: 256 } }, { clock });
    admin = await gw.login();
    templateId = await createTemplate(gw, admin);
  });
  afterEach(async () => {
    await gw.stop();
  });

  const value = async (id: string, name: string) =>
    (
      await gw.api<{ values: Record<string, { value: unknown }> }>(
        'GET',
        `/api/devices/${id}`,
        undefined,
        admin,
      )
    ).body.values[name]?.value;

  it('counts the topic into the size, codes size as size and rate as rate', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    // 2 + 8 + 246 = 256: at the limit, taken.
    await dev.client.publishAsync('ds/label', 'y'.repeat(246));
    await expect.poll(() => value(minted.deviceId, 'label')).toBe('y'.repeat(246));
    // The same payload at QoS 1 carries a packet id: 258, over.
    await dev.client.publishAsync('ds/label', 'z'.repeat(246), { qos: 1 });
    expect(JSON.parse(await dev.next('downlink/diag'))).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    await clock.advance(10_000);
    for (let i = 0; i < 6; i++) dev.client.publish('ds/temp', String(i));
    expect(JSON.parse(await dev.next('downlink/diag'))).toMatchObject({ code: 'RATE_LIMITED' });
    expect(dev.client.connected).toBe(true);
    expect(await value(minted.deviceId, 'label')).toBe('y'.repeat(246));
    await dev.client.endAsync();
  });

  it('lets breaches far apart fade: a device that breaches now and then is never closed', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    for (let i = 0; i < 6; i++) {
      await dev.client.publishAsync('ds/label', 'x'.repeat(300));
      expect(JSON.parse(await dev.next('downlink/diag')).code).toBe('PAYLOAD_TOO_LARGE');
      await clock.advance(10_000);
    }
    expect(dev.client.connected).toBe(true);
    await dev.client.endAsync();
  });

  it('answers a flood on diag before it closes, then refuses reconnects for a growing window', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const flood = async () => {
      const dev = await connectDevice(gw.brokerUrl, minted.token);
      // A flood: more than it takes to close, all in one go.
      for (let i = 0; i < 12; i++) dev.client.publish('ds/label', 'x'.repeat(300));
      await dev.closed;
      // Every breach was answered, the last one saying why the connection closes.
      const diags = dev.inbox.filter((m) => m.topic === 'downlink/diag').map((m) => JSON.parse(m.payload));
      expect(diags.map((d) => d.code)).toEqual([
        'PAYLOAD_TOO_LARGE',
        'PAYLOAD_TOO_LARGE',
        'PAYLOAD_TOO_LARGE',
      ]);
      expect(diags.at(-1).message).toMatch(/closing the connection/);
    };
    const connack = () => connackCode(gw.brokerUrl, { username: 'device', password: minted.token });
    await flood();
    // CONNACK 3, "server unavailable": try later (4 or 5 would read as a bad token).
    expect(await connack()).toBe(3);
    await clock.advance(5_000);
    await flood();
    await clock.advance(5_000);
    expect(await connack()).toBe(3); // the second window is 10 s
    await clock.advance(5_000);
    expect(await connack()).toBe(0);
  });

  it('answers unsupported topics on diag and keeps the connection', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    for (const topic of ['ds/temp/unknown', 'get/everything', 'event/a b', 'hello']) {
      await dev.client.publishAsync(topic, '1');
      const diag = JSON.parse(await dev.next('downlink/diag'));
      expect(diag.code).toBe('TOPIC_UNSUPPORTED');
      expect(diag.message).toContain(topic);
      await clock.advance(1_000);
    }
    await sleep(50);
    expect(dev.client.connected).toBe(true);
    await dev.client.endAsync();
  });

  it('drops a connection whose packet announces more than the hard cap, before reading its body', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    // The cap is 4 × maxMessageBytes + 1 KB = 2,048 bytes here. A CONNECT announcing 100,000
    // bytes, its first 10 sent: without the cap aedes would wait for the rest with the socket open.
    const announce = (length: number) => {
      const bytes = [0x10];
      do {
        bytes.push((length % 128) | (length >= 128 ? 0x80 : 0));
        length = Math.floor(length / 128);
      } while (length > 0);
      return Buffer.from(bytes);
    };
    const port = Number(new URL(gw.brokerUrl).port);
    const socket = createConnection(port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.write(Buffer.concat([announce(100_000), Buffer.alloc(10)]));
    await closed;
    // One cap for every connection: a second one is dropped too, and a device still connects.
    const second = createConnection(port, '127.0.0.1');
    second.on('error', () => {});
    const secondClosed = new Promise<void>((resolve) => second.once('close', () => resolve()));
    second.write(announce(3_000));
    await secondClosed;
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    expect(dev.client.connected).toBe(true);
    await dev.client.endAsync();
  });
});
