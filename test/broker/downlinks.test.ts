/**
 * How a downlink reaches a device: only on a subscription of its own that matches it (diag and
 * redirect without one), in the order the gateway sent them whatever their QoS, any size and any
 * UTF-8 in one packet, and a connection that ends while commands are sent costs nothing but
 * those commands.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activeDevice, connectDevice, createTemplate, mint } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('downlinks', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;

  beforeEach(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    templateId = await createTemplate(gw, admin);
  });
  afterEach(async () => {
    await gw.stop();
  });

  const broker = () => gw.gateway.services.broker;

  it('reach a device only through a matching subscription; diag and redirect need none', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token, { subscribe: false });
    await dev.client.subscribeAsync(['downlink/ds/+', 'downlink/meta/Location'], { qos: 0 });
    const id = minted.deviceId;
    const send = (topic: string, payload: string) =>
      expect(broker().sendToDevice(id, topic, payload)).toBe(true);
    send('downlink/ds/temp', '21');
    send('downlink/meta/Owner', 'nobody subscribed to this');
    send('downlink/ds/temp/prop/color', 'nor to this (+ is one level)');
    send('downlink/meta/Location', 'Kyiv');
    send('downlink/redirect', 'mqtt://other.example.com:1883');
    await expect.poll(() => dev.inbox.length).toBe(3);
    expect(dev.inbox.splice(0)).toEqual([
      { topic: 'downlink/ds/temp', payload: '21', qos: 0 },
      { topic: 'downlink/meta/Location', payload: 'Kyiv', qos: 0 },
      { topic: 'downlink/redirect', payload: 'mqtt://other.example.com:1883', qos: 0 },
    ]);
    await dev.client.endAsync();
  });

  it('stop reaching a device once it unsubscribes', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token, { subscribe: false });
    await dev.client.subscribeAsync(['downlink/ds/+', 'downlink/meta/Location'], { qos: 0 });
    const id = minted.deviceId;
    await dev.client.unsubscribeAsync(['downlink/ds/+', 'downlink/nothing-held', 'elsewhere/#']);
    expect(broker().sendToDevice(id, 'downlink/ds/temp', '22')).toBe(true);
    // Behind it on the same connection: once this one is in, the one before would be too.
    expect(broker().sendToDevice(id, 'downlink/meta/Location', 'Lviv')).toBe(true);
    await expect.poll(() => dev.inbox.length).toBe(1);
    expect(dev.inbox).toEqual([{ topic: 'downlink/meta/Location', payload: 'Lviv', qos: 0 }]);
    await dev.client.endAsync();
  });

  it('keep the order they were sent in, QoS 0 and QoS 1 mixed', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    const id = minted.deviceId;
    // All in one turn: the QoS 1 ones go through aedes, which writes them on its next turn.
    broker().sendToDevice(id, 'downlink/ds/temp', '1');
    broker().sendToDevice(id, 'downlink/reconfigure', '', 1);
    broker().sendToDevice(id, 'downlink/ds/temp', '2');
    broker().sendToDevice(id, 'downlink/reboot', '');
    broker().sendToDevice(id, 'downlink/ds/temp', '3', 1);
    broker().sendToDevice(id, 'downlink/ds/temp', '4');
    await expect.poll(() => dev.inbox.length).toBe(6);
    expect(dev.inbox.map((m) => `${m.topic} ${m.payload} qos${m.qos}`)).toEqual([
      'downlink/ds/temp 1 qos0',
      'downlink/reconfigure  qos1',
      'downlink/ds/temp 2 qos0',
      'downlink/reboot  qos0',
      'downlink/ds/temp 3 qos1',
      'downlink/ds/temp 4 qos0',
    ]);
    await dev.client.endAsync();
  });

  it('arrive whole at every size, UTF-8 topics and payloads included', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    const id = minted.deviceId;
    // Around the remaining-length steps of the fixed header (127/128, 16,383/16,384 bytes).
    const topic = 'downlink/meta/Größe';
    const overhead = 2 + Buffer.byteLength(topic);
    const payloads = [
      '',
      'ä',
      'x'.repeat(127 - overhead),
      'x'.repeat(128 - overhead),
      `${'€'.repeat(5000)}${'y'.repeat(16_383 - overhead - 15_000)}`,
      'z'.repeat(16_384 - overhead),
      'w'.repeat(100_000),
    ];
    for (const payload of payloads) broker().sendToDevice(id, topic, payload);
    await expect.poll(() => dev.inbox.length).toBe(payloads.length);
    expect(dev.inbox.map((m) => m.topic)).toEqual(payloads.map(() => topic));
    expect(dev.inbox.map((m) => m.payload)).toEqual(payloads);
    await dev.client.endAsync();
  });

  it('to a device that stops reading: its connection is closed before they pile up in the gateway', async () => {
    const [a, b] = await mint(gw, admin, templateId, 2);
    const devA = await connectDevice(gw.brokerUrl, a!.token);
    const devB = await connectDevice(gw.brokerUrl, b!.token);
    devA.client.stream.pause(); // reads nothing more: the socket buffers fill, then the gateway's
    const payload = 'x'.repeat(64 * 1024);
    let sent = 0;
    // At most 64 MB: the kernel's loopback buffers take a few MB, the gateway then 1 MB more.
    while (broker().isConnected(a!.deviceId) && sent < 1000) {
      broker().sendToDevice(a!.deviceId, 'downlink/meta/blob', payload);
      sent++;
      await turn();
    }
    expect(broker().isConnected(a!.deviceId)).toBe(false);
    // The others are not held up.
    broker().sendToDevice(b!.deviceId, 'downlink/ds/temp', '7');
    expect(await devB.next('downlink/ds/temp')).toBe('7');
    devA.client.stream.destroy();
    await devB.client.endAsync();
  });

  it.each(['drops its socket', 'disconnects'] as const)(
    'to a device that %s while commands are sent: nothing throws, the others keep receiving',
    async (how) => {
      const [a, b] = await mint(gw, admin, templateId, 2);
      const devA = await connectDevice(gw.brokerUrl, a!.token);
      const devB = await connectDevice(gw.brokerUrl, b!.token);
      if (how === 'drops its socket') devA.client.stream.destroy();
      else void devA.client.endAsync();
      // Every turn until the gateway has seen the end: each command is sent or dropped, never thrown.
      let sent = 0;
      while (broker().isConnected(a!.deviceId) && sent < 10_000) {
        expect(() => broker().sendToDevice(a!.deviceId, 'downlink/ds/temp', String(sent))).not.toThrow();
        sent++;
        await turn();
      }
      expect(broker().isConnected(a!.deviceId)).toBe(false);
      expect(broker().sendToDevice(a!.deviceId, 'downlink/ds/temp', 'late')).toBe(false);
      const write = await gw.api('PUT', `/api/devices/${b!.deviceId}/datastreams/temp`, { value: 5 }, admin);
      expect(write.body).toEqual({ value: 5, online: true });
      expect(await devB.next('downlink/ds/temp')).toBe('5');
      await devB.client.endAsync();
    },
  );
});
