/**
 * Access tokens whose signature and claims were checked, remembered for a short while: an app
 * sending many requests with one token pays the Ed25519 verification (≈ 0.1–0.2 ms of CPU, the
 * largest cost of a simple API call) once a minute instead of on every request.
 *
 * Only what cannot change is remembered: that these exact bytes carry a valid signature by key
 * `kid`, and the claims they hold. Everything that can end a token early is still asked on every
 * request by the caller, after this cache: the ended-session set (logout, reused refresh token),
 * the user's status and `sessionsValidAfter` (password change, force logout, deletion), and the
 * role, org and grants the actor is built from. A hit also needs the key to be trusted still: a
 * key dropped from the set refuses its tokens at once, cached or not. An entry never outlives
 * the token's own `exp`, so expiry answers TOKEN_EXPIRED exactly as before.
 *
 * Entries are keyed by the token's SHA-256, not the token (no bearer token is kept in memory, and
 * a lookup compares digests, not secrets), and there are at most `maxEntries` of them, the
 * oldest going first: the cache is bounded whatever the number of sessions.
 */
import { hash } from 'node:crypto';
import type { Clock } from '../../shared/clock.js';

/** What a verified access token said. */
export interface VerifiedClaims {
  sub?: string;
  /** Issue time in milliseconds (tether's own claim). */
  iatms?: unknown;
  exp?: number;
  [claim: string]: unknown;
}

interface Entry<K> {
  claims: VerifiedClaims;
  key: K;
  /** The entry is used until then: min(now + ttl, the token's expiry). */
  until: number;
}

export interface VerifiedTokenCacheOptions {
  /** How long a verification is reused; 0 turns the cache off. */
  ttlMs: number;
  maxEntries: number;
}

export const VERIFIED_TOKEN_CACHE_DEFAULTS: VerifiedTokenCacheOptions = { ttlMs: 60_000, maxEntries: 10_000 };

export class VerifiedTokenCache<K> {
  readonly #entries = new Map<string, Entry<K>>();

  constructor(
    private readonly clock: Clock,
    private readonly options: VerifiedTokenCacheOptions = VERIFIED_TOKEN_CACHE_DEFAULTS,
  ) {}

  /**
   * The claims of `token` if it was verified with `key` (the key its `kid` names now) within the
   * last ttl and has not expired; undefined otherwise, and then the caller verifies it in full.
   */
  get(token: string, key: K): VerifiedClaims | undefined {
    if (this.options.ttlMs <= 0) return undefined;
    const digest = digestOf(token);
    const entry = this.#entries.get(digest);
    if (!entry) return undefined;
    if (entry.key !== key || entry.until <= this.clock.now()) {
      this.#entries.delete(digest);
      return undefined;
    }
    return entry.claims;
  }

  /** Remembers a token that `key` just verified in full. */
  set(token: string, key: K, claims: VerifiedClaims): void {
    if (this.options.ttlMs <= 0) return;
    const now = this.clock.now();
    const expiry = typeof claims.exp === 'number' ? claims.exp * 1000 : now;
    const until = Math.min(now + this.options.ttlMs, expiry);
    if (until <= now) return;
    const digest = digestOf(token);
    this.#entries.delete(digest);
    while (this.#entries.size >= this.options.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(digest, { claims, key, until });
  }

  get size(): number {
    return this.#entries.size;
  }
}

const digestOf = (token: string): string => hash('sha256', token, 'base64url');
