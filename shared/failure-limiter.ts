/**
 * Counting failures per key (an address, an account, a user) and blocking a key that fails too
 * often: logins (as Blynk: 5 failures → 10 minutes) and claim-code guesses use it. A window
 * starts at a key's first failure; once it has passed and the key is not blocked, counting starts
 * over. In memory: a restart forgets, which is acceptable for a limiter.
 */
import type { Clock } from './clock.js';
import { TetherError } from './errors.js';

interface Entry {
  failures: number;
  firstAt: number;
  blockedUntil: number;
}

export interface FailureLimiterOptions {
  maxFailures: number;
  /** How long a block lasts; also the window failures are counted in. */
  blockMs: number;
  /** The message of the RATE_LIMITED error, given the whole minutes left. */
  message: (retryAfterMinutes: number) => string;
  /** Keys remembered at most; past this, expired entries are pruned. */
  maxKeys?: number;
}

export class FailureLimiter {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly options: FailureLimiterOptions,
  ) {}

  /** Throws RATE_LIMITED (details.retryAfterSeconds) when any of the keys is blocked. */
  check(keys: readonly string[]): void {
    const now = this.clock.now();
    for (const key of keys) {
      const entry = this.#entries.get(key);
      if (entry && entry.blockedUntil > now) {
        const retryAfterSeconds = Math.ceil((entry.blockedUntil - now) / 1000);
        throw new TetherError('RATE_LIMITED', this.options.message(Math.ceil(retryAfterSeconds / 60)), {
          details: { retryAfterSeconds },
        });
      }
    }
  }

  fail(keys: readonly string[]): void {
    const { maxFailures, blockMs, maxKeys = 100_000 } = this.options;
    const now = this.clock.now();
    for (const key of keys) {
      let entry = this.#entries.get(key);
      if (!entry || this.#expired(entry, now)) entry = { failures: 0, firstAt: now, blockedUntil: 0 };
      entry.failures++;
      if (entry.failures >= maxFailures) entry.blockedUntil = now + blockMs;
      this.#entries.set(key, entry);
    }
    if (this.#entries.size > maxKeys) {
      for (const [key, entry] of this.#entries) if (this.#expired(entry, now)) this.#entries.delete(key);
    }
  }

  /** Forget the keys' failures (a successful login); claim codes never call this. */
  succeed(keys: readonly string[]): void {
    for (const key of keys) this.#entries.delete(key);
  }

  #expired(entry: Entry, now: number): boolean {
    return entry.blockedUntil <= now && now - entry.firstAt > this.options.blockMs;
  }
}
