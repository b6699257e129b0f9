/** What every scenario gets: options from the command line, scratch space, and shared helpers. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Broker, startAedes, startMosquitto, startTether } from '../lib/brokers.js';
import { OUT_DIR } from '../lib/paths.js';
import { now, sleep, Worker } from '../lib/proc.js';
import type { ResultBuilder } from '../lib/report.js';

export interface BenchOptions {
  runs: number;
  quick: boolean;
  profile: boolean;
  mosquitto: boolean;
  /** Peak Tether QoS 0 rate measured by S1 in this invocation (S6 runs at 80 % of it). */
  tetherPeak?: number;
}

export interface Context {
  options: BenchOptions;
  scratch: string;
}

export const scratchDir = (name: string): string => join(OUT_DIR, 'scratch', `${name}-${Date.now()}`);

export interface DeviceFile {
  templateId: string;
  devices: Array<{ deviceId: string; token: string; claimCode: string }>;
}

/** A data folder holding `count` static-token devices, made through the gateway's HTTP API. */
export async function prepareTetherData(
  dataDir: string,
  count: number,
  viaApi = count,
  /** TETHER_* of the gateway (a cluster's store and Redis). */
  env: Record<string, string> = {},
): Promise<DeviceFile & { file: string }> {
  const gw = await startTether(dataDir, env);
  const file = join(dataDir, '..', `${count}-devices.json`);
  try {
    await gw.worker!.call('setup', { devices: count, viaApi, file });
  } finally {
    await gw.stop();
  }
  return { ...(JSON.parse(readFileSync(file, 'utf8')) as DeviceFile), file };
}

/** Start one broker by name, recording its command; Mosquitto with a password file when `users`. */
export async function startBroker(
  name: Broker['name'],
  r: ResultBuilder,
  o: {
    dataDir: string;
    env?: Record<string, string>;
    mosqDir: string;
    users?: Array<[string, string]>;
    execArgv?: string[];
  },
): Promise<Broker> {
  const broker =
    name === 'Tether'
      ? await startTether(o.dataDir, o.env, o.execArgv ? { execArgv: o.execArgv } : {})
      : name === 'bare Aedes'
        ? await startAedes()
        : await startMosquitto(o.mosqDir, o.users);
  r.command(`${name}: ${broker.command}`);
  return broker;
}

export async function startWorkers(
  script: string,
  n: number,
  name: string,
  execArgv: string[] = [],
): Promise<Worker[]> {
  const workers = Array.from({ length: n }, (_, i) => new Worker(script, { name: `${name}-${i}`, execArgv }));
  await Promise.all(workers.map((w) => w.ready));
  return workers;
}

export const split = <T>(items: readonly T[], parts: number): T[][] =>
  Array.from({ length: parts }, (_, p) => items.filter((_, i) => i % parts === p));

/** Poll `read` until it reaches `target` or stops moving for `idleMs`. */
export async function waitForCount(
  read: () => Promise<number>,
  target: number,
  idleMs = 3_000,
): Promise<number> {
  let last = -1;
  let lastChange = now();
  for (;;) {
    const value = await read();
    if (value >= target) return value;
    if (value !== last) {
      last = value;
      lastChange = now();
    } else if (now() - lastChange > idleMs) return value;
    await sleep(25);
  }
}
