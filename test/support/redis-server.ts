/**
 * A real Redis for the cluster tests: Debian's redis-server, started in a temp folder on a free
 * loopback port, with no persistence, and stopped (folder removed) afterwards. Without the binary
 * the tests skip, except under CI=true, where a missing server fails them (.ci/run installs it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));

/** Skip the Redis tests only off CI: under CI=true a missing server is a failure. */
export const SKIP_REDIS = REDIS_SERVER === undefined && process.env.CI !== 'true';

export interface TestRedis {
  url: string;
  port: number;
  /** Stops the server (SIGKILL when `hard`, as a crash would) and removes its folder. */
  stop(options?: { hard?: boolean }): Promise<void>;
}

/** A free loopback port: bound on port 0 and released (redis-server cannot take port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startRedis(): Promise<TestRedis> {
  if (!REDIS_SERVER) throw new Error('No redis-server: apt-get install redis-server (CI installs it).');
  const dir = await mkdtemp(join(tmpdir(), 'tether-redis-'));
  // Another process may take the port between freePort() and the bind: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      await ready(child);
    } catch (error) {
      child.kill('SIGKILL');
      if (attempt < 4) continue;
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      stop: async ({ hard = false } = {}) => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill(hard ? 'SIGKILL' : 'SIGTERM');
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}

/** Resolves on "Ready to accept connections"; rejects when the server exits first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    let started = false;
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    // Read the log for ever (a full pipe would stall the server), keep it only until ready.
    const collect = (chunk: Buffer) => {
      if (started) return;
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        started = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
  });
}
