/**
 * The Redis failure limiter: the same contract as the one in memory, and a block made through one
 * node's Redis link holds for another node's.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedisFailureLimiter } from '../../gateway/cluster/redis-failure-limiter.js';
import { RedisLink } from '../../gateway/cluster/redis-link.js';
import { ManualClock } from '../../shared/clock.js';
import type { Lockout } from '../../shared/failure-limiter.js';
import { silentLogger } from '../../shared/logger.js';
import { blocked, failureLimiterContract } from '../shared/failure-limiter-contract.js';
import { SKIP_REDIS, startRedis, type TestRedis } from '../support/redis-server.js';

describe.skipIf(SKIP_REDIS)('Redis failure limiter', () => {
  let redis: TestRedis;
  let nodeA: RedisLink;
  let nodeB: RedisLink;

  beforeAll(async () => {
    redis = await startRedis();
    nodeA = new RedisLink({ url: redis.url, logger: silentLogger() });
    nodeB = new RedisLink({ url: redis.url, logger: silentLogger() });
    await nodeA.start();
    await nodeB.start();
  });
  afterAll(async () => {
    await nodeA?.stop();
    await nodeB?.stop();
    await redis?.stop();
  });
  beforeEach(async () => {
    await nodeA.redis.flushall();
  });

  failureLimiterContract('redis', (clock) => RedisFailureLimiter.factory(nodeA, clock));

  it('a key blocked through one node is blocked on another, and a success on either forgets it', async () => {
    const clock = new ManualClock(Date.now());
    const options = { maxFailures: 3, blockMs: 60_000, message: () => 'blocked' };
    const onA = RedisFailureLimiter.factory(nodeA, clock)('login', options);
    const onB = RedisFailureLimiter.factory(nodeB, clock)('login', options);
    await onA.fail(['account:a']);
    await onB.fail(['account:a']);
    expect(await blocked(onA, ['account:a'])).toBe(false);
    await onA.fail(['account:a']);
    expect(await blocked(onB, ['account:a'])).toBe(true);
    await onB.succeed(['account:a']);
    expect(await blocked(onA, ['account:a'])).toBe(false);
  });

  it('a lockout spread over two nodes is reported once, with the attempts both refused', async () => {
    const clock = new ManualClock(Date.now());
    const reports: Array<{ node: string; lockout: Lockout }> = [];
    const options = (node: string) => ({
      maxFailures: 5,
      blockMs: 60_000,
      message: () => 'blocked',
      onLockout: (lockout: Lockout) => reports.push({ node, lockout }),
    });
    const onA = RedisFailureLimiter.factory(nodeA, clock)('login', options('a'));
    const onB = RedisFailureLimiter.factory(nodeB, clock)('login', options('b'));
    for (let i = 0; i < 3; i++) await onA.fail(['account:spread']);
    for (let i = 0; i < 2; i++) await onB.fail(['account:spread']);
    for (let i = 0; i < 4; i++) expect(await blocked(onA, ['account:spread'])).toBe(true);
    for (let i = 0; i < 3; i++) expect(await blocked(onB, ['account:spread'])).toBe(true);
    await clock.advance(60_000);
    await vi.waitFor(() => expect(reports).toHaveLength(1));
    expect(reports[0]).toMatchObject({
      node: 'b',
      lockout: { key: 'account:spread', failures: 5, blockedAttempts: 7 },
    });
    await onA.close?.();
    await onB.close?.();
    expect(reports).toHaveLength(1);
  });

  it('writes no address or email into Redis, and every key expires', async () => {
    const clock = new ManualClock(Date.now());
    const limiter = RedisFailureLimiter.factory(nodeA, clock)('login', {
      maxFailures: 5,
      blockMs: 60_000,
      message: () => 'blocked',
    });
    await limiter.fail(['ip:198.51.100.9', 'account:someone@example.com']);
    const keys = await nodeA.redis.keys('*');
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(key).toMatch(/^tether:limit:login:[0-9a-f]{40}$/);
      expect(await nodeA.redis.pttl(key)).toBeGreaterThan(0);
      expect(JSON.stringify(await nodeA.redis.hgetall(key))).not.toMatch(/example|198\.51/);
    }
  });

  it('without Redis, refuses with CLUSTER_UNAVAILABLE instead of letting guesses through', async () => {
    const lost = new RedisLink({ url: redis.url, logger: silentLogger(), commandTimeoutMs: 200 });
    await lost.start();
    const limiter = RedisFailureLimiter.factory(lost, new ManualClock())('login', {
      maxFailures: 5,
      blockMs: 60_000,
      message: () => 'blocked',
    });
    await lost.redis.client('KILL', 'SKIPME', 'no');
    lost.redis.disconnect(false);
    await expect(limiter.check(['account:z'])).rejects.toMatchObject({ code: 'CLUSTER_UNAVAILABLE' });
    await lost.stop();
  });

  it('a Redis that is not there fails the start with CLUSTER_UNAVAILABLE, naming it without a password', async () => {
    const link = new RedisLink({ url: 'redis://:hunter2@127.0.0.1:1', logger: silentLogger() });
    const error = await link.start().then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(error?.code).toBe('CLUSTER_UNAVAILABLE');
    expect(error?.message).toContain('redis://127.0.0.1:1');
    expect(error?.message).not.toContain('hunter2');
    await link.stop();
  });
});
