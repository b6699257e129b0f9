/**
 * Stream tickets: how a client that cannot send an Authorization header — the browser's
 * EventSource — opens the push stream. The caller, with its access token in the header, asks for a
 * ticket naming the devices it wants; the ticket goes in the stream URL once, within 30 seconds,
 * and is then spent. A ticket is 32 random bytes kept only as a hash, next to the access token it
 * stands for (in memory, never written anywhere), so the stream still ends when that token expires
 * or is revoked. A long-lived secret never appears in a URL or a log.
 *
 * Tickets live in this process: behind a load balancer, open the stream on the node that issued
 * the ticket (sticky sessions), or read the stream with fetch and the Authorization header.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';

export const STREAM_TICKET_TTL_MS = 30_000;
/** Outstanding tickets per person and in all: enough for any page, never an unbounded map. */
const MAX_PER_USER = 16;
const MAX_TOTAL = 10_000;

export interface StreamScope {
  deviceId?: string;
  deviceIds?: string[];
}

interface Ticket {
  userId: string;
  accessToken: string;
  scope: StreamScope;
  expiresAt: number;
}

const hash = (ticket: string) => createHash('sha256').update(ticket).digest('base64url');

export class StreamTickets {
  readonly #tickets = new Map<string, Ticket>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#tickets.size;
  }

  issue(userId: string, accessToken: string, scope: StreamScope): { ticket: string; expiresAt: number } {
    this.#sweep();
    let mine = 0;
    for (const t of this.#tickets.values()) if (t.userId === userId) mine++;
    if (mine >= MAX_PER_USER || this.#tickets.size >= MAX_TOTAL) {
      throw new TetherError(
        'RATE_LIMITED',
        'Too many unused stream tickets: open the streams you asked for, or wait half a minute.',
        { details: { retryAfterMs: STREAM_TICKET_TTL_MS } },
      );
    }
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = this.#clock.now() + STREAM_TICKET_TTL_MS;
    this.#tickets.set(hash(ticket), { userId, accessToken, scope, expiresAt });
    return { ticket, expiresAt };
  }

  /** The ticket's access token and scope; the ticket is spent. Unknown, used or expired: AUTH_REQUIRED. */
  redeem(ticket: string): { accessToken: string; scope: StreamScope } {
    const key = hash(ticket);
    const found = this.#tickets.get(key);
    this.#tickets.delete(key);
    if (!found || found.expiresAt <= this.#clock.now()) {
      throw new TetherError(
        'AUTH_REQUIRED',
        'This stream ticket is unknown, used or expired: ask for a new one (POST /api/stream/tickets).',
      );
    }
    return { accessToken: found.accessToken, scope: found.scope };
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [key, t] of this.#tickets) if (t.expiresAt <= now) this.#tickets.delete(key);
  }
}
