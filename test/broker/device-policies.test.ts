/**
 * What the gateway enforces beyond parsing topics: the device's announced receive buffer, its
 * template on every connection (active and static-token devices too), and a re-provision that
 * tells the device to reconfigure while its old token still works.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activeDevice, connectDevice, createTemplate, mint, sleep } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('device policies', () => {
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

  it('refuses at the API a downlink larger than the rxbuff the device announced, and keeps nothing', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    await dev.client.publishAsync('info/mcu', JSON.stringify({ tmpl: templateId, rxbuff: 128 }));
    await sleep(100);
    const write = (value: string) =>
      gw.api<{ error?: { code: string; message: string } }>(
        'PUT',
        `/api/devices/${minted.deviceId}/datastreams/label`,
        { value },
        admin,
      );
    const big = await write('x'.repeat(200));
    expect(big.status).toBe(413);
    expect(big.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(big.body.error?.message).toMatch(/receive buffer of 128 bytes/);
    const shown = await gw.api<{ values: Record<string, unknown> }>(
      'GET',
      `/api/devices/${minted.deviceId}`,
      undefined,
      admin,
    );
    expect(shown.body.values.label).toBeUndefined();
    expect((await write('short')).status).toBe(200);
    expect(await dev.next('downlink/ds/label')).toBe('short');
    await dev.client.endAsync();
  });

  it.each(['active', 'static-token'] as const)(
    'refuses an %s device whose info/mcu names another template, with a reason, then closes',
    async (kind) => {
      const minted =
        kind === 'active'
          ? await activeDevice(gw, admin, templateId)
          : (await mint(gw, admin, templateId))[0]!;
      const dev = await connectDevice(gw.brokerUrl, minted.token);
      await dev.client.publishAsync('info/mcu', JSON.stringify({ tmpl: 'TMPLother000', ver: '1.0' }));
      const diag = JSON.parse(await dev.next('downlink/diag'));
      expect(diag.code).toBe('TEMPLATE_MISMATCH');
      expect(diag.message).toMatch(/TMPLother000.*Flash the firmware of the right product/);
      await dev.closed;
      // Firmware that names no template is let be.
      const again = await connectDevice(gw.brokerUrl, minted.token);
      await again.client.publishAsync('info/mcu', JSON.stringify({ ver: '1.0' }));
      await again.client.publishAsync('ds/temp', '20');
      await sleep(100);
      expect(again.inbox.filter((m) => m.topic === 'downlink/diag')).toEqual([]);
      expect(again.client.connected).toBe(true);
      await again.client.endAsync();
    },
  );

  it('re-provisioning tells a connected device to reconfigure before its old token stops working', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(gw.brokerUrl, minted.token, { subscribe: false });
    // Subscribed at QoS 0, as Blynk's samples do: the reconfigure still comes at QoS 1.
    await dev.client.subscribeAsync('downlink/#', { qos: 0 });
    const order: string[] = [];
    dev.client.on('message', (topic) => order.push(topic));
    dev.client.on('close', () => order.push('closed'));
    const res = await gw.api<{ token: string; wasOnline: boolean }>(
      'POST',
      `/api/devices/${minted.deviceId}/reprovision`,
      undefined,
      admin,
    );
    expect(res.status).toBe(200);
    expect(res.body.wasOnline).toBe(true);
    await dev.closed;
    expect(order).toEqual(['downlink/reconfigure', 'closed']);
    const audit = await gw.api<{ events: Array<{ action: string; details: Record<string, unknown> }> }>(
      'GET',
      `/api/audit?targetId=${minted.deviceId}`,
      undefined,
      admin,
    );
    // The device acknowledged the reconfigure (PUBACK) before the token changed.
    expect(audit.body.events.find((e) => e.action === 'device.reprovisioned')?.details).toMatchObject({
      reconfigureAcked: true,
    });
  });

  it('answers a ping nobody acknowledges as unanswered, and an offline device as offline', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const offline = await gw.api('POST', `/api/devices/${minted.deviceId}/ping`, undefined, admin);
    expect(offline.body).toEqual({ online: false, answered: false });
    // A client that never sends PUBACK: mqtt.js acknowledges automatically, so hold its handler.
    const dev = await connectDevice(gw.brokerUrl, minted.token);
    (dev.client as unknown as { handleMessage: (p: unknown, cb: () => void) => void }).handleMessage =
      () => {};
    const silent = await gw.api<{ online: boolean; answered: boolean }>(
      'POST',
      `/api/devices/${minted.deviceId}/ping?timeoutMs=300`,
      undefined,
      admin,
    );
    expect(silent.body).toEqual({ online: true, answered: false });
    await dev.client.endAsync(true);
  });
});
