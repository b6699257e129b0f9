/**
 * A real Redis for the cluster tests: Debian's redis-server, started in a temp folder on a free
 * loopback port, with no persistence, and stopped (folder removed) afterwards. Without the binary
 * the tests skip, except under CI=true, where a missing server fails them (.ci/run installs it).
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess } from './server-process.js';

const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));

/** Skip the Redis tests only off CI: under CI=true a missing server is a failure. */
export const SKIP_REDIS = REDIS_SERVER === undefined && process.env.CI !== 'true';

export interface TestRedis {
  url: string;
  port: number;
  /** The server's process id. */
  pid: number;
  /** Stops the server (SIGKILL when `hard`, as a crash would) and removes its folder. */
  stop(options?: { hard?: boolean }): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  if (!REDIS_SERVER) throw new Error('No redis-server: apt-get install redis-server (CI installs it).');
  const dir = await mkdtemp(join(tmpdir(), 'tether-redis-'));
  const server = await startServerProcess({
    name: 'redis-server',
    binary: REDIS_SERVER,
    args: (port) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    readyText: 'Ready to accept connections',
    readyTimeoutMs: 10_000,
    dir,
    stopSignal: 'SIGTERM',
  });
  return {
    url: `redis://127.0.0.1:${server.port}`,
    port: server.port,
    pid: server.child.pid ?? 0,
    stop: server.stop,
  };
}
