/**
 * The failure limiter of a cluster: the counts live in Redis, so five wrong passwords spread over
 * three nodes block the account on all of them. One round trip per check and per failure (a Lua
 * script does the read-modify-write atomically); a login or a claim already costs far more.
 * Times come from the gateway's clock, so every node must keep its clock in step (NTP); Redis'
 * own expiry only sweeps keys whose window and block are over. Keys are hashed: no address or
 * email is written to Redis.
 */
import type { Clock, TimerHandle } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import {
  blockedError,
  type FailureLimiter,
  type FailureLimiterFactory,
  type FailureLimiterOptions,
} from '../../shared/failure-limiter.js';
import { sha256Hex } from '../../shared/ids.js';
import { KEY_PREFIX, type LuaScript, luaScript, type RedisLink } from './redis-link.js';

/**
 * KEYS: one hash per limiter key. ARGV: now, maxFailures, blockMs, ttlMs. Returns the (1-based)
 * positions of the keys whose lockout began with this failure: only the node that saw it begin
 * reports it, so a lockout is reported once in the whole cluster.
 */
const FAIL = luaScript(`
local now, max, block, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local started = {}
for i, key in ipairs(KEYS) do
  local f = redis.call('HMGET', key, 'n', 'first', 'until')
  local n, first, blocked = tonumber(f[1]) or 0, tonumber(f[2]) or 0, tonumber(f[3]) or 0
  if n == 0 or (blocked <= now and now - first > block) then
    n, first, blocked = 0, now, 0
  end
  n = n + 1
  if n >= max and blocked <= now then
    blocked = now + block
    redis.call('HSET', key, 'refused', 0)
    table.insert(started, i)
  end
  redis.call('HSET', key, 'n', n, 'first', first, 'until', blocked)
  redis.call('PEXPIRE', key, ttl)
end
return started
`);

/**
 * KEYS: one hash per limiter key. ARGV: now. Returns the latest blocked-until time among them (0:
 * none); counts the refused attempt on every key that is blocked, whichever node refused it.
 */
const BLOCKED_UNTIL = luaScript(`
local now, latest = tonumber(ARGV[1]), 0
for _, key in ipairs(KEYS) do
  local t = tonumber(redis.call('HGET', key, 'until')) or 0
  if t > now then redis.call('HINCRBY', key, 'refused', 1) end
  if t > latest then latest = t end
end
return latest
`);

/** Slack on Redis' expiry beyond the window, so clock skew between nodes never drops a block early. */
const TTL_SLACK_MS = 60_000;

/** A lockout this node saw begin, reported by it when it ends. */
interface PendingLockout {
  timer: TimerHandle;
  startedAt: number;
  endsAt: number;
}

export class RedisFailureLimiter implements FailureLimiter {
  readonly #pending = new Map<string, PendingLockout>();

  constructor(
    private readonly link: RedisLink,
    private readonly clock: Clock,
    private readonly kind: string,
    private readonly options: FailureLimiterOptions,
  ) {}

  static factory =
    (link: RedisLink, clock: Clock): FailureLimiterFactory =>
    (kind, options) =>
      new RedisFailureLimiter(link, clock, kind, options);

  async check(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const now = this.clock.now();
    const until = Number(await this.#run(BLOCKED_UNTIL, keys, [now]));
    if (until > now) throw blockedError(this.options, until, now);
  }

  async fail(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const { maxFailures, blockMs } = this.options;
    const now = this.clock.now();
    const started = (await this.#run(FAIL, keys, [now, maxFailures, blockMs, blockMs + TTL_SLACK_MS])) as
      | number[]
      | null;
    if (!this.options.onLockout) return;
    for (const position of started ?? []) {
      const key = keys[position - 1];
      if (key === undefined) continue;
      const previous = this.#pending.get(key);
      if (previous) this.clock.clearTimeout(previous.timer);
      const timer = this.clock.setTimeout(() => {
        this.#pending.delete(key);
        void this.#report(key, now, now + blockMs);
      }, blockMs);
      this.#pending.set(key, { timer, startedAt: now, endsAt: now + blockMs });
    }
  }

  /** Reports the lockouts this node saw begin that are still running, with what they refused so far. */
  async close(): Promise<void> {
    const now = this.clock.now();
    const pending = [...this.#pending];
    this.#pending.clear();
    await Promise.all(
      pending.map(([key, lockout]) => {
        this.clock.clearTimeout(lockout.timer);
        return this.#report(key, lockout.startedAt, Math.min(now, lockout.endsAt));
      }),
    );
  }

  /** One report per lockout: the failures and refused attempts every node counted in Redis. */
  async #report(key: string, startedAt: number, endsAt: number): Promise<void> {
    let failures = this.options.maxFailures;
    let blockedAttempts = 0;
    try {
      const [n, refused] = await this.link.redis.hmget(this.#key(key), 'n', 'refused');
      failures = Number(n ?? failures) || failures;
      blockedAttempts = Number(refused ?? 0) || 0;
    } catch {
      // Redis gone: the lockout is still reported, with the attempts it refused unknown (0).
    }
    this.options.onLockout?.({ key, failures, blockedAttempts, startedAt, endsAt });
  }

  async succeed(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#guard(() => this.link.redis.del(...keys.map((k) => this.#key(k))));
  }

  #key(key: string): string {
    return `${KEY_PREFIX}limit:${this.kind}:${sha256Hex(key).slice(0, 40)}`;
  }

  #run(script: LuaScript, keys: readonly string[], args: number[]): Promise<unknown> {
    return this.#guard(() =>
      this.link.run(
        script,
        keys.map((k) => this.#key(k)),
        args,
      ),
    );
  }

  /** Without Redis the limiter cannot say yes: refuse with a code rather than let guesses through. */
  async #guard<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new TetherError(
        'CLUSTER_UNAVAILABLE',
        `The cluster's Redis (${this.link.address}) is not reachable; try again shortly.`,
        { cause: error },
      );
    }
  }
}
