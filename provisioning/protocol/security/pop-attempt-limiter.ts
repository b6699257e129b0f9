/**
 * Counts refused proofs of possession on one device and locks the device out after too many, so a
 * PoP printed on a label cannot be guessed online. Beyond esp-idf, which allows unlimited retries.
 * Time comes from the injected Clock; nothing is scheduled, so there is nothing to stop.
 */
import type { Clock } from '../../../shared/clock.js';

export interface PopLockoutPolicy {
  /** Refused proofs in a row that trigger a lockout. Default 5. */
  maxFailures: number;
  /** How long the lockout lasts. Default 5 minutes. */
  lockoutMs: number;
}

export const DEFAULT_POP_LOCKOUT: PopLockoutPolicy = { maxFailures: 5, lockoutMs: 5 * 60_000 };

export interface PopFailureOutcome {
  attemptsRemaining: number;
  /** > 0 when this failure started a lockout. */
  retryAfterMs: number;
}

/** What a security session needs to know about lockouts (the device shares one across sessions). */
export interface PopGuard {
  /** Milliseconds until a new attempt is allowed; 0 when not locked out. */
  retryAfterMs(): number;
  recordFailure(): PopFailureOutcome;
  recordSuccess(): void;
}

export class PopAttemptLimiter implements PopGuard {
  readonly #clock: Clock;
  readonly #policy: PopLockoutPolicy;
  #failures = 0;
  #lockedUntil = 0;

  constructor(clock: Clock, policy: Partial<PopLockoutPolicy> = {}) {
    this.#clock = clock;
    this.#policy = { ...DEFAULT_POP_LOCKOUT, ...policy };
  }

  retryAfterMs(): number {
    const left = this.#lockedUntil - this.#clock.now();
    if (left > 0) return left;
    if (this.#lockedUntil !== 0) {
      // The lockout has run out: a fresh set of attempts.
      this.#lockedUntil = 0;
      this.#failures = 0;
    }
    return 0;
  }

  recordFailure(): PopFailureOutcome {
    this.retryAfterMs();
    this.#failures++;
    if (this.#failures >= this.#policy.maxFailures) {
      this.#lockedUntil = this.#clock.now() + this.#policy.lockoutMs;
      return { attemptsRemaining: 0, retryAfterMs: this.#policy.lockoutMs };
    }
    return { attemptsRemaining: this.#policy.maxFailures - this.#failures, retryAfterMs: 0 };
  }

  recordSuccess(): void {
    this.#failures = 0;
  }
}

/** For security 0 and for tests that must not lock out. */
export const unlimitedPopGuard: PopGuard = {
  retryAfterMs: () => 0,
  recordFailure: () => ({ attemptsRemaining: Number.MAX_SAFE_INTEGER, retryAfterMs: 0 }),
  recordSuccess: () => {},
};
