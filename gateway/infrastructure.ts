/**
 * The one place that chooses the gateway's implementations from its configuration: one node
 * (everything in this process, the embedded store in the data folder) or a node of a cluster
 * (`cluster.redisUrl` set: limiters, events, presence and the signing keys shared through Redis
 * and the store). Everything here is a Part; app.ts starts them in the order of `parts`.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Clock } from '../shared/clock.js';
import type { TetherConfig } from '../shared/config.js';
import { type FailureLimiterFactory, MemoryFailureLimiter } from '../shared/failure-limiter.js';
import { type Logger, moduleLogger } from '../shared/logger.js';
import { MemorySessionRevocations, type SessionRevocations } from './accounts/session-revocations.js';
import { KeySet } from './accounts/signing-keys.js';
import type { RedisEventBus } from './cluster/redis-event-bus.js';
import type { RedisLink } from './cluster/redis-link.js';
import type { RedisPresence } from './cluster/redis-presence.js';
import type { RedisSessionRevocations } from './cluster/redis-session-revocations.js';
import type { DeviceConnections } from './devices/device-connections.js';
import { LocalPresence, type Presence } from './devices/presence.js';
import { TokenCache } from './devices/token-cache.js';
import { type EventBus, LocalEventBus } from './events.js';
import { createMailer, type Mailer } from './mail/mailer.js';
import { type Part, part } from './part.js';
import { EmbeddedStore } from './store/embedded-store.js';
import type { Store } from './store/store.js';

/**
 * The cluster's and PostgreSQL's modules are loaded only by a gateway configured for them:
 * ioredis, pg and kysely hold ≈ 30 MB of a one-node gateway's memory otherwise (bench S3).
 */
async function loadClusterModules() {
  const [link, events, limiter, presence, connections, revocations] = await Promise.all([
    import('./cluster/redis-link.js'),
    import('./cluster/redis-event-bus.js'),
    import('./cluster/redis-failure-limiter.js'),
    import('./cluster/redis-presence.js'),
    import('./cluster/cluster-connections.js'),
    import('./cluster/redis-session-revocations.js'),
  ]);
  return {
    RedisLink: link.RedisLink,
    RedisEventBus: events.RedisEventBus,
    RedisFailureLimiter: limiter.RedisFailureLimiter,
    RedisPresence: presence.RedisPresence,
    ClusterConnections: connections.ClusterConnections,
    RedisSessionRevocations: revocations.RedisSessionRevocations,
  };
}

export interface InfrastructureOptions {
  config: TetherConfig;
  clock: Clock;
  logger: Logger;
  /** The data folder, resolved; undefined for a gateway that lives in memory. */
  dataDir: string | undefined;
  /** A store made elsewhere (tests, tools); default: chosen from the configuration. */
  store?: Store | undefined;
  /** Told how long each write of the embedded store's journal took to reach the disk (metrics). */
  onStoreWrite?: (ms: number) => void;
}

export interface Infrastructure {
  store: Store;
  /** The cluster's Redis; undefined for one node. */
  cluster: RedisLink | undefined;
  keys: KeySet;
  events: EventBus;
  /** Which devices are online, and on which node. */
  presence: Presence;
  /** Device tokens seen on this node, for a store that answers over the network; none for the embedded one. */
  tokens: TokenCache | undefined;
  /** Ended sessions: this process's set, or (in a cluster) one every node hears of at once. */
  revocations: SessionRevocations;
  /**
   * How the device services reach a device: this node's broker alone, or (in a cluster) the
   * broker of whichever node holds the device. A part to start after the infrastructure.
   */
  routeConnections(broker: DeviceConnections): { connections: DeviceConnections; parts: Part[] };
  limiters: FailureLimiterFactory;
  mailer: Mailer;
  /** Every part above, in the order they start (and the reverse of the order they stop). */
  parts: Part[];
}

export async function buildInfrastructure(options: InfrastructureOptions): Promise<Infrastructure> {
  const { config, clock, logger, dataDir } = options;
  const store = options.store ?? (await buildStore(options));
  const redis = config.cluster.redisUrl ? await loadClusterModules() : undefined;
  const cluster =
    redis && config.cluster.redisUrl
      ? new redis.RedisLink({ url: config.cluster.redisUrl, logger: moduleLogger(logger, 'cluster') })
      : undefined;
  const keyOptions = {
    clock,
    logger: moduleLogger(logger, 'signing-keys'),
    rotateAfterMs: config.auth.signingKeyRotationDays * 86_400_000,
    tokenTtlMs: config.auth.accessTokenTtlSeconds * 1000,
  };
  const keys = cluster
    ? KeySet.shared(store, { ...keyOptions, lock: (name, fn) => cluster.withLock(name, fn) })
    : KeySet.local(dataDir, keyOptions);
  const limiters =
    redis && cluster
      ? redis.RedisFailureLimiter.factory(cluster, clock)
      : MemoryFailureLimiter.factory(clock);
  // Unique per process start: a restarted node is a new node, and its old one is swept as dead.
  const nodeId = `${hostname()
    .replace(/[^\w.-]/g, '_')
    .slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const events =
    redis && cluster
      ? new redis.RedisEventBus({
          link: cluster,
          nodeId,
          readDevice: (id) => store.devices.get(id),
          logger: moduleLogger(logger, 'events'),
          clock,
          nodeTimeoutMs: config.cluster.nodeTimeoutSeconds * 1000,
        })
      : new LocalEventBus(moduleLogger(logger, 'events'));
  const presence =
    redis && cluster
      ? new redis.RedisPresence({
          link: cluster,
          nodeId,
          clock,
          logger: moduleLogger(logger, 'presence'),
          nodeTimeoutMs: config.cluster.nodeTimeoutSeconds * 1000,
        })
      : new LocalPresence();
  const routeConnections = (broker: DeviceConnections) => {
    if (!redis || !cluster) return { connections: broker, parts: [] };
    const routing = new redis.ClusterConnections({
      local: broker,
      presence,
      link: cluster,
      clock,
      logger: moduleLogger(logger, 'routing'),
    });
    return { connections: routing, parts: [routing] };
  };
  // The embedded store's lookup is a map in memory already; PostgreSQL's is a query per CONNECT.
  const tokens =
    store.backend === 'embedded'
      ? undefined
      : new TokenCache({ clock, ...(cluster ? { trusted: () => cluster.reachable } : {}) });
  // Back from a Redis outage: a token revoked elsewhere meanwhile was never heard of here.
  if (tokens && cluster) cluster.onReconnect(() => tokens.clear());
  const mailer = createMailer({
    config: config.mail,
    outboxDir: config.mail.outboxDir
      ? resolve(config.mail.outboxDir)
      : dataDir
        ? join(dataDir, 'outbox')
        : undefined,
    clock,
    logger: moduleLogger(logger, 'mail'),
  });
  const revocations =
    redis && cluster
      ? new redis.RedisSessionRevocations(cluster, clock)
      : new MemorySessionRevocations(clock);
  const parts: Part[] = [
    part(
      'store',
      () => store.open(),
      () => store.close(),
    ),
    ...(cluster
      ? [
          cluster,
          events as RedisEventBus,
          presence as RedisPresence,
          revocations as InstanceType<typeof RedisSessionRevocations>,
        ]
      : []),
    keys,
    mailer,
  ];
  return {
    store,
    cluster,
    keys,
    events,
    presence,
    tokens,
    revocations,
    routeConnections,
    limiters,
    mailer,
    parts,
  };
}

async function buildStore({
  config,
  clock,
  logger,
  dataDir,
  onStoreWrite,
}: InfrastructureOptions): Promise<Store> {
  if (config.store.backend === 'postgres') {
    const { PostgresStore } = await import('./store/postgres/postgres-store.js');
    return new PostgresStore({ url: config.store.url });
  }
  const log = moduleLogger(logger, 'store');
  return new EmbeddedStore({
    ...(dataDir ? { file: join(dataDir, 'tether.json') } : {}),
    telemetryFlushDelayMs: config.store.telemetryFlushDelayMs,
    compactMinBytes: config.store.compactMinBytes,
    clock,
    log: (level, message, details) => log[level](details ?? {}, message),
    ...(onStoreWrite ? { onJournalWrite: (info: { ms: number }) => onStoreWrite(info.ms) } : {}),
  });
}
