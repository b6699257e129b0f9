/**
 * Which device a token belongs to, remembered by this node, so that a CONNECT on a networked
 * store (PostgreSQL) costs no query once the token has been seen here. The embedded store needs
 * none: its lookup is already a map in memory.
 *
 * What it may remember, and why that is safe:
 * - only tokens of devices that are `active` or `unclaimed`: a CONNECT accepts both as they are,
 *   whereas a pending device's session can expire (so its token is read each time);
 * - a token stops being good only by a revoke, a re-provision or a delete, and each of those drops
 *   the device's connections on every node (DeviceConnections.disconnect): the node's broker then
 *   calls forgetDevice(), so the entry goes on every node before the person's request returns;
 * - a lookup that raced such a change (it read the store before the change, and its answer came
 *   back after the node heard of it) is not remembered, and is asked again (see `epoch`);
 * - in a cluster, a node that lost Redis may have missed a change: it trusts nothing here while
 *   Redis is away (`trusted`), and forgets everything when it comes back (clear()).
 *
 * Bounded: the least recently used token goes when `maxEntries` are held; an entry is also read
 * again after `maxAgeMs`, a last bound on what a lost message could leave behind.
 */
import type { Clock } from '../../shared/clock.js';

export interface TokenCacheOptions {
  clock: Clock;
  /** Tokens remembered at most (default 100,000: about 20 MB). */
  maxEntries?: number;
  /** An entry older than this is read from the store again (default 10 minutes). */
  maxAgeMs?: number;
  /** False while this node cannot hear of changes made elsewhere (its Redis is away). */
  trusted?: () => boolean;
}

interface Entry {
  deviceId: string;
  at: number;
}

export class TokenCache {
  /** token hash → device; in order of last use (a Map keeps insertion order). */
  readonly #byHash = new Map<string, Entry>();
  /** device → its remembered token hash, to forget a device's token without knowing it. */
  readonly #byDevice = new Map<string, string>();
  readonly #clock: Clock;
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  readonly #trusted: () => boolean;
  #epoch = 0;

  constructor(options: TokenCacheOptions) {
    this.#clock = options.clock;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 100_000);
    this.#maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.#trusted = options.trusted ?? (() => true);
  }

  /**
   * Goes up whenever a token is forgotten. A lookup reads it before asking the store and compares
   * after: a change heard meanwhile means the answer may predate it.
   */
  get epoch(): number {
    return this.#epoch;
  }

  get size(): number {
    return this.#byHash.size;
  }

  /** The device of a token hash seen before, or undefined (ask the store). */
  get(tokenHash: string): string | undefined {
    const entry = this.#byHash.get(tokenHash);
    if (!entry) return undefined;
    if (!this.#trusted() || this.#clock.now() - entry.at > this.#maxAgeMs) {
      this.#delete(tokenHash, entry.deviceId);
      return undefined;
    }
    // Most recently used last.
    this.#byHash.delete(tokenHash);
    this.#byHash.set(tokenHash, entry);
    return entry.deviceId;
  }

  /**
   * Remembers a lookup the store answered, unless a token was forgotten since `epoch` (read
   * before the lookup) or this node cannot hear of changes now. True when it was remembered.
   */
  remember(tokenHash: string, deviceId: string, epoch: number): boolean {
    if (epoch !== this.#epoch || !this.#trusted()) return false;
    const old = this.#byDevice.get(deviceId);
    if (old !== undefined) this.#byHash.delete(old);
    this.#byHash.delete(tokenHash);
    this.#byHash.set(tokenHash, { deviceId, at: this.#clock.now() });
    this.#byDevice.set(deviceId, tokenHash);
    while (this.#byHash.size > this.#maxEntries) {
      const [oldest, entry] = this.#byHash.entries().next().value as [string, Entry];
      this.#delete(oldest, entry.deviceId);
    }
    return true;
  }

  /** The device's token changed or went (revoke, re-provision, delete): forget it. */
  forgetDevice(deviceId: string): void {
    this.#epoch++;
    const hash = this.#byDevice.get(deviceId);
    if (hash !== undefined) this.#delete(hash, deviceId);
  }

  /** Forget every token (this node may have missed changes). */
  clear(): void {
    this.#epoch++;
    this.#byHash.clear();
    this.#byDevice.clear();
  }

  #delete(tokenHash: string, deviceId: string): void {
    this.#byHash.delete(tokenHash);
    if (this.#byDevice.get(deviceId) === tokenHash) this.#byDevice.delete(deviceId);
  }
}
