import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.js';
import type { TetherError } from '../../shared/errors.js';
import { FailureLimiter } from '../../shared/failure-limiter.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

const blocked = (limiter: FailureLimiter, keys: string[]) => {
  try {
    limiter.check(keys);
    return false;
  } catch (error) {
    expect((error as TetherError).code).toBe('RATE_LIMITED');
    return true;
  }
};

describe('login rate limits', () => {
  it('blocks an account after 5 failures from any addresses, and an address after 5 failures on any accounts', () => {
    const clock = new ManualClock();
    const limiter = new FailureLimiter(clock, {
      maxFailures: 5,
      blockMs: 10 * 60_000,
      message: (m) => `retry in ${m}`,
    });
    for (let i = 0; i < 5; i++) limiter.fail([`ip:10.0.0.${i}`, 'account:a@example.com']);
    expect(blocked(limiter, ['ip:10.9.9.9', 'account:a@example.com'])).toBe(true);
    expect(blocked(limiter, ['ip:10.0.0.1', 'account:b@example.com'])).toBe(false);
    for (let i = 0; i < 5; i++) limiter.fail(['ip:192.0.2.1', `account:u${i}@example.com`]);
    expect(blocked(limiter, ['ip:192.0.2.1', 'account:fresh@example.com'])).toBe(true);
    expect(blocked(limiter, ['ip:192.0.2.2', 'account:fresh@example.com'])).toBe(false);
  });

  it('forgets failures older than the window and lifts a block after it', async () => {
    const clock = new ManualClock();
    const limiter = new FailureLimiter(clock, {
      maxFailures: 5,
      blockMs: 10 * 60_000,
      message: (m) => `retry in ${m}`,
    });
    for (let i = 0; i < 4; i++) limiter.fail(['account:x']);
    await clock.advance(11 * 60_000);
    limiter.fail(['account:x']);
    expect(blocked(limiter, ['account:x'])).toBe(false);
    for (let i = 0; i < 4; i++) limiter.fail(['account:x']);
    expect(blocked(limiter, ['account:x'])).toBe(true);
    await clock.advance(10 * 60_000);
    expect(blocked(limiter, ['account:x'])).toBe(false);
  });

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
