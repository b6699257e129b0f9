/**
 * Wrong claim codes, counted per user and per IP: after `maxFailures` within the window the key is
 * blocked for `blockMs`. A success never clears the count, so one valid code bought in a shop
 * cannot reset an attacker's budget. In memory: a restart forgets, acceptable for a limiter.
 */
import type { Clock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';

interface Entry {
  failures: number;
  firstAt: number;
  blockedUntil: number;
}

const MAX_KEYS = 100_000;

export class ClaimLimiter {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly maxFailures: number,
    private readonly blockMs: number,
  ) {}

  /** Throws RATE_LIMITED (with retryAfterSeconds) when any key is blocked. */
  check(keys: readonly string[]): void {
    const now = this.clock.now();
    for (const key of keys) {
      const entry = this.#entries.get(key);
      if (entry && entry.blockedUntil > now) {
        const retryAfterSeconds = Math.ceil((entry.blockedUntil - now) / 1000);
        throw new TetherError(
          'RATE_LIMITED',
          `Too many wrong claim codes. Check the code on the label and try again in ${Math.ceil(retryAfterSeconds / 60)} minute(s).`,
          { details: { retryAfterSeconds } },
        );
      }
    }
  }

  fail(keys: readonly string[]): void {
    const now = this.clock.now();
    for (const key of keys) {
      let entry = this.#entries.get(key);
      if (!entry || (entry.blockedUntil <= now && now - entry.firstAt > this.blockMs)) {
        entry = { failures: 0, firstAt: now, blockedUntil: 0 };
      }
      entry.failures++;
      if (entry.failures >= this.maxFailures) entry.blockedUntil = now + this.blockMs;
      this.#entries.set(key, entry);
    }
    if (this.#entries.size > MAX_KEYS) this.#prune(now);
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.blockedUntil <= now && now - entry.firstAt > this.blockMs) this.#entries.delete(key);
    }
  }
}
