/**
 * Which nodes want the narrow events (values, device events) of which devices and orgs, so that a
 * node publishes a device's values only when a listener elsewhere watches that device or its org:
 * a fleet's telemetry nobody watches never leaves the node that received it.
 *
 * - Each node keeps its own keys (`d:<deviceId>`, `o:<orgId>`, counted per listener) in the set
 *   `tether:interest:<node>`, listed in `tether:interest:nodes`, and mirrors every other node's
 *   keys in memory, so "does anyone want this value" is answered without a round trip.
 * - A key a node starts wanting is announced on `tether:interest`; every other node adds it and
 *   answers, and want() resolves once all of them have (PUBLISH says how many heard it), so a
 *   stream that reads its snapshot afterwards misses no value raised after it.
 * - A key no listener wants any more is announced too (no answer needed). A node that stops
 *   removes its keys; one that dies without stopping is found by its missing heartbeat
 *   (redis-presence.ts) and its keys are dropped.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import { type DeviceRef, type Interest, interestKeys } from '../events.js';
import type { Part } from '../part.js';
import { KEY_PREFIX, type RedisLink } from './redis-link.js';
import { heartbeatKey } from './redis-presence.js';

export const INTEREST_CHANNEL = `${KEY_PREFIX}interest`;
const NODES = `${KEY_PREFIX}interest:nodes`;
const keysOf = (nodeId: string) => `${KEY_PREFIX}interest:${nodeId}`;
const acksOf = (nodeId: string) => `${KEY_PREFIX}interest:acks:${nodeId}`;
/** How long want() waits for the other nodes' answers. */
const ANSWER_MS = 3_000;
/** Keys in one announcement (a stream of a big org's every device is one org key, not its devices). */
const MAX_KEYS = 10_000;

type Message = { n: string; op: '+' | '-' | 'gone'; k?: string[]; id?: string };

export interface RedisInterestsOptions {
  link: RedisLink;
  nodeId: string;
  clock: Clock;
  logger: Logger;
  /** A node silent this long is dead: its keys are dropped (cluster.nodeTimeoutSeconds). */
  nodeTimeoutMs: number;
}

export class RedisInterests implements Part {
  readonly name = 'interest';
  readonly #options: RedisInterestsOptions;
  /** This node's keys: how many listeners want each, and when the other nodes know of it. */
  readonly #mine = new Map<string, { count: number; known: Promise<void> }>();
  /** The other nodes' keys. */
  readonly #theirs = new Map<string, Set<string>>();
  readonly #waiting = new Map<string, { expected: number | undefined; got: number; done: () => void }>();
  readonly #stops: Array<() => Promise<void>> = [];
  #timer: TimerHandle | undefined;

  constructor(options: RedisInterestsOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const { link, nodeId, clock, nodeTimeoutMs } = this.#options;
    this.#stops.push(await link.subscribe(INTEREST_CHANNEL, (message) => this.#heard(message)));
    this.#stops.push(
      await link.subscribe(acksOf(nodeId), (message) => {
        const waiting = this.#waiting.get(message.toString('utf8'));
        if (!waiting) return;
        waiting.got++;
        if (waiting.expected !== undefined && waiting.got >= waiting.expected) waiting.done();
      }),
    );
    // Subscribed first: a change made while the sets are read is heard either way.
    await this.#load();
    // Back from a Redis outage: announcements made meanwhile never reached this node.
    const stopReloading = link.onReconnect(() => {
      void this.#load(true).catch((error: Error) =>
        this.#options.logger.warn({ err: error.message }, 'interest not reloaded'),
      );
    });
    this.#stops.push(async () => void stopReloading());
    this.#timer = clock.setInterval(
      () =>
        void this.#dropDead().catch((error: Error) =>
          this.#options.logger.warn({ err: error.message }, 'interest sweep failed'),
        ),
      Math.max(250, nodeTimeoutMs),
    );
  }

  async stop(): Promise<void> {
    const { link, nodeId, clock } = this.#options;
    clock.clearInterval(this.#timer);
    this.#timer = undefined;
    for (const waiting of this.#waiting.values()) waiting.done();
    // Without Redis, the others drop this node's keys when its heartbeat runs out.
    if (link.reachable) {
      try {
        await link.redis.multi().del(keysOf(nodeId)).srem(NODES, nodeId).exec();
        link.publish(INTEREST_CHANNEL, JSON.stringify({ n: nodeId, op: 'gone' } satisfies Message));
      } catch {
        // Lost meanwhile: the same.
      }
    }
    for (const stop of this.#stops.splice(0).reverse()) await stop();
    this.#mine.clear();
    this.#theirs.clear();
  }

  /** Reads every other node's keys from Redis (afresh: forgetting what it mirrored). */
  async #load(afresh = false): Promise<void> {
    const { link, nodeId } = this.#options;
    const theirs = new Map<string, Set<string>>();
    for (const node of await link.redis.smembers(NODES)) {
      if (node === nodeId) continue;
      for (const key of await link.redis.smembers(keysOf(node))) {
        const nodes = theirs.get(key) ?? new Set();
        nodes.add(node);
        theirs.set(key, nodes);
      }
    }
    if (afresh) this.#theirs.clear();
    for (const [key, nodes] of theirs) for (const node of nodes) this.#add(node, key);
  }

  /** Whether a node other than this one wants the narrow events of this device. */
  wanted(device: Pick<DeviceRef, 'id' | 'orgId'>): boolean {
    if (this.#theirs.size === 0) return false;
    const [byDevice, byOrg] = interestKeys(device);
    return this.#theirs.has(byDevice) || this.#theirs.has(byOrg);
  }

  /** One listener's interest. */
  interest(): Interest {
    let held = new Set<string>();
    return {
      want: async (keys) => {
        const next = new Set([...keys].slice(0, MAX_KEYS));
        const added = [...next].filter((key) => !held.has(key));
        const removed = [...held].filter((key) => !next.has(key));
        held = next;
        this.#release(removed);
        await this.#want(added);
      },
      release: () => {
        this.#release([...held]);
        held = new Set();
      },
    };
  }

  async #want(keys: readonly string[]): Promise<void> {
    const fresh: string[] = [];
    const known: Array<Promise<void>> = [];
    let announced!: () => void;
    const announcement = new Promise<void>((resolve) => {
      announced = resolve;
    });
    for (const key of keys) {
      const mine = this.#mine.get(key);
      if (mine) {
        mine.count++;
        known.push(mine.known);
      } else {
        this.#mine.set(key, { count: 1, known: announcement });
        fresh.push(key);
      }
    }
    if (fresh.length > 0) {
      await this.#announce(fresh).catch((error: Error) =>
        this.#options.logger.warn({ err: error.message }, 'interest not announced'),
      );
    }
    announced();
    await Promise.all(known);
  }

  /** Adds the keys to this node's set and waits until every other node has heard of them. */
  async #announce(keys: string[]): Promise<void> {
    const { link, nodeId, clock } = this.#options;
    await link.redis
      .multi()
      .sadd(keysOf(nodeId), ...keys)
      .sadd(NODES, nodeId)
      .exec();
    const id = randomBytes(9).toString('base64url');
    await new Promise<void>((resolve) => {
      const timer = clock.setTimeout(() => done(), ANSWER_MS);
      const done = () => {
        clock.clearTimeout(timer);
        this.#waiting.delete(id);
        resolve();
      };
      const waiting = { expected: undefined as number | undefined, got: 0, done };
      this.#waiting.set(id, waiting);
      void link
        .publishCounted(
          INTEREST_CHANNEL,
          JSON.stringify({ n: nodeId, op: '+', k: keys, id } satisfies Message),
        )
        .then((heardBy) => {
          // This node hears its own announcement and answers none of them.
          waiting.expected = heardBy - 1;
          if (waiting.got >= waiting.expected) done();
        });
    });
  }

  #release(keys: readonly string[]): void {
    const stale: string[] = [];
    for (const key of keys) {
      const mine = this.#mine.get(key);
      if (!mine) continue;
      if (--mine.count > 0) continue;
      this.#mine.delete(key);
      stale.push(key);
    }
    if (stale.length === 0) return;
    const { link, nodeId, logger } = this.#options;
    link.redis
      .srem(keysOf(nodeId), ...stale)
      .then(() =>
        link.publish(INTEREST_CHANNEL, JSON.stringify({ n: nodeId, op: '-', k: stale } satisfies Message)),
      )
      .catch((error: Error) => logger.warn({ err: error.message }, 'interest not withdrawn'));
  }

  #heard(raw: Buffer): void {
    const message = JSON.parse(raw.toString('utf8')) as Partial<Message>;
    const node = message.n;
    if (typeof node !== 'string' || node === this.#options.nodeId) return;
    const keys = Array.isArray(message.k) ? message.k.filter((k): k is string => typeof k === 'string') : [];
    if (message.op === '+') {
      for (const key of keys) this.#add(node, key);
      if (typeof message.id === 'string') this.#options.link.publish(acksOf(node), message.id);
    } else if (message.op === '-') {
      for (const key of keys) this.#remove(node, key);
    } else if (message.op === 'gone') {
      this.#forgetNode(node);
    }
  }

  #add(node: string, key: string): void {
    let nodes = this.#theirs.get(key);
    if (!nodes) {
      nodes = new Set();
      this.#theirs.set(key, nodes);
    }
    nodes.add(node);
  }

  #remove(node: string, key: string): void {
    const nodes = this.#theirs.get(key);
    if (nodes?.delete(node) && nodes.size === 0) this.#theirs.delete(key);
  }

  #forgetNode(node: string): void {
    for (const [key, nodes] of this.#theirs)
      if (nodes.delete(node) && nodes.size === 0) this.#theirs.delete(key);
  }

  /**
   * Nodes whose heartbeat ran out (killed, lost): their keys go, here and in Redis. A node that was
   * taken for dead while it lived (stalled past its heartbeat) finds its keys gone and says them again.
   */
  async #dropDead(): Promise<void> {
    const { link, nodeId } = this.#options;
    const redis = link.redis;
    if (this.#mine.size > 0 && (await redis.sismember(NODES, nodeId)) === 0) {
      const keys = [...this.#mine.keys()];
      await redis
        .multi()
        .sadd(keysOf(nodeId), ...keys)
        .sadd(NODES, nodeId)
        .exec();
      link.publish(INTEREST_CHANNEL, JSON.stringify({ n: nodeId, op: '+', k: keys } satisfies Message));
    }
    const nodes = (await redis.smembers(NODES)).filter((node) => node !== nodeId);
    if (nodes.length === 0) return;
    const alive = await redis.mget(...nodes.map(heartbeatKey));
    for (const [i, node] of nodes.entries()) {
      if (alive[i] !== null) continue;
      this.#forgetNode(node);
      await redis.multi().del(keysOf(node)).srem(NODES, node).exec();
    }
  }
}
