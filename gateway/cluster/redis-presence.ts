/**
 * Presence in a cluster: which node holds each device's connection, in Redis, and mirrored on
 * every node so that "is it online, and where" is answered without a round trip.
 *
 * - `tether:presence` is a hash deviceId → "node|version". Every arrival and departure takes a new
 *   version from one counter and is published on `tether:presence:changes` by the same Lua
 *   script, so the order of the messages is the order of the changes; a mirror ignores a message
 *   older than what it holds (a takeover and a late departure cannot undo each other).
 * - A departure deletes the entry only while it still names the departing node: a node whose old
 *   session closes after another node took the device over leaves the device online.
 * - Each node refreshes `tether:node:<id>` (expiring after cluster.nodeTimeoutSeconds) and is
 *   listed in `tether:nodes`. A node that stops refreshing is dead: one live node (under a
 *   short lock) removes the dead node's devices, which the device services then report offline.
 */
import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { Presence } from '../devices/presence.js';
import type { Part } from '../part.js';
import { KEY_PREFIX, luaScript, type RedisLink } from './redis-link.js';

const PRESENCE = `${KEY_PREFIX}presence`;
const VERSION = `${KEY_PREFIX}presence:version`;
export const PRESENCE_CHANNEL = `${KEY_PREFIX}presence:changes`;
const NODES = `${KEY_PREFIX}nodes`;
/** A node's heartbeat: present while the node lives. */
export const heartbeatKey = (nodeId: string) => `${KEY_PREFIX}node:${nodeId}`;
const SWEEP_LOCK = `${KEY_PREFIX}lock:presence-sweep`;

/** KEYS: presence, version, channel. ARGV: deviceId, nodeId. Message: "version node device". */
const ARRIVE = luaScript(`
local v = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. v)
redis.call('PUBLISH', KEYS[3], v .. ' ' .. ARGV[2] .. ' ' .. ARGV[1])
return v
`);

/** KEYS: presence, version, channel. ARGV: deviceId, nodeId. The departure's version; 0 when the device was not the node's. */
const LEAVE = luaScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or string.sub(cur, 1, string.len(ARGV[2]) + 1) ~= ARGV[2] .. '|' then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', KEYS[3], v .. ' - ' .. ARGV[1])
return v
`);

interface Held {
  node: string;
  version: number;
}

export interface RedisPresenceOptions {
  link: RedisLink;
  nodeId: string;
  clock: Clock;
  logger: Logger;
  /** A node silent this long is dead (cluster.nodeTimeoutSeconds). */
  nodeTimeoutMs: number;
}

export class RedisPresence implements Presence, Part {
  readonly name = 'presence';
  readonly nodeId: string;
  readonly #options: RedisPresenceOptions;
  readonly #mirror = new Map<string, Held>();
  /**
   * Versions of recent departures, so that an arrival message overtaken by its departure cannot
   * bring the device back; kept for one to two heartbeats (the messages are long delivered by then).
   */
  #gone = new Map<string, number>();
  #goneBefore = new Map<string, number>();
  readonly #departed = new Set<(deviceId: string) => void>();
  readonly #moved = new Set<(deviceId: string, nodeId: string) => void>();
  #timer: TimerHandle | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  #beating: Promise<void> | undefined;

  constructor(options: RedisPresenceOptions) {
    this.#options = options;
    this.nodeId = options.nodeId;
    if (/[\s|]/.test(options.nodeId)) throw new Error('a node id holds no spaces or |');
  }

  async start(): Promise<void> {
    const { link, clock, nodeTimeoutMs } = this.#options;
    // Subscribe first, then read: a change made between the two is seen (by its version) either way.
    this.#unsubscribe = await link.subscribe(PRESENCE_CHANNEL, (message) => this.#heard(message));
    await this.#heartbeat();
    for await (const entries of link.redis.hscanStream(PRESENCE, { count: 1000 })) {
      const list = entries as string[];
      for (let i = 0; i + 1 < list.length; i += 2) {
        const held = parseHeld(list[i + 1] as string);
        if (held) this.#learn(list[i] as string, held);
      }
    }
    this.#timer = clock.setInterval(
      () => {
        this.#beating ??= this.#heartbeat()
          .then(() => this.#sweep())
          .catch((error: unknown) =>
            this.#options.logger.warn({ err: (error as Error).message }, 'presence heartbeat failed'),
          )
          .finally(() => {
            this.#beating = undefined;
          });
      },
      Math.max(250, Math.floor(nodeTimeoutMs / 3)),
    );
  }

  /** Leaves the cluster: this node's devices go offline everywhere at once. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) this.#options.clock.clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
    const mine = [...this.#mirror].filter(([, held]) => held.node === this.nodeId).map(([id]) => id);
    try {
      for (const deviceId of mine) await this.#leave(deviceId);
      await this.#options.link.redis.del(heartbeatKey(this.nodeId));
      await this.#options.link.redis.srem(NODES, this.nodeId);
    } catch (error) {
      this.#options.logger.warn(
        { err: (error as Error).message },
        'presence not cleared: the others will sweep it',
      );
    }
    await this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#mirror.clear();
  }

  async arrive(deviceId: string): Promise<void> {
    // Here at once (the broker asks in the same tick); the version comes back from Redis.
    const held = this.#mirror.get(deviceId);
    this.#mirror.set(deviceId, { node: this.nodeId, version: held?.version ?? 0 });
    const version = Number(await this.#run(ARRIVE, deviceId));
    this.#learn(deviceId, { node: this.nodeId, version });
  }

  async leave(deviceId: string): Promise<boolean> {
    const held = this.#mirror.get(deviceId);
    if (held?.node === this.nodeId) this.#forget(deviceId, held.version);
    return this.#leave(deviceId);
  }

  isOnline(deviceId: string): boolean {
    return this.#mirror.has(deviceId);
  }

  nodeOf(deviceId: string): string | undefined {
    return this.#mirror.get(deviceId)?.node;
  }

  online(): Iterable<string> {
    return this.#mirror.keys();
  }

  get size(): number {
    return this.#mirror.size;
  }

  onDeparted(listener: (deviceId: string) => void): () => void {
    this.#departed.add(listener);
    return () => this.#departed.delete(listener);
  }

  onMoved(listener: (deviceId: string, nodeId: string) => void): () => void {
    this.#moved.add(listener);
    return () => this.#moved.delete(listener);
  }

  /** The ids of the live nodes (for health and tests). */
  async liveNodes(): Promise<string[]> {
    const redis = this.#options.link.redis;
    const nodes = await redis.smembers(NODES);
    const alive = nodes.length > 0 ? await redis.mget(...nodes.map(heartbeatKey)) : [];
    return nodes.filter((_, i) => alive[i] !== null).sort();
  }

  async #leave(deviceId: string, nodeId = this.nodeId): Promise<boolean> {
    const version = Number(await this.#run(LEAVE, deviceId, nodeId));
    if (version > 0) this.#forget(deviceId, version);
    return version > 0;
  }

  #forget(deviceId: string, version: number): void {
    const held = this.#mirror.get(deviceId);
    if (held && held.version <= version) this.#mirror.delete(deviceId);
    if (version > (this.#gone.get(deviceId) ?? 0)) this.#gone.set(deviceId, version);
  }

  #run(script: typeof ARRIVE, deviceId: string, nodeId = this.nodeId): Promise<unknown> {
    return this.#options.link.run(script, [PRESENCE, VERSION, PRESENCE_CHANNEL], [deviceId, nodeId]);
  }

  /** A change from any node (this one too): "version node device", node `-` for a departure. */
  #heard(message: Buffer): void {
    const text = message.toString('utf8');
    const first = text.indexOf(' ');
    const second = text.indexOf(' ', first + 1);
    if (first < 0 || second < 0) return;
    const version = Number(text.slice(0, first));
    const node = text.slice(first + 1, second);
    const deviceId = text.slice(second + 1);
    if (!Number.isSafeInteger(version)) return;
    if (node === '-') {
      this.#forget(deviceId, version);
      return;
    }
    this.#learn(deviceId, { node, version });
  }

  #learn(deviceId: string, held: Held): void {
    const known = this.#mirror.get(deviceId);
    if (known && known.version >= held.version) return;
    const gone = Math.max(this.#gone.get(deviceId) ?? 0, this.#goneBefore.get(deviceId) ?? 0);
    if (gone >= held.version) return;
    this.#mirror.set(deviceId, held);
    if (held.node === this.nodeId || known?.node !== this.nodeId) return;
    // It was here and is now elsewhere: this node's connection was taken over.
    for (const listener of this.#moved) listener(deviceId, held.node);
  }

  async #heartbeat(): Promise<void> {
    const { link, nodeTimeoutMs } = this.#options;
    await link.redis
      .multi()
      .set(heartbeatKey(this.nodeId), '1', 'PX', nodeTimeoutMs)
      .sadd(NODES, this.nodeId)
      .exec();
  }

  /** One live node at a time removes the devices of dead nodes, and says they went offline. */
  async #sweep(): Promise<void> {
    const { link, nodeTimeoutMs, logger } = this.#options;
    const redis = link.redis;
    const nodes = await redis.smembers(NODES);
    if (nodes.length === 0) return;
    const alive = await redis.mget(...nodes.map(heartbeatKey));
    const dead = new Set(nodes.filter((_, i) => alive[i] === null));
    if (dead.size === 0) return;
    if ((await redis.set(SWEEP_LOCK, this.nodeId, 'PX', nodeTimeoutMs, 'NX')) !== 'OK') return;
    try {
      const gone: string[] = [];
      for await (const entries of redis.hscanStream(PRESENCE, { count: 1000 })) {
        const list = entries as string[];
        for (let i = 0; i + 1 < list.length; i += 2) {
          const held = parseHeld(list[i + 1] as string);
          if (held && dead.has(held.node) && (await this.#leave(list[i] as string, held.node))) {
            gone.push(list[i] as string);
          }
        }
      }
      await redis.srem(NODES, ...dead);
      logger.warn(
        { nodes: [...dead], devices: gone.length },
        'dead gateway nodes swept: their devices are offline',
      );
      for (const deviceId of gone) for (const listener of this.#departed) listener(deviceId);
    } finally {
      await redis.del(SWEEP_LOCK);
    }
  }
}

function parseHeld(value: string): Held | undefined {
  const bar = value.lastIndexOf('|');
  const version = Number(value.slice(bar + 1));
  return bar > 0 && Number.isSafeInteger(version) ? { node: value.slice(0, bar), version } : undefined;
}
