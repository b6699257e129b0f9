/**
 * Anonymous requests that make the gateway send mail — sign-ups and forgotten passwords — are
 * limited per IP and per address, never per maker: one caller must not be able to shut a maker's
 * sign-up page for a day, nor fill a stranger's mailbox. The single-use link tokens they leave
 * are swept once spent, so the table stays as large as the limits allow, not as large as history.
 */
import type { Clock } from '../../shared/clock.js';
import type { TetherConfig } from '../../shared/config.js';
import type { FailureLimiter, FailureLimiterFactory } from '../../shared/failure-limiter.js';
import type { Store } from '../store/store.js';
import type { LinkTokenPurpose } from '../store/types.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** A spent or expired link is kept a day (the per-address counts look back that far), then swept. */
const SWEEP_EVERY_MS = 10 * 60_000;

export class MailRequests {
  readonly #perIp: FailureLimiter;
  #lastSweep = 0;

  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      config: TetherConfig;
      limiters: FailureLimiterFactory;
    },
  ) {
    // Shared by a cluster's nodes when the limiters are (infrastructure.ts).
    this.#perIp = deps.limiters('mail-requests', {
      maxFailures: deps.config.accounts.mailRequestsPerIpPerHour,
      blockMs: HOUR_MS,
      message: (minutes) => `Too many requests from your address. Try again in ${minutes} minute(s).`,
    });
  }

  /** Counts one request from `ip`; RATE_LIMITED once that IP has made its hourly share. */
  async admit(ip: string | null): Promise<void> {
    if (ip === null) return;
    const keys = [`ip:${ip}`];
    await this.#perIp.check(keys);
    await this.#perIp.fail(keys);
  }

  /** Whether another `purpose` mail may go to `email`: fewer than `max` in the last `windowMs`. */
  async mayMail(email: string, purpose: LinkTokenPurpose, max: number, windowMs: number): Promise<boolean> {
    const since = this.deps.clock.now() - windowMs;
    return (await this.deps.store.linkTokens.count({ email, purpose, createdAt: { gt: since } })) < max;
  }

  /** Deletes link tokens spent or expired more than a day ago; runs at most every ten minutes. */
  async sweep(): Promise<void> {
    const { store, clock } = this.deps;
    const now = clock.now();
    if (now - this.#lastSweep < SWEEP_EVERY_MS) return;
    this.#lastSweep = now;
    // One delete by filter: the table is never read into the gateway.
    const before = now - DAY_MS;
    await store.linkTokens.deleteWhere({
      anyOf: [{ usedAt: { lt: before } }, { usedAt: null, expiresAt: { lt: before } }],
    });
  }
}
