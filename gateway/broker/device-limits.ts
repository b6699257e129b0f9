/**
 * The arithmetic of the device limits, apart from the broker so it can be tested without one:
 * what a publish weighs, breach counts that fade, and the reconnect back-off of flooders.
 */

/**
 * A PUBLISH's variable header plus its payload: what Blynk's 1024-byte limit counts ("including
 * variable header and payload"). The variable header is the topic (2-byte length + UTF-8) and,
 * at QoS 1 and 2, the packet id.
 */
export function publishSize(topic: string, payloadBytes: number, qos: number): number {
  return 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + payloadBytes;
}

/** The whole PUBLISH packet on the wire (fixed header included): what a device's rx buffer holds. */
export function publishPacketBytes(topic: string, payloadBytes: number, qos: number): number {
  const remaining = publishSize(topic, payloadBytes, qos);
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  return 1 + lengthBytes + remaining;
}

/** A count that loses one every `decayMs`: breaches long apart never add up to a close. */
export class DecayingCount {
  #value = 0;
  #at = 0;

  constructor(private readonly decayMs: number) {}

  /** Add one at `now`; returns the count after it. */
  add(now: number): number {
    this.#value = this.valueAt(now) + 1;
    this.#at = now;
    return this.#value;
  }

  valueAt(now: number): number {
    return Math.max(0, this.#value - Math.max(0, now - this.#at) / this.decayMs);
  }
}

export interface BackoffOptions {
  /** The first window a device is refused for, after its first close for abuse. */
  baseMs: number;
  /** The longest window. */
  maxMs: number;
  /** A device that went this long without a close for abuse starts again from baseMs. */
  forgetMs: number;
  /** Devices remembered at most; the oldest expired ones go first. */
  maxEntries: number;
}

/**
 * The gateway's reconnect back-off for devices closed for abuse: each close doubles the window
 * in which the device's CONNECT is refused (baseMs, 2·baseMs, … up to maxMs), so a flooding
 * device cannot reconnect at once, over and over.
 */
export class ReconnectBackoff {
  readonly #entries = new Map<string, { level: number; until: number; lastAt: number }>();

  constructor(private readonly options: BackoffOptions) {}

  /** Milliseconds the key is still refused for at `now` (0: let it in). */
  remainingMs(key: string, now: number): number {
    const entry = this.#entries.get(key);
    return entry ? Math.max(0, entry.until - now) : 0;
  }

  /** Record a close for abuse; returns the window now refused. */
  punish(key: string, now: number): number {
    const { baseMs, maxMs, forgetMs } = this.options;
    const previous = this.#entries.get(key);
    const level = previous && now - previous.lastAt < forgetMs ? previous.level + 1 : 1;
    const windowMs = Math.min(maxMs, baseMs * 2 ** Math.min(level - 1, 30));
    this.#entries.delete(key); // re-insert: the Map keeps insertion order, oldest first
    this.#entries.set(key, { level, until: now + windowMs, lastAt: now });
    this.#prune(now);
    return windowMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  #prune(now: number): void {
    if (this.#entries.size <= this.options.maxEntries) return;
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.options.maxEntries) return;
      if (now - entry.lastAt >= this.options.forgetMs || entry.until <= now) this.#entries.delete(key);
    }
    // Still over: forget the oldest, whatever their state (memory stays bounded).
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.options.maxEntries) return;
      this.#entries.delete(key);
    }
  }
}
