/**
 * A product's minimum provisioning security holds at the gateway, not only in Tether's own
 * companion: the device reports the level of its provisioning session in info/mcu (`provsec`),
 * and a dynamic activation below the template's minimum is refused with a reason the companion
 * receives. Firmware that reports nothing is let in and recorded as "security unknown".
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectDevice, mint } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('minimum provisioning security', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;

  beforeEach(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    const res = await gw.api<{ id: string }>(
      'POST',
      '/api/templates',
      { name: 'Lock', minSecurity: 2, datastreams: [{ name: 'open', type: 'int', min: 0, max: 1 }] },
      admin,
    );
    templateId = res.body.id;
  });
  afterEach(async () => {
    await gw.stop();
  });

  const session = async () =>
    (
      await gw.api<{ deviceId: string; token: string }>(
        'POST',
        '/api/provisioning/sessions',
        { templateId },
        admin,
      )
    ).body;
  const device = async (id: string) =>
    (await gw.api<Record<string, unknown>>('GET', `/api/devices/${id}`, undefined, admin)).body;

  it('refuses a device provisioned below the product minimum, with a reason for the companion', async () => {
    const s = await session();
    const dev = await connectDevice(gw.brokerUrl, s.token);
    await dev.client.publishAsync('info/mcu', JSON.stringify({ tmpl: templateId, provsec: 0 }));
    const diag = JSON.parse(await dev.next('downlink/diag')) as { code: string; message: string };
    expect(diag.code).toBe('SECURITY_MISMATCH');
    await dev.closed;
    const outcome = await gw.api<{ state: string; code: string; message: string }>(
      'GET',
      `/api/provisioning/sessions/${s.deviceId}`,
      undefined,
      admin,
    );
    expect(outcome.body).toMatchObject({ state: 'failed', code: 'SECURITY_MISMATCH' });
    expect(outcome.body.message).toMatch(/security 0.*requires at least security 2/);
    expect((await device(s.deviceId)).status).toBe('pending');
  });

  it('records the level a device reports, and "unknown" when it reports none, on the device and in the audit', async () => {
    const reported = await session();
    const a = await connectDevice(gw.brokerUrl, reported.token);
    await a.client.publishAsync('info/mcu', JSON.stringify({ tmpl: templateId, provsec: 2 }));
    await expect.poll(async () => (await device(reported.deviceId)).status).toBe('active');
    expect((await device(reported.deviceId)).provisioningSecurity).toBe(2);

    // Stock Blynk firmware: no provsec.
    const stock = await session();
    const b = await connectDevice(gw.brokerUrl, stock.token);
    await b.client.publishAsync('info/mcu', JSON.stringify({ tmpl: templateId, ver: '1.0.0' }));
    await expect.poll(async () => (await device(stock.deviceId)).status).toBe('active');
    expect((await device(stock.deviceId)).provisioningSecurity).toBe('unknown');
    const audit = await gw.api<{ events: Array<{ action: string; details?: Record<string, unknown> }> }>(
      'GET',
      `/api/audit?targetId=${stock.deviceId}`,
      undefined,
      admin,
    );
    const activated = audit.body.events.find((e) => e.action === 'device.activated');
    expect(activated?.details).toMatchObject({ provisioningSecurity: 'unknown' });
    await a.client.endAsync();
    await b.client.endAsync();
  });

  it('does not apply to static-token devices, which are not provisioned this way', async () => {
    const [minted] = await mint(gw, admin, templateId);
    await gw.api('POST', '/api/claims', { claimCode: minted!.claimCode }, admin);
    const dev = await connectDevice(gw.brokerUrl, minted!.token);
    await dev.client.publishAsync('info/mcu', JSON.stringify({ tmpl: templateId, provsec: 0 }));
    await dev.client.publishAsync('ds/open', '1');
    await expect
      .poll(async () => ((await device(minted!.deviceId)).values as Record<string, unknown>).open)
      .toBeTruthy();
    expect(dev.client.connected).toBe(true);
    expect((await device(minted!.deviceId)).provisioningSecurity).toBeUndefined();
    await dev.client.endAsync();
  });
});
