/**
 * Failed-login limits, per IP and per account (as Blynk: 5 failures → 10 minutes blocked).
 * In memory: a restart forgets them, which is acceptable for a limiter.
 */
import type { Clock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';

interface Entry {
  failures: number;
  blockedUntil: number;
  firstAt: number;
}

export class LoginLimiter {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly maxFailures: number,
    private readonly blockMs: number,
  ) {}

  /** Throws RATE_LIMITED when any of the keys is blocked. */
  check(keys: readonly string[]): void {
    const now = this.clock.now();
    for (const key of keys) {
      const entry = this.#entries.get(key);
      if (entry && entry.blockedUntil > now) {
        const retryAfterSeconds = Math.ceil((entry.blockedUntil - now) / 1000);
        throw new TetherError(
          'RATE_LIMITED',
          `Too many failed logins. Try again in ${Math.ceil(retryAfterSeconds / 60)} minute(s).`,
          { details: { retryAfterSeconds } },
        );
      }
    }
  }

  fail(keys: readonly string[]): void {
    const now = this.clock.now();
    for (const key of keys) {
      let entry = this.#entries.get(key);
      if (!entry || now - entry.firstAt > this.blockMs)
        entry = { failures: 0, blockedUntil: 0, firstAt: now };
      entry.failures++;
      if (entry.failures >= this.maxFailures) entry.blockedUntil = now + this.blockMs;
      this.#entries.set(key, entry);
    }
    if (this.#entries.size > 100_000) this.#prune(now);
  }

  succeed(keys: readonly string[]): void {
    for (const key of keys) this.#entries.delete(key);
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.blockedUntil < now && now - entry.firstAt > this.blockMs) this.#entries.delete(key);
    }
  }
}
