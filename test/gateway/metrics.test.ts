/**
 * /metrics, scraped as Prometheus would: the series the operator needs are there, and they move
 * with traffic (connections, uplinks, downlinks, refusals, activations, HTTP, the store). Beyond
 * loopback it is off unless enabled, and then it needs its token.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { isTetherError } from '../../shared/errors.js';
import { connectDevice, createTemplate, mint } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

/** Every sample of the scrape: `name{labels}` → value. */
async function scrape(gw: TestGateway, token?: string): Promise<Map<string, number>> {
  const res = await fetch(
    `${gw.baseUrl}/metrics`,
    token ? { headers: { authorization: `Bearer ${token}` } } : {},
  );
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

const value = (samples: Map<string, number>, key: string) => samples.get(key) ?? 0;

describe('/metrics', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('exposes the gateway series, and they move with traffic', async () => {
    gw = await startTestGateway();
    const admin = await gw.login();
    const templateId = await createTemplate(gw, admin);
    const before = await scrape(gw);
    for (const name of [
      'tether_connected_devices',
      'tether_store_journal_bytes',
      'tether_store_writable',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect([...before.keys()], name).toContain(name);
    }
    expect(value(before, 'tether_store_writable')).toBe(1);

    // A device: connects, publishes, is refused a topic and a rate; a bad token is refused.
    const [minted] = await mint(gw, admin, templateId);
    const device = await connectDevice(gw.brokerUrl, minted!.token);
    await device.client.publishAsync('ds/temp', '21.5');
    await device.client.publishAsync('ds/temp', '22');
    await device.client.publishAsync('ds/nope', '1'); // not on the template: answered on diag
    await device.client.publishAsync('elsewhere/x', '1').catch(() => undefined);
    await mqtt
      .connectAsync(gw.brokerUrl, { username: 'device', password: 'x'.repeat(32), reconnectPeriod: 0 })
      .catch(() => undefined);
    const write = await gw.api(
      'POST',
      `/api/devices/${minted!.deviceId}/datastreams/temp`,
      { value: 19 },
      admin,
    );
    expect([200, 201, 404]).toContain(write.status);

    // A dynamic activation.
    const session = await gw.api<{ deviceId: string; token: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId },
      admin,
    );
    const pending = await connectDevice(gw.brokerUrl, session.body.token, { subscribe: false });
    await pending.client.publishAsync('info/mcu', JSON.stringify({ tmpl: templateId, ver: '1.0.0' }));

    await expect
      .poll(async () => value(await scrape(gw!), 'tether_activations_total{outcome="activated"}'))
      .toBe(1);
    const after = await scrape(gw);
    expect(value(after, 'tether_connected_devices')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'tether_uplinks_total{kind="ds"}')).toBeGreaterThanOrEqual(3);
    expect(value(after, 'tether_uplinks_total{kind="info-mcu"}')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'tether_downlinks_total{kind="diag"}')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'tether_refusals_total{where="connect",code="TOKEN_INVALID"}')).toBe(1);
    expect(
      value(after, 'tether_refusals_total{where="uplink",code="VALIDATION_FAILED"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(value(after, 'tether_provisioning_seconds_count')).toBe(1);
    expect(
      value(after, 'tether_http_requests_total{method="POST",route="/api/templates",status="201"}'),
    ).toBe(1);
    expect(
      value(
        after,
        'tether_http_requests_total{method="POST",route="/api/provisioning/sessions",status="201"}',
      ),
    ).toBe(1);
    expect(value(after, 'tether_store_write_seconds_count')).toBeGreaterThan(
      value(before, 'tether_store_write_seconds_count'),
    );
    expect(value(after, 'tether_store_journal_bytes')).toBeGreaterThan(
      value(before, 'tether_store_journal_bytes'),
    );
    // No raw URL (with its ids) becomes a label.
    expect([...after.keys()].some((k) => k.includes(minted!.deviceId))).toBe(false);
    await device.client.endAsync();
    await pending.client.endAsync();
  });

  it('is off beyond loopback unless enabled, and then answers only its token', async () => {
    gw = await startTestGateway({ http: { host: '0.0.0.0' } });
    expect((await fetch(`${gw.baseUrl}/metrics`)).status).toBe(404);
    await gw.stop();
    const token = 'a-metrics-token-of-some-length';
    gw = await startTestGateway({ http: { host: '0.0.0.0' }, metrics: { enabled: true, token } });
    expect((await fetch(`${gw.baseUrl}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${gw.baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}x` } });
    expect(wrong.status).toBe(401);
    expect([...(await scrape(gw, token)).keys()]).toContain('tether_connected_devices');
  });

  it('refuses metrics.enabled without a token long enough', () => {
    const error = (() => {
      try {
        return loadConfig({ env: {}, overrides: { metrics: { enabled: true, token: 'short' } } });
      } catch (e) {
        return e;
      }
    })();
    expect(isTetherError(error) && error.code).toBe('CONFIG_INVALID');
    expect((error as Error).message).toContain('metrics.token: needs 16 characters or more');
  });
});
