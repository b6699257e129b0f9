/**
 * Starts a server binary for the tests (redis-server, postgres) on a free loopback port and
 * waits until its log says it is ready; tries a few ports, since another process may take one
 * between freePort() and the server's bind. Stops it (SIGKILL when `hard`, as a crash would) and
 * removes its temp folder.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';

export interface ServerProcess {
  port: number;
  child: ChildProcess;
  /** Stops the server (`hard`: SIGKILL) and removes `dir`. */
  stop(options?: { hard?: boolean }): Promise<void>;
}

export interface ServerLaunch {
  /** For errors: "redis-server", "postgres". */
  name: string;
  binary: string;
  args: (port: number) => string[];
  /** Log text that says the server accepts connections. */
  readyText: string;
  readyTimeoutMs: number;
  /** The server's temp folder, removed when it stops (or fails to start). */
  dir: string;
  /** The signal of a graceful stop. */
  stopSignal: NodeJS.Signals;
  spawnOptions?: SpawnOptions;
}

/** A free loopback port: bound on port 0 and released (these servers cannot take port 0). */
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

export async function startServerProcess(launch: ServerLaunch): Promise<ServerProcess> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(launch.binary, launch.args(port), {
      ...launch.spawnOptions,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await ready(child, launch);
    } catch (error) {
      child.kill('SIGKILL');
      if (attempt < 4) continue;
      await rm(launch.dir, { recursive: true, force: true });
      throw error;
    }
    return {
      port,
      child,
      stop: async ({ hard = false } = {}) => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill(hard ? 'SIGKILL' : launch.stopSignal);
          await exited;
        }
        await rm(launch.dir, { recursive: true, force: true });
      },
    };
  }
}

/** Resolves once the log says ready; rejects when the server exits first or takes too long. */
function ready(child: ChildProcess, launch: ServerLaunch): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    let started = false;
    const timer = setTimeout(
      () => reject(new Error(`${launch.name} did not start:\n${output}`)),
      launch.readyTimeoutMs,
    );
    // Read the log for ever (a full pipe would stall the server), keep it only until ready.
    const collect = (chunk: Buffer) => {
      if (started) return;
      output += chunk.toString();
      if (output.includes(launch.readyText)) {
        started = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`${launch.name} exited with ${code}:\n${output}`));
    });
  });
}
