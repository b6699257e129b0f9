/**
 * A device's publish ends at the gateway: accepted or refused (over the size or rate limit), with
 * or without the retain flag, it is never routed to another client and never becomes retained
 * broker state.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activeDevice, connectDevice, createTemplate, sleep } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('device publishes', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;

  beforeEach(async () => {
    gw = await startTestGateway({ mqtt: { publishesPerSecond: 5, maxMessageBytes: 256 } });
    admin = await gw.login();
    templateId = await createTemplate(gw, admin);
  });
  afterEach(async () => {
    await gw.stop();
  });

  it('never become retained state, accepted or refused', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    const broker = gw.gateway.services.broker;
    // Accepted, retained flag set.
    await dev.client.publishAsync('ds/temp', '21', { retain: true });
    // Over the size limit, retained: answered on diag, dropped.
    await dev.client.publishAsync('ds/label', 'x'.repeat(300), { retain: true, qos: 1 });
    expect(JSON.parse(await dev.next('downlink/diag')).message).toMatch(/over the limit/);
    await sleep(1100);
    // Over the rate limit, retained.
    for (let i = 0; i < 6; i++) dev.client.publish(`ds/label`, `r${i}`, { retain: true });
    expect(JSON.parse(await dev.next('downlink/diag')).message).toMatch(/messages per second/);
    await sleep(50);
    expect(await broker.retainedMessages()).toBe(0);
    // A new subscriber of the device's own downlinks gets nothing retained either.
    await dev.client.endAsync();
    const again = await connectDevice(gw.brokerUrl, minted.token);
    await sleep(100);
    expect(again.inbox).toEqual([]);
    await again.client.endAsync();
  });
});
