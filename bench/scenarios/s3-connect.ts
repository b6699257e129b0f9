/**
 * Scenario 3: connection storm. N devices connect with their tokens, `inFlight` at a time per
 * loader process; connects per second, connect latency (TCP connect → CONNACK) p50/p99, and the
 * broker's RSS once all are connected (total, and per device over the idle broker's RSS).
 * Tether checks each token (hash lookup) and opens a device session; bare Aedes allows all;
 * Mosquitto checks a password file with one user per device (same tokens as passwords).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrokerName } from '../lib/brokers.js';
import { bundle } from '../lib/paths.js';
import { sleep } from '../lib/proc.js';
import { ResultBuilder, type ScenarioResult } from '../lib/report.js';
import { fmt, latency } from '../lib/stats.js';
import { type Context, prepareTetherData, scratchDir, split, startBroker, startWorkers } from './context.js';

export async function runConnect(ctx: Context): Promise<ScenarioResult> {
  const { options } = ctx;
  const r = new ResultBuilder('s3', 'Scenario 3 — connection storm');
  const count = options.quick ? 2_000 : 10_000;
  const loaders = 2;
  const inFlight = 100;
  const brokers: BrokerName[] = [
    'Tether',
    'bare Aedes',
    ...(options.mosquitto ? (['Mosquitto'] as const) : []),
  ];
  r.result.config = {
    devices: count,
    loaderProcesses: loaders,
    inFlightPerLoader: inFlight,
    keepaliveSeconds: 600,
    cleanSession: true,
    tether: 'username "device", password = token (static tokens minted through POST /api/static-tokens)',
    mosquitto: 'password file, one user per device, token as password; allow_anonymous false',
    bareAedes: 'allow-all authenticate',
    runs: options.runs,
  };
  r.command(
    `loaders: ${loaders} × node ${bundle('connector')} (raw MQTT CONNECT, ${inFlight} in flight each)`,
  );
  const dir = scratchDir('connect');
  const dataDir = join(dir, 'tether');
  const { devices } = await prepareTetherData(dataDir, count);
  const users = devices.map((d, i): [string, string] => [`dev-${i}`, d.token]);
  const workers = await startWorkers(bundle('connector'), loaders, 'connector');
  try {
    for (let run = 1; run <= options.runs; run++) {
      for (const name of brokers) {
        const profiling = options.profile && name === 'Tether' && run === 1;
        const broker = await startBroker(name, r, {
          dataDir,
          mosqDir: join(dir, 'mosquitto'),
          users,
          ...(profiling ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'profiles')}`] } : {}),
        });
        try {
          await sleep(500);
          const rss0 = broker.rss();
          const clients = devices.map((d, i) =>
            name === 'Tether'
              ? { clientId: d.deviceId, username: 'device', password: d.token }
              : { clientId: `dev-${i}`, username: `dev-${i}`, password: d.token },
          );
          const shares = split(clients, loaders);
          const mark0 = profiling ? await broker.worker!.call<number>('hrtime') : 0;
          const cpu0 = broker.cpu();
          const results = await Promise.all(
            workers.map((w, i) =>
              w.call<{
                latencies: number[];
                failed: number;
                failures: string[];
                startedAt: number;
                endedAt: number;
              }>('storm', { port: broker.mqttPort, clients: shares[i], inFlight }),
            ),
          );
          if (profiling) {
            mkdirSync(join(dir, 'profiles'), { recursive: true });
            writeFileSync(
              join(dir, 'profiles', 'window.json'),
              JSON.stringify([mark0, await broker.worker!.call<number>('hrtime')]),
            );
          }
          const cpu = broker.cpu() - cpu0;
          const ok = results.reduce((a, x) => a + x.latencies.length, 0);
          const failed = results.reduce((a, x) => a + x.failed, 0);
          const wall =
            Math.max(...results.map((x) => x.endedAt)) - Math.min(...results.map((x) => x.startedAt));
          await sleep(1_000);
          const rss1 = broker.rss();
          const lat = latency(results.flatMap((x) => x.latencies));
          r.add('connects/s', name, '/s', (ok / wall) * 1000);
          r.add('connect latency p50', name, 'ms', lat.p50);
          r.add('connect latency p99', name, 'ms', lat.p99);
          r.add('broker CPU per connect', name, 'ms', (cpu * 1000) / Math.max(1, ok));
          r.add('RSS before the storm', name, 'MB', rss0 / 2 ** 20);
          r.add(`RSS with ${count} connected`, name, 'MB', rss1 / 2 ** 20);
          r.add('RSS per connected device', name, 'KB', (rss1 - rss0) / ok / 1024);
          r.add('failed connects', name, 'count', failed);
          if (failed)
            r.note(`${name} run ${run}: ${failed} failed, e.g. ${results.flatMap((x) => x.failures)[0]}`);
          console.log(
            `  S3 run ${run} ${name}: ${fmt((ok / wall) * 1000)} connects/s, ${fmt((cpu * 1000) / Math.max(1, ok))} ms CPU each, p99 ${fmt(lat.p99)} ms, RSS ${fmt(rss0 / 2 ** 20)} → ${fmt(rss1 / 2 ** 20)} MB (${fmt((rss1 - rss0) / ok / 1024)} KB/device), failed ${failed}`,
          );
          await Promise.all(workers.map((w) => w.call('close')));
        } finally {
          await broker.stop();
        }
      }
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
  for (const other of brokers.slice(1)) {
    const t = r.summary('connects/s', 'Tether');
    const o = r.summary('connects/s', other);
    if (t && o) r.add(`connects/s Tether / ${other}`, 'ratio', '×', t.median / o.median);
  }
  // Issue 16's targets, each a ratio to bare Aedes within this run.
  const median = (metric: string, subject: string) => r.summary(metric, subject)?.median ?? Number.NaN;
  const rate = median('connects/s', 'Tether') / median('connects/s', 'bare Aedes');
  const rssMetric = `RSS with ${count} connected`;
  const rss = median(rssMetric, 'Tether') / median(rssMetric, 'bare Aedes');
  const cpu = median('broker CPU per connect', 'Tether') / median('broker CPU per connect', 'bare Aedes');
  if (Number.isFinite(rate)) r.target('connects/s ≥ 1.0× bare Aedes', `${fmt(rate)}×`, rate >= 1);
  if (Number.isFinite(cpu))
    r.target('CPU per connect ≤ 1.0× bare Aedes (the rate, free of the loaders)', `${fmt(cpu)}×`, cpu <= 1);
  if (Number.isFinite(rss))
    r.target(
      `total RSS with ${count.toLocaleString('en-US')} connected ≤ 1.1× bare Aedes`,
      `${fmt(rss)}× (${fmt(median(rssMetric, 'Tether'))} MB)`,
      count >= 10_000 ? rss <= 1.1 : null,
    );
  return r.finish();
}
