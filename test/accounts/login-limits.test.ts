import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../shared/clock.js';
import type { ConfigInput } from '../../shared/config.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { SKIP_REDIS, startRedis, type TestRedis } from '../support/redis-server.js';

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

    it('a lockout is one audit event with the attempts it refused, however many there were', () =>
      lockoutIsOneEvent({}, (started) => {
        gw = started;
      }));

    describe.skipIf(SKIP_REDIS)('with the limiter shared through Redis (a cluster)', () => {
      let redis: TestRedis;
      beforeAll(async () => {
        redis = await startRedis();
      });
      afterAll(async () => {
        await redis?.stop();
      });

      it('a lockout is still one audit event with the attempts it refused', () =>
        lockoutIsOneEvent({ cluster: { redisUrl: redis.url } }, (started) => {
          gw = started;
        }));
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

/** One lockout, many refused attempts: one audit event each for the account and the address. */
async function lockoutIsOneEvent(overrides: ConfigInput, keep: (gw: TestGateway) => void): Promise<void> {
  const clock = new ManualClock(Date.now());
  const gw = await startTestGateway(overrides, { clock });
  keep(gw);
  const admin = await gw.login();
  const attempt = (password: string) => gw.api('POST', '/api/auth/login', { email: ADMIN.email, password });
  for (let i = 0; i < 5; i++) await attempt('wrong password!');
  for (let i = 0; i < 40; i++) expect((await attempt('wrong password!')).status).toBe(429);
  const before = await gw.gateway.services.store.audit.list({ limit: 1000 });
  // Nothing per attempt: the attacker does not decide how fast the log grows.
  expect(before.filter((e) => e.action.startsWith('auth.') && e.action !== 'auth.login')).toEqual([]);
  await clock.advance(10 * 60_000);
  const lockouts = await vi.waitFor(async () => {
    const events = await gw.api<{
      events: Array<{ action: string; targetId: string; details: Record<string, unknown> }>;
    }>('GET', '/api/audit?limit=1000', undefined, admin);
    const found = events.body.events.filter((e) => e.action === 'auth.lockout');
    // One for the account, one for the address it came from.
    expect(found.map((e) => e.details.on).sort()).toEqual(['account', 'address']);
    return found;
  });
  for (const e of lockouts) expect(e.details).toMatchObject({ failures: 5, blockedAttempts: 40 });
  const me = (await gw.api<{ user: { id: string } }>('GET', '/api/me', undefined, admin)).body.user.id;
  expect(lockouts.find((e) => e.details.on === 'account')?.targetId).toBe(me);
}
