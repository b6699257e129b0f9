/**
 * The gateway the fleet benches measure against: `node dist/tether.js gateway start` in its own
 * process (the real command), on free loopback ports with a temp data folder and a known admin,
 * so the fleet's CPU and memory and the gateway's are read apart (/proc).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayClient } from '../shared/gateway-client.js';
import { cpuSeconds, rssBytes } from './lib/proc.js';

export const BENCH_ADMIN = { email: 'bench@example.com', password: 'fleet bench password 1' };

export interface BenchGateway {
  pid: number;
  baseUrl: string;
  dataDir: string;
  cpuSeconds(): number;
  rssBytes(): number;
  admin(): Promise<GatewayClient>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startBenchGateway(cli: string): Promise<BenchGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tether-fleet-bench-'));
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      cli,
      'gateway',
      'start',
      '--data-dir',
      dataDir,
      '--http-port',
      `${httpPort}`,
      '--mqtt-port',
      `${mqttPort}`,
    ],
    {
      env: {
        ...process.env,
        TETHER_ADMIN_EMAIL: BENCH_ADMIN.email,
        TETHER_ADMIN_PASSWORD: BENCH_ADMIN.password,
        TETHER_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`${baseUrl}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (up) break;
    if (i > 200 || child.exitCode !== null) throw new Error('the gateway did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const pid = child.pid!;
  child.once('exit', (code, signal) => {
    if (!stopping)
      process.stderr.write(`\nthe gateway (pid ${pid}) exited on its own: code ${code}, signal ${signal}\n`);
  });
  let stopping = false;
  return {
    pid,
    baseUrl,
    dataDir,
    cpuSeconds: () => cpuSeconds(pid),
    rssBytes: () => rssBytes(pid),
    admin: async () => {
      const client = new GatewayClient({ baseUrl });
      await client.login(BENCH_ADMIN.email, BENCH_ADMIN.password);
      return client;
    },
    stop: async () => {
      stopping = true;
      // It may have gone already (killed from outside): then there is nothing to wait for.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function argValue(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}
