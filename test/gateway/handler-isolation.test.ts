/**
 * One failing handler ends at most its own client (the bus's own part of it is in the event bus
 * contract, test/cluster/live-state-contract.ts): an event listener that throws (a push-stream
 * writer) fails alone, the stream it serves ends with a coded reason, and neither the device that
 * raised the event nor the other streams notice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readServerSentEvents, type ServerSentEvent } from '../../shared/sse.js';
import { activeDevice, connectDevice, createTemplate } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('a push-stream writer that fails', () => {
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

  const openStream = async () => {
    const controller = new AbortController();
    const res = await fetch(`${gw.baseUrl}/api/stream`, {
      headers: { authorization: `Bearer ${admin}` },
      signal: controller.signal,
    });
    const events: ServerSentEvent[] = [];
    let ended = false;
    void (async () => {
      try {
        for await (const event of readServerSentEvents(res.body as ReadableStream<Uint8Array>))
          events.push(event);
      } catch {
        // aborted
      }
      ended = true;
    })();
    await expect.poll(() => events[0]?.event).toBe('snapshot');
    return { events, ended: () => ended, close: () => controller.abort() };
  };

  it('ends its own stream with a code; the device and the other streams go on', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const first = await openStream();
    const second = await openStream();
    const device = await connectDevice(gw.brokerUrl, minted.token);

    // The first stream's writer fails once (as a writer bug would), the second's works.
    const { devices } = gw.gateway.services;
    const toPublic = devices.toPublic.bind(devices);
    let failures = 0;
    devices.toPublic = (d) => {
      if (failures++ === 0) throw new Error('writer bug');
      return toPublic(d);
    };
    await device.client.publishAsync('meta/serial', 'SN-1');

    await expect.poll(() => first.ended()).toBe(true);
    expect(first.events.at(-1)).toMatchObject({ event: 'end', data: { code: 'INTERNAL' } });
    await expect.poll(() => second.events.some((e) => e.event === 'changed')).toBe(true);

    // The device that raised the event is still connected and heard.
    await device.client.publishAsync('ds/temp', '21.5');
    await expect
      .poll(() => second.events.find((e) => e.event === 'value')?.data)
      .toMatchObject({ name: 'temp', value: 21.5 });
    expect(device.client.connected).toBe(true);
    second.close();
    await device.client.endAsync();
  });
});
