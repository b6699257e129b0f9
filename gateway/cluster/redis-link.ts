/**
 * The cluster's link to Redis: one connection for commands and one for pub/sub (a subscribed
 * connection takes no other commands). Every cluster part (event bus, presence, routing,
 * limiters, revocations) shares these two, so a node holds two Redis connections in all.
 * Key and channel names all start with `tether:`; a Redis shared with other programs is safe.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { TetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Part } from '../part.js';

export const KEY_PREFIX = 'tether:';

export type ChannelHandler = (message: Buffer) => void;

/** A Lua script, sent once per Redis server and then called by its SHA-1. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

export const luaScript = (source: string): LuaScript => ({
  source,
  sha: createHash('sha1').update(source).digest('hex'),
});

export interface RedisLinkOptions {
  url: string;
  logger: Logger;
  /** How long a command waits for a connection that is down before it fails. */
  commandTimeoutMs?: number;
}

/** Deletes the lock only while it is still this holder's. */
const RELEASE_LOCK = luaScript(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
);

export class RedisLink implements Part {
  readonly name = 'redis';
  readonly #options: RedisLinkOptions;
  readonly #handlers = new Map<string, Set<ChannelHandler>>();
  readonly #reconnected = new Set<() => void>();
  #commands: Redis | undefined;
  #subscriber: Redis | undefined;

  constructor(options: RedisLinkOptions) {
    this.#options = options;
  }

  /** Where Redis is, without a password: for logs and errors. */
  get address(): string {
    return redisAddress(this.#options.url);
  }

  /** The command connection; only between start() and stop(). */
  get redis(): Redis {
    if (!this.#commands) throw new TetherError('CLUSTER_UNAVAILABLE', 'The cluster link is not started.');
    return this.#commands;
  }

  get reachable(): boolean {
    return this.#commands?.status === 'ready' && this.#subscriber?.status === 'ready';
  }

  async start(): Promise<void> {
    const { url, logger, commandTimeoutMs = 5_000 } = this.#options;
    const connect = (role: string) => {
      const redis = new Redis(url, {
        lazyConnect: true,
        connectionName: `tether-${role}`,
        // A command while Redis is away fails after a few retries instead of waiting for ever.
        maxRetriesPerRequest: 3,
        commandTimeout: commandTimeoutMs,
        retryStrategy: (times) => Math.min(times * 200, 2_000),
      });
      let down = false;
      redis.on('error', (error: Error) => {
        if (!down) logger.warn({ redis: this.address, role, err: error.message }, 'Redis connection lost');
        down = true;
      });
      // A connection that closes without an error (the server went away) is lost all the same.
      redis.on('close', () => {
        if (this.#commands) down = true;
      });
      redis.on('ready', () => {
        if (!down) return;
        down = false;
        logger.info({ redis: this.address, role }, 'Redis connection back');
        for (const listener of this.#reconnected) listener();
      });
      return redis;
    };
    const commands = connect('commands');
    const subscriber = connect('events');
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      const handlers = this.#handlers.get(channel.toString());
      if (!handlers) return;
      for (const handler of handlers) {
        try {
          handler(message);
        } catch (error) {
          // One bad message (or handler) ends that message only, never the node.
          logger.error({ err: error, channel: channel.toString() }, 'cluster message handler failed');
        }
      }
    });
    try {
      await Promise.all([commands.connect(), subscriber.connect()]);
    } catch (error) {
      commands.disconnect();
      subscriber.disconnect();
      throw new TetherError(
        'CLUSTER_UNAVAILABLE',
        `Cannot reach the cluster's Redis at ${this.address}: ${(error as Error).message}. Start Redis, or check cluster.redisUrl (TETHER_CLUSTER_REDIS_URL).`,
        { cause: error },
      );
    }
    this.#commands = commands;
    this.#subscriber = subscriber;
    if (this.#handlers.size > 0) await subscriber.subscribe(...this.#handlers.keys());
  }

  async stop(): Promise<void> {
    const connections = [this.#commands, this.#subscriber].filter((r): r is Redis => r !== undefined);
    this.#commands = undefined;
    this.#subscriber = undefined;
    await Promise.all(
      connections.map((redis) =>
        redis.status === 'ready' ? redis.quit().catch(() => redis.disconnect()) : redis.disconnect(),
      ),
    );
  }

  /**
   * Called when a connection to Redis is back after it was lost: messages published meanwhile
   * never reached this node, so what it learnt from them may be out of date. Returns the unsubscribe.
   */
  onReconnect(listener: () => void): () => void {
    this.#reconnected.add(listener);
    return () => this.#reconnected.delete(listener);
  }

  /** Receive every message on `channel`; returns the unsubscribe. Works before and after start(). */
  async subscribe(channel: string, handler: ChannelHandler): Promise<() => Promise<void>> {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
      await this.#subscriber?.subscribe(channel);
    }
    handlers.add(handler);
    return async () => {
      const set = this.#handlers.get(channel);
      if (!set?.delete(handler) || set.size > 0) return;
      this.#handlers.delete(channel);
      if (this.#subscriber?.status === 'ready') await this.#subscriber.unsubscribe(channel);
    };
  }

  /** Runs a script by its SHA-1, loading it first when this Redis has not seen it (NOSCRIPT). */
  async run(
    script: LuaScript,
    keys: readonly string[],
    args: ReadonlyArray<string | number>,
  ): Promise<unknown> {
    const redis = this.redis;
    try {
      return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return redis.eval(script.source, keys.length, ...keys, ...args);
    }
  }

  /**
   * Runs `fn` while no other node holds the lock of that name (SET NX with an expiry, so a node
   * that dies holding it cannot block the others for longer than `holdMs`).
   */
  async withLock<T>(name: string, fn: () => Promise<T>, holdMs = 30_000): Promise<T> {
    const key = `${KEY_PREFIX}lock:${name}`;
    const token = randomBytes(12).toString('hex');
    const deadline = Date.now() + holdMs;
    while ((await this.redis.set(key, token, 'PX', holdMs, 'NX')) !== 'OK') {
      if (Date.now() > deadline) {
        throw new TetherError('CLUSTER_UNAVAILABLE', `The cluster lock ${name} was not released in time.`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
    }
    try {
      return await fn();
    } finally {
      await this.run(RELEASE_LOCK, [key], [token]).catch(() => undefined);
    }
  }

  /**
   * Publishes and says how many subscribers (nodes) received it: 0 when it could not be sent
   * (logged, never thrown at the caller).
   */
  async publishCounted(channel: string, message: string | Buffer): Promise<number> {
    const redis = this.#commands;
    if (!redis) return 0;
    try {
      return await redis.publish(channel, message);
    } catch (error) {
      this.#options.logger.warn({ channel, err: (error as Error).message }, 'cluster message not sent');
      return 0;
    }
  }

  /** Fire and forget: a message that cannot be sent is logged, never thrown at the caller. */
  publish(channel: string, message: string | Buffer): void {
    const redis = this.#commands;
    if (!redis) return;
    redis.publish(channel, message).catch((error: Error) => {
      this.#options.logger.warn({ channel, err: error.message }, 'cluster message not sent');
    });
  }
}

/** host:port of a Redis URL, never its password. */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return '(unparsable URL)';
  }
}
