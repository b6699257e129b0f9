/**
 * Counting failures per key (an address, an account, a user) and blocking a key that fails too
 * often: logins (as Blynk: 5 failures → 10 minutes), claim-code guesses and mail requests use it.
 * A window starts at a key's first failure; once it has passed and the key is not blocked,
 * counting starts over.
 *
 * Two implementations with one contract (test/shared/failure-limiter.contract.ts): in memory for
 * one node (a restart forgets, which is acceptable for a limiter), and in Redis for a cluster
 * (gateway/cluster/redis-failure-limiter.ts), so a block on one node holds on every node.
 */
import type { Clock, TimerHandle } from './clock.js';
import { TetherError } from './errors.js';

export interface FailureLimiterOptions {
  maxFailures: number;
  /** How long a block lasts; also the window failures are counted in. */
  blockMs: number;
  /** The message of the RATE_LIMITED error, given the whole minutes left. */
  message: (retryAfterMinutes: number) => string;
  /** Keys remembered at most (in memory); past this, expired entries are pruned. */
  maxKeys?: number;
  /**
   * Called once per lockout, when it ends, with how many attempts it refused: one record per
   * lockout, however hard someone keeps trying (so a record of it cannot be made to grow fast).
   */
  onLockout?: (lockout: Lockout) => void;
}

/** One block of one key, reported once, when it ends (or when the limiter closes). */
export interface Lockout {
  key: string;
  failures: number;
  /** Attempts refused while the key was blocked: what the block held back. */
  blockedAttempts: number;
  startedAt: number;
  endsAt: number;
}

export interface FailureLimiter {
  /** Rejects with RATE_LIMITED (details.retryAfterSeconds) when any of the keys is blocked. */
  check(keys: readonly string[]): Promise<void>;
  /** Counts one failure against every key. */
  fail(keys: readonly string[]): Promise<void>;
  /** Forgets the keys' failures (a successful login); claim codes never call this. */
  succeed(keys: readonly string[]): Promise<void>;
  /** Reports the lockouts still running (onLockout) and stops their timers. */
  close?(): void | Promise<void>;
}

/** Makes the limiter of one kind (`login`, `claim`, …): the kind keeps their keys apart. */
export type FailureLimiterFactory = (kind: string, options: FailureLimiterOptions) => FailureLimiter;

/** The RATE_LIMITED error for a key blocked until `blockedUntil`. */
export function blockedError(options: FailureLimiterOptions, blockedUntil: number, now: number): TetherError {
  const retryAfterSeconds = Math.ceil((blockedUntil - now) / 1000);
  return new TetherError('RATE_LIMITED', options.message(Math.ceil(retryAfterSeconds / 60)), {
    details: { retryAfterSeconds },
  });
}

interface Entry {
  failures: number;
  firstAt: number;
  blockedUntil: number;
  /** Attempts refused while blocked. */
  refused: number;
  /** Reports the lockout when it ends. */
  timer?: TimerHandle;
}

/** One node's limiter: a map in memory. */
export class MemoryFailureLimiter implements FailureLimiter {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly options: FailureLimiterOptions,
  ) {}

  static factory =
    (clock: Clock): FailureLimiterFactory =>
    (_kind, options) =>
      new MemoryFailureLimiter(clock, options);

  async check(keys: readonly string[]): Promise<void> {
    const now = this.clock.now();
    let blockedUntil = 0;
    // Every blocked key counts the refused attempt, not only the first one found.
    for (const key of keys) {
      const entry = this.#entries.get(key);
      if (entry && entry.blockedUntil > now) {
        entry.refused++;
        blockedUntil = Math.max(blockedUntil, entry.blockedUntil);
      }
    }
    if (blockedUntil > 0) throw blockedError(this.options, blockedUntil, now);
  }

  async fail(keys: readonly string[]): Promise<void> {
    const { maxFailures, blockMs, maxKeys = 100_000 } = this.options;
    const now = this.clock.now();
    for (const key of keys) {
      let entry = this.#entries.get(key);
      if (!entry || this.#expired(entry, now))
        entry = { failures: 0, firstAt: now, blockedUntil: 0, refused: 0 };
      entry.failures++;
      if (entry.failures >= maxFailures && entry.blockedUntil <= now) {
        entry.blockedUntil = now + blockMs;
        entry.refused = 0;
        this.#scheduleReport(key, entry, now);
      }
      this.#entries.set(key, entry);
    }
    if (this.#entries.size > maxKeys) {
      for (const [key, entry] of this.#entries) if (this.#expired(entry, now)) this.#entries.delete(key);
    }
  }

  async succeed(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.#entries.delete(key);
  }

  close(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.#entries) {
      if (entry.timer === undefined) continue;
      this.clock.clearTimeout(entry.timer);
      entry.timer = undefined;
      this.#report(key, entry, Math.min(now, entry.blockedUntil));
    }
  }

  #scheduleReport(key: string, entry: Entry, now: number): void {
    const { onLockout, blockMs } = this.options;
    if (!onLockout) return;
    entry.timer = this.clock.setTimeout(() => {
      entry.timer = undefined;
      this.#report(key, entry, entry.blockedUntil, now);
    }, blockMs);
  }

  #report(
    key: string,
    entry: Entry,
    endsAt: number,
    startedAt = entry.blockedUntil - this.options.blockMs,
  ): void {
    this.options.onLockout?.({
      key,
      failures: entry.failures,
      blockedAttempts: entry.refused,
      startedAt,
      endsAt,
    });
  }

  #expired(entry: Entry, now: number): boolean {
    return entry.blockedUntil <= now && now - entry.firstAt > this.options.blockMs;
  }
}
