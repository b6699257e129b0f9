/**
 * The services a gateway shares with other nodes: its store in PostgreSQL (store.backend =
 * postgres) and the cluster's Redis (cluster.redisUrl). Each is reached with the configured
 * settings and only read: nothing is created or migrated. Messages name the server, never its
 * password.
 */
import { redisAddress } from '../cluster/redis-link.js';
import { postgresAddress } from '../store/postgres/address.js';
import { MIGRATIONS } from '../store/postgres/schema.js';
import type { CheckResult, DoctorEnv } from './doctor.js';
import { fail, ok, warn } from './doctor.js';

const reason = (error: unknown) => (error as Error).message || String(error);

export async function checkPostgres(url: string, env: DoctorEnv): Promise<CheckResult> {
  const where = `PostgreSQL at ${postgresAddress(url)}`;
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: env.timeoutMs,
    statement_timeout: env.timeoutMs,
  });
  client.on('error', () => {}); // a connection lost after the queries: nothing more to report
  try {
    await client.connect();
  } catch (error) {
    return fail(
      'store',
      'STORE_UNAVAILABLE',
      `${where} cannot be reached: ${reason(error)}. Check store.url (TETHER_STORE_URL): the server runs, the database exists, and the user may connect.`,
    );
  }
  try {
    const { rows } = await client.query<{ migrated: boolean }>(
      "SELECT to_regclass('kysely_migration') IS NOT NULL AS migrated",
    );
    if (!rows[0]?.migrated) {
      return ok('store', `${where}: an empty database; the gateway makes its tables at its first start`);
    }
    const applied = (
      await client.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name')
    ).rows.map((row) => row.name);
    const known = Object.keys(MIGRATIONS);
    const newer = applied.filter((name) => !known.includes(name));
    if (newer.length > 0) {
      return fail(
        'store',
        'STORE_INVALID',
        `${where} has a schema from a newer Tether (${newer.join(', ')}): run that version here, or restore a backup into an empty database.`,
      );
    }
    const counts = (
      await client.query<Record<'orgs' | 'users' | 'devices', string>>(
        'SELECT (SELECT count(*) FROM orgs) AS orgs, (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM devices) AS devices',
      )
    ).rows[0]!;
    const summary = `${where}: schema ${applied.length}, ${counts.orgs} organizations, ${counts.users} users, ${counts.devices} devices`;
    if (applied.length < known.length) {
      return warn(
        'store',
        `${summary}; the next start upgrades it to schema ${known.length}. Take a backup first: tether backup.`,
      );
    }
    return ok('store', summary);
  } catch (error) {
    return fail('store', 'STORE_UNAVAILABLE', `${where} answered, but could not be read: ${reason(error)}.`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function checkRedis(url: string, env: DoctorEnv): Promise<CheckResult> {
  const where = `Redis at ${redisAddress(url)}`;
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: env.timeoutMs,
    commandTimeout: env.timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => {}); // reported below, once
  try {
    await redis.connect();
    const info = await redis.info('server');
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown version';
    return ok('cluster', `${where} answers (Redis ${version}): this gateway joins the nodes that share it`);
  } catch (error) {
    return fail(
      'cluster',
      'CLUSTER_UNAVAILABLE',
      `${where} cannot be reached: ${reason(error)}. Check cluster.redisUrl (TETHER_CLUSTER_REDIS_URL): the server runs and takes this password.`,
    );
  } finally {
    redis.disconnect();
  }
}
