/**
 * Ended sessions in a cluster: each node keeps the in-memory set (isRevoked stays O(1) and
 * synchronous on every request), and a session ended on one node is published to the others on
 * `tether:revocations`, so its access tokens are refused everywhere at once. A node that starts
 * later rebuilds the set from the shared store (AuthService.restoreRevocations).
 */
import type { Clock } from '../../shared/clock.js';
import { MemorySessionRevocations, type SessionRevocations } from '../accounts/session-revocations.js';
import type { Part } from '../part.js';
import { KEY_PREFIX, type RedisLink } from './redis-link.js';

export const REVOCATIONS_CHANNEL = `${KEY_PREFIX}revocations`;

export class RedisSessionRevocations implements SessionRevocations, Part {
  readonly name = 'session-revocations';
  readonly #local: MemorySessionRevocations;
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly link: RedisLink,
    clock: Clock,
  ) {
    this.#local = new MemorySessionRevocations(clock);
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.link.subscribe(REVOCATIONS_CHANNEL, (message) => {
      // "<until> <sessionId>"
      const text = message.toString('utf8');
      const space = text.indexOf(' ');
      const until = Number(text.slice(0, space));
      const sessionId = text.slice(space + 1);
      if (space > 0 && Number.isSafeInteger(until) && sessionId.length > 0 && sessionId.length <= 128)
        this.#local.revoke(sessionId, until);
    });
  }

  async stop(): Promise<void> {
    await this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  revoke(sessionId: string, until: number): void {
    this.#local.revoke(sessionId, until);
    this.link.publish(REVOCATIONS_CHANNEL, `${Math.round(until)} ${sessionId}`);
  }

  isRevoked(sessionId: string): boolean {
    return this.#local.isRevoked(sessionId);
  }
}
