/**
 * The two services a cluster of gateways shares — a PostgreSQL and a Redis — started for a bench
 * scenario in temp folders on free loopback ports, by the same launchers the tests use (Debian's
 * server binaries; as root, PostgreSQL runs as the `postgres` user). Their CPU is read from /proc
 * like the brokers': PostgreSQL's with its backends.
 */
import { startPostgres, type TestPostgres } from '../../test/support/postgres-server.js';
import { startRedis, type TestRedis } from '../../test/support/redis-server.js';
import { cpuSeconds, treeCpuSeconds } from './proc.js';

export interface ClusterServices {
  postgres: TestPostgres;
  redis: TestRedis;
  /** A new, empty database, and the TETHER_* environment of a node using it and the Redis. */
  database(name: string): Promise<Record<string, string>>;
  /** CPU seconds so far: PostgreSQL (server and backends) and Redis. */
  cpu(): { postgres: number; redis: number };
  stop(): Promise<void>;
}

export async function startClusterServices(): Promise<ClusterServices> {
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  // Ctrl-C or a failure ends the bench with process.exit: the servers go with it.
  const kill = () => {
    for (const pid of [postgres.pid, redis.pid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  };
  process.once('exit', kill);
  return {
    postgres,
    redis,
    database: async (name) => ({
      TETHER_STORE_BACKEND: 'postgres',
      TETHER_STORE_URL: await postgres.createDatabase(name),
      TETHER_CLUSTER_REDIS_URL: redis.url,
    }),
    cpu: () => ({ postgres: treeCpuSeconds(postgres.pid), redis: cpuSeconds(redis.pid) }),
    stop: async () => {
      process.off('exit', kill);
      await Promise.all([postgres.stop(), redis.stop()]);
    },
  };
}
