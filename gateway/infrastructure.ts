/**
 * The one place that chooses the gateway's implementations from its configuration: one node
 * (everything in this process, the embedded store in the data folder) or a node of a cluster
 * (`cluster.redisUrl` set: limiters, events, presence and the signing keys shared through Redis
 * and the store). Everything here is a Part; app.ts starts them in the order of `parts`.
 */
import { join, resolve } from 'node:path';
import type { Clock } from '../shared/clock.js';
import type { TetherConfig } from '../shared/config.js';
import { type FailureLimiterFactory, MemoryFailureLimiter } from '../shared/failure-limiter.js';
import { type Logger, moduleLogger } from '../shared/logger.js';
import { KeySet } from './accounts/signing-keys.js';
import { RedisFailureLimiter } from './cluster/redis-failure-limiter.js';
import { RedisLink } from './cluster/redis-link.js';
import { EventBus } from './events.js';
import { createMailer, type Mailer } from './mail/mailer.js';
import { type Part, part } from './part.js';
import { EmbeddedStore } from './store/embedded-store.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import type { Store } from './store/store.js';

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
  limiters: FailureLimiterFactory;
  mailer: Mailer;
  /** Every part above, in the order they start (and the reverse of the order they stop). */
  parts: Part[];
}

export function buildInfrastructure(options: InfrastructureOptions): Infrastructure {
  const { config, clock, logger, dataDir } = options;
  const store = options.store ?? buildStore(options);
  const cluster = config.cluster.redisUrl
    ? new RedisLink({ url: config.cluster.redisUrl, logger: moduleLogger(logger, 'cluster') })
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
  const limiters = cluster
    ? RedisFailureLimiter.factory(cluster, clock)
    : MemoryFailureLimiter.factory(clock);
  const events = new EventBus(moduleLogger(logger, 'events'));
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
  const parts: Part[] = [
    part(
      'store',
      () => store.open(),
      () => store.close(),
    ),
    ...(cluster ? [cluster] : []),
    keys,
    mailer,
  ];
  return { store, cluster, keys, events, limiters, mailer, parts };
}

function buildStore({ config, clock, logger, dataDir, onStoreWrite }: InfrastructureOptions): Store {
  if (config.store.backend === 'postgres') return new PostgresStore({ url: config.store.url });
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
