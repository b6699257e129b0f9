/**
 * A device that floods the broker faster than its uplinks are handled is paused (its socket is no
 * longer read) until the backlog drains, instead of queueing without bound and stalling the
 * gateway when the backlog is worked off. Nothing is lost: every message is handled in the end.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BACKLOG_HIGH } from '../../gateway/broker/device-broker.js';
import { UplinkHandler } from '../../gateway/devices/uplink-handler.js';
import { activeDevice, connectDevice, createTemplate } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('uplink backpressure', () => {
  let gw: TestGateway;
  let release: () => void = () => {};
  let handled = 0;

  beforeEach(async () => {
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const real = UplinkHandler.prototype.handle;
    vi.spyOn(UplinkHandler.prototype, 'handle').mockImplementation(async function (
      this: UplinkHandler,
      ...args
    ) {
      await gate; // handling is stuck until the test opens the gate
      handled++;
      return real.apply(this, args);
    });
    gw = await startTestGateway({ mqtt: { publishesPerSecond: 100_000, maxMessageBytes: 1024 } });
  });

  afterEach(async () => {
    release();
    vi.restoreAllMocks();
    await gw.stop();
  });

  it('stops reading a flooding device at the high-water mark and handles everything once it drains', async () => {
    const admin = await gw.login();
    const templateId = await createTemplate(gw, admin);
    const minted = await activeDevice(gw, admin, templateId);
    const device = await connectDevice(gw.brokerUrl, minted.token, { subscribe: false });
    const { broker } = gw.gateway.services;
    const total = 2_000;
    const payload = '1'.padEnd(900, ' '); // ~1.8 MB in all: many socket reads
    for (let i = 0; i < total; i++) device.client.publish('ds/temp', payload, { qos: 0 });

    // The backlog climbs to the mark and stays there: the rest waits in the socket.
    await expect
      .poll(() => broker.backlogOf(minted.deviceId), { timeout: 5_000 })
      .toBeGreaterThanOrEqual(BACKLOG_HIGH);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const held = broker.backlogOf(minted.deviceId);
    expect(held).toBeLessThan(total / 2);
    expect(handled).toBe(0);

    release();
    await expect.poll(() => handled, { timeout: 15_000 }).toBe(total);
    expect(broker.backlogOf(minted.deviceId)).toBe(0);
    await device.client.endAsync();
  });
});
