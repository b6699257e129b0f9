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

    it('a lockout is one audit event with the attempts it refused, however many there were', async () => {
      const clock = new ManualClock(Date.now());
      gw = await startTestGateway({}, { clock });
      const admin = await gw.login();
      const attempt = (password: string) =>
        gw.api('POST', '/api/auth/login', { email: ADMIN.email, password });
      for (let i = 0; i < 5; i++) await attempt('wrong password!');
      for (let i = 0; i < 40; i++) expect((await attempt('wrong password!')).status).toBe(429);
      const before = await gw.gateway.services.store.audit.list({ limit: 1000 });
      // Nothing per attempt: the attacker does not decide how fast the log grows.
      expect(before.filter((e) => e.action.startsWith('auth.') && e.action !== 'auth.login')).toEqual([]);
      await clock.advance(10 * 60_000);
      const events = await gw.api<{
        events: Array<{ action: string; targetId: string; details: Record<string, unknown> }>;
      }>('GET', '/api/audit?limit=1000', undefined, admin);
      const lockouts = events.body.events.filter((e) => e.action === 'auth.lockout');
      // One for the account, one for the address it came from.
      expect(lockouts.map((e) => e.details.on).sort()).toEqual(['account', 'address']);
      for (const e of lockouts) expect(e.details).toMatchObject({ failures: 5, blockedAttempts: 40 });
      const me = (await gw.api<{ user: { id: string } }>('GET', '/api/me', undefined, admin)).body.user.id;
      expect(lockouts.find((e) => e.details.on === 'account')?.targetId).toBe(me);
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
