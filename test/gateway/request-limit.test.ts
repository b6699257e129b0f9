/** The general per-IP request limit on the HTTP API: a coded 429 in the envelope, per address. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('request limit per IP', () => {
  let gw: TestGateway;
  let token: string;
  beforeAll(async () => {
    gw = await startTestGateway({ http: { requestsPerMinute: 20 } });
    token = await gw.login();
  });
  afterAll(async () => {
    await gw.stop();
  });

  const get = (url: string, remoteAddress: string) =>
    gw.gateway.http.inject({
      method: 'GET',
      url,
      remoteAddress,
      headers: { authorization: `Bearer ${token}` },
    });

  it('answers 429 RATE_LIMITED with Retry-After past the limit; other addresses and health checks go on', async () => {
    for (let i = 0; i < 20; i++) expect((await get('/api/me', '198.51.100.1')).statusCode).toBe(200);
    const refused = await get('/api/me', '198.51.100.1');
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: expect.stringMatching(
          /^Too many requests from your address: at most 20 a minute\. Try again in \d+ s\.$/,
        ),
        details: { retryAfterSeconds: expect.any(Number), limit: 20 },
      },
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Anonymous requests count too: the limit is the address's, not the account's.
    expect(
      (
        await gw.gateway.http.inject({
          method: 'POST',
          url: '/api/auth/login',
          remoteAddress: '198.51.100.1',
          payload: {},
        })
      ).statusCode,
    ).toBe(429);
    expect((await get('/api/me', '198.51.100.2')).statusCode).toBe(200);
    expect((await get('/healthz', '198.51.100.1')).statusCode).toBe(200);
  });
});
