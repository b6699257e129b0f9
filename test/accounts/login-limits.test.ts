import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('login rate limits', () => {
  describe('over HTTP', () => {
    let gw: TestGateway;
    afterEach(async () => {
      await gw.stop();
    });

    it('5 wrong passwords → 429 with Retry-After and a message saying when; the right password works after 10 minutes', async () => {
      const clock = new ManualClock(Date.now());
      gw = await startTestGateway({}, { clock });
      const attempt = (password: string) =>
        fetch(`${gw.baseUrl}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: ADMIN.email, password }),
        });
      for (let i = 0; i < 5; i++) expect((await attempt('wrong password!')).status).toBe(401);
      const refused = await attempt(ADMIN.password);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('600');
      const body = (await refused.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('RATE_LIMITED');
      expect(body.error.message).toContain('10 minute');
      await clock.advance(9 * 60_000);
      expect((await attempt(ADMIN.password)).status).toBe(429);
      await clock.advance(60_000);
      expect((await attempt(ADMIN.password)).status).toBe(200);
    });

    it('the limits come from the config', async () => {
      gw = await startTestGateway({ auth: { loginMaxFailures: 2, loginBlockMinutes: 1 } });
      for (let i = 0; i < 2; i++)
        await gw.api('POST', '/api/auth/login', { email: ADMIN.email, password: 'wrong password!' });
      const res = await gw.api<{ error: { code: string } }>('POST', '/api/auth/login', ADMIN);
      expect(res.body.error.code).toBe('RATE_LIMITED');
    });
  });
});
