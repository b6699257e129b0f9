/**
 * The failure limiter's contract, run against every implementation: in memory (one node) and in
 * Redis (a cluster; test/cluster/redis-failure-limiter.test.ts).
 */
import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../shared/clock.js';
import type { TetherError } from '../../shared/errors.js';
import type { FailureLimiter, FailureLimiterFactory, Lockout } from '../../shared/failure-limiter.js';

export const blocked = async (limiter: FailureLimiter, keys: string[]): Promise<boolean> => {
  try {
    await limiter.check(keys);
    return false;
  } catch (error) {
    expect((error as TetherError).code).toBe('RATE_LIMITED');
    return true;
  }
};

const OPTIONS = { maxFailures: 5, blockMs: 10 * 60_000, message: (m: number) => `retry in ${m} minute(s)` };

/** `make` gives a limiter factory on a fresh backing state. */
export function failureLimiterContract(
  name: string,
  make: (clock: ManualClock) => FailureLimiterFactory,
): void {
  describe(`failure limiter contract: ${name}`, () => {
    it('blocks an account after 5 failures from any addresses, and an address after 5 failures on any accounts', async () => {
      const clock = new ManualClock(Date.now());
      const limiter = make(clock)('login', OPTIONS);
      for (let i = 0; i < 5; i++) await limiter.fail([`ip:10.0.0.${i}`, 'account:a@example.com']);
      expect(await blocked(limiter, ['ip:10.9.9.9', 'account:a@example.com'])).toBe(true);
      expect(await blocked(limiter, ['ip:10.0.0.1', 'account:b@example.com'])).toBe(false);
      for (let i = 0; i < 5; i++) await limiter.fail(['ip:192.0.2.1', `account:u${i}@example.com`]);
      expect(await blocked(limiter, ['ip:192.0.2.1', 'account:fresh@example.com'])).toBe(true);
      expect(await blocked(limiter, ['ip:192.0.2.2', 'account:fresh@example.com'])).toBe(false);
    });

    it('forgets failures older than the window and lifts a block after it', async () => {
      const clock = new ManualClock(Date.now());
      const limiter = make(clock)('login', OPTIONS);
      for (let i = 0; i < 4; i++) await limiter.fail(['account:x']);
      await clock.advance(11 * 60_000);
      await limiter.fail(['account:x']);
      expect(await blocked(limiter, ['account:x'])).toBe(false);
      for (let i = 0; i < 4; i++) await limiter.fail(['account:x']);
      expect(await blocked(limiter, ['account:x'])).toBe(true);
      await clock.advance(10 * 60_000);
      expect(await blocked(limiter, ['account:x'])).toBe(false);
    });

    it('says how long is left, and a success forgets the failures', async () => {
      const clock = new ManualClock(Date.now());
      const limiter = make(clock)('login', OPTIONS);
      for (let i = 0; i < 5; i++) await limiter.fail(['account:y']);
      await clock.advance(4 * 60_000);
      const error = await limiter.check(['account:y']).then(
        () => undefined,
        (e: TetherError) => e,
      );
      expect(error?.details).toEqual({ retryAfterSeconds: 360 });
      expect(error?.message).toBe('retry in 6 minute(s)');
      await limiter.succeed(['account:y']);
      expect(await blocked(limiter, ['account:y'])).toBe(false);
    });

    it('keeps kinds apart', async () => {
      const clock = new ManualClock(Date.now());
      const factory = make(clock);
      const login = factory('login', OPTIONS);
      const claim = factory('claim', OPTIONS);
      for (let i = 0; i < 5; i++) await login.fail(['ip:203.0.113.7']);
      expect(await blocked(login, ['ip:203.0.113.7'])).toBe(true);
      expect(await blocked(claim, ['ip:203.0.113.7'])).toBe(false);
    });

    it('reports each lockout once, when it ends, with its failures and the attempts it refused', async () => {
      const clock = new ManualClock(Date.now());
      const reports: Lockout[] = [];
      const limiter = make(clock)('login', { ...OPTIONS, onLockout: (l) => reports.push(l) });
      const start = clock.now();
      for (let i = 0; i < 5; i++) await limiter.fail(['account:z', 'ip:192.0.2.9']);
      for (let i = 0; i < 7; i++) expect(await blocked(limiter, ['account:z'])).toBe(true);
      await clock.advance(5 * 60_000);
      expect(reports).toEqual([]);
      await clock.advance(5 * 60_000);
      await vi.waitFor(() => expect(reports).toHaveLength(2));
      const account = reports.find((r) => r.key === 'account:z');
      expect(account).toEqual({
        key: 'account:z',
        failures: 5,
        blockedAttempts: 7,
        startedAt: start,
        endsAt: start + OPTIONS.blockMs,
      });
      expect(reports.find((r) => r.key === 'ip:192.0.2.9')?.blockedAttempts).toBe(0);
      // The next lockout of the same key is a report of its own; one still running is reported on close.
      await clock.advance(60_000);
      for (let i = 0; i < 5; i++) await limiter.fail(['account:z']);
      expect(await blocked(limiter, ['account:z'])).toBe(true);
      await clock.advance(60_000);
      await limiter.close?.();
      await vi.waitFor(() => expect(reports).toHaveLength(3));
      expect(reports[2]).toMatchObject({ key: 'account:z', failures: 5, blockedAttempts: 1 });
      await clock.advance(OPTIONS.blockMs);
      expect(reports).toHaveLength(3);
    });

    it('takes hostile keys as plain strings', async () => {
      const clock = new ManualClock(Date.now());
      const limiter = make(clock)('login', { ...OPTIONS, maxFailures: 1 });
      const keys = ['__proto__', 'constructor', 'toString', 'account:\u0000\r\n*', 'x'.repeat(5000)];
      for (const key of keys) {
        expect(await blocked(limiter, [key])).toBe(false);
        await limiter.fail([key]);
        expect(await blocked(limiter, [key])).toBe(true);
      }
      expect(await blocked(limiter, ['hasOwnProperty'])).toBe(false);
    });
  });
}
