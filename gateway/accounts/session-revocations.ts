/**
 * Sessions ended before their access tokens expire (a logout, a reused refresh token, an ended
 * session). Access tokens carry their session's id (`sid`); every authenticated request asks
 * isRevoked(sid): O(1), no store read. A session's entry is kept only until its last access token
 * would have expired anyway.
 *
 * The port belongs to the accounts module; this in-memory set serves one gateway process. A cluster
 * gives every node the same answers with an implementation over a shared store (a Redis set with a
 * TTL per entry and a pub/sub note to each node), behind this same interface.
 */
import type { Clock } from '../../shared/clock.js';

export interface SessionRevocations {
  /** The session's access tokens are refused from now until `until` (when the last would expire). */
  revoke(sessionId: string, until: number): void;
  isRevoked(sessionId: string): boolean;
}

export class MemorySessionRevocations implements SessionRevocations {
  readonly #until = new Map<string, number>();
  #nextPrune = 0;

  constructor(private readonly clock: Clock) {}

  revoke(sessionId: string, until: number): void {
    const now = this.clock.now();
    if (until <= now) return;
    this.#until.set(sessionId, Math.max(until, this.#until.get(sessionId) ?? 0));
    // Entries outlive their tokens by nothing: prune now and then, never per request.
    if (now >= this.#nextPrune) {
      this.#nextPrune = now + 60_000;
      for (const [id, end] of this.#until) if (end <= now) this.#until.delete(id);
    }
  }

  isRevoked(sessionId: string): boolean {
    const until = this.#until.get(sessionId);
    return until !== undefined && until > this.clock.now();
  }
}
