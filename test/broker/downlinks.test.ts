/**
 * How a downlink reaches a device: only on a subscription of its own that matches it (diag and
 * redirect without one), in the order the gateway sent them whatever their QoS, any size and any
 * UTF-8 in one packet, and a connection that ends while commands are sent costs nothing but
 * those commands.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activeDevice, connectDevice, createTemplate } from '../devices/device-fixtures.js';
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
});
