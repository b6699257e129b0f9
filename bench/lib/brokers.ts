/**
 * The three brokers under test, each in its own process on loopback, each with the exact command
 * and configuration it ran with, and its RSS and CPU read from /proc alike.
 * - Tether: bench/out/tether-server.js (the real Gateway, configured by TETHER_* as `tether gateway
 *   start` is), real data folder, real token auth, topic mapping, validation and latest values.
 * - bare Aedes: bench/out/aedes-server.js, allow-all authenticate, nothing else.
 * - Mosquitto: Debian's package, generated config; password file where a scenario asks for one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { bundle } from './paths.js';
import { cpuSeconds, rssBytes, sleep, spawnLogged, Worker } from './proc.js';

export type BrokerName = 'Tether' | 'bare Aedes' | 'Mosquitto';

export interface Broker {
  name: BrokerName;
  pid: number;
  mqttPort: number;
  httpPort?: number;
  command: string;
  config: Record<string, unknown>;
  /** Node brokers: the IPC channel (stats, event-loop delay, set-up). */
  worker?: Worker;
  rss(): number;
  cpu(): number;
  stop(): Promise<void>;
}

export const ADMIN = { email: 'bench@example.com', password: 'bench password, long enough' };

/** The environment Tether runs with in every scenario; `extra` adds the scenario's own. */
export function tetherEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TETHER_DATA_DIR: dataDir,
    TETHER_HTTP_HOST: '127.0.0.1',
    TETHER_HTTP_PORT: '0',
    TETHER_MQTT_HOST: '127.0.0.1',
    TETHER_MQTT_PORT: '0',
    TETHER_ADMIN_EMAIL: ADMIN.email,
    TETHER_ADMIN_PASSWORD: ADMIN.password,
    ...extra,
  };
}

const shellEnv = (env: Record<string, string>) =>
  Object.entries(env)
    .map(([k, v]) => `${k}=${/^[\w./:-]*$/.test(v) ? v : `'${v}'`}`)
    .join(' ');

export async function startTether(
  dataDir: string,
  extra: Record<string, string> = {},
  options: { execArgv?: string[] } = {},
): Promise<Broker> {
  mkdirSync(dataDir, { recursive: true });
  const env = tetherEnv(dataDir, extra);
  // Only TETHER_* that the bench sets: none inherited from the shell running the bench.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TETHER_')));
  const script = bundle('tether-server');
  const worker = new Worker(script, {
    env: { ...clean, ...env },
    execArgv: options.execArgv ?? [],
    // cwd = data folder: no stray tether.config.json from the repository is read.
    cwd: dataDir,
    name: 'tether',
  });
  await worker.ready;
  const info = await worker.call<{ mqttPort: number; httpPort: number; config: Record<string, unknown> }>(
    'info',
  );
  const pid = worker.pid;
  return {
    name: 'Tether',
    pid,
    mqttPort: info.mqttPort,
    httpPort: info.httpPort,
    command: `${shellEnv({ ...env, TETHER_ADMIN_PASSWORD: '…' })} node ${[...(options.execArgv ?? []), script].join(' ')}`,
    config: info.config,
    worker,
    rss: () => rssBytes(pid),
    cpu: () => cpuSeconds(pid),
    stop: () => worker.stop(),
  };
}

export async function startAedes(
  options: { execArgv?: string[]; env?: Record<string, string> } = {},
): Promise<Broker> {
  const script = bundle('aedes-server');
  const worker = new Worker(script, {
    name: 'aedes',
    execArgv: options.execArgv ?? [],
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  await worker.ready;
  const info = await worker.call<{ mqttPort: number; config: Record<string, unknown> }>('info');
  const pid = worker.pid;
  return {
    name: 'bare Aedes',
    pid,
    mqttPort: info.mqttPort,
    command: `${options.env ? `${shellEnv(options.env)} ` : ''}node ${[...(options.execArgv ?? []), script].join(' ')}`,
    config: info.config,
    worker,
    rss: () => rssBytes(pid),
    cpu: () => cpuSeconds(pid),
    stop: () => worker.stop(),
  };
}

export const MOSQUITTO = '/usr/sbin/mosquitto';

/** Debian's mosquitto, installed on first use so that a fresh clone runs the whole bench. */
export function ensureMosquitto(): string | undefined {
  if (!existsSync(MOSQUITTO)) {
    console.log('Mosquitto is missing: apt-get update && apt-get install -y mosquitto');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const install =
      update.status === 0
        ? spawnSync('apt-get', ['install', '-y', '-qq', 'mosquitto'], { stdio: 'inherit', env })
        : update;
    if (install.status !== 0 || !existsSync(MOSQUITTO)) {
      console.log('Could not install Mosquitto (needs root and Debian/Ubuntu): its columns stay empty.');
      return undefined;
    }
  }
  const help = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' });
  return /mosquitto version ([\d.]+)/.exec(`${help.stdout}${help.stderr}`)?.[1] ?? 'unknown';
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await sleep(50);
  }
}

/**
 * Mosquitto on loopback: anonymous (allow-all) unless `users` is given, then a password file
 * (hashed by mosquitto_passwd -U, PBKDF2-SHA512 as Mosquitto 2.0 writes it) and no anonymous.
 */
export async function startMosquitto(dir: string, users?: Array<[string, string]>): Promise<Broker> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const lines = [
    `listener ${port} 127.0.0.1`,
    'persistence false',
    'max_connections -1',
    'log_dest stdout',
    // As root, Mosquitto drops to the `mosquitto` user, who cannot read a password file in the
    // bench's scratch folder; the bench owns this process anyway.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
  ];
  if (users) {
    const file = join(dir, 'passwords');
    if (!existsSync(file)) {
      writeFileSync(file, `${users.map(([u, p]) => `${u}:${p}`).join('\n')}\n`, { mode: 0o600 });
      execFileSync('mosquitto_passwd', ['-U', file]);
    }
    lines.push('allow_anonymous false', `password_file ${file}`);
  } else {
    lines.push('allow_anonymous true');
  }
  const conf = join(dir, `mosquitto-${port}.conf`);
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const { child } = spawnLogged(MOSQUITTO, ['-c', conf], 'mosquitto');
  await waitForPort(port);
  const pid = child.pid!;
  return {
    name: 'Mosquitto',
    pid,
    mqttPort: port,
    command: `${MOSQUITTO} -c ${conf}`,
    config: { conf: lines },
    rss: () => rssBytes(pid),
    cpu: () => cpuSeconds(pid),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
