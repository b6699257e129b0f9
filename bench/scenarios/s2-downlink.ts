/**
 * Scenario 2: downlink fan-out. N connected devices subscribe to `downlink/#`; an app process writes
 * the `cmd` datastream of each, round-robin, through PUT /api/devices/:id/datastreams/cmd
 * (validated, stored, audited, published on the device's `downlink/ds/cmd`). Commands per second
 * delivered, and latency from the API call to the device's receipt. Tether only: bare brokers
 * have no HTTP API.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN } from '../lib/brokers.js';
import { bundle } from '../lib/paths.js';
import { ResultBuilder, type ScenarioResult } from '../lib/report.js';
import { fmt, latency } from '../lib/stats.js';
import {
  type Context,
  prepareTetherData,
  scratchDir,
  split,
  startBroker,
  startWorkers,
  waitForCount,
} from './context.js';

export async function runDownlink(ctx: Context): Promise<ScenarioResult> {
  const { options } = ctx;
  const r = new ResultBuilder('s2', 'Scenario 2 — downlink fan-out through the HTTP API');
  const count = options.quick ? 200 : 1_000;
  const commands = options.quick ? 1_000 : 5_000;
  const concurrency = 32;
  r.result.config = {
    devices: count,
    commandsPerRun: commands,
    httpConcurrency: concurrency,
    runs: options.runs,
  };
  r.command(`devices: 2 × node ${bundle('downlink-receivers')} (raw MQTT, subscribe downlink/#)`);
  r.command(`app: node ${bundle('downlink-driver')} (fetch, PUT /api/devices/:id/datastreams/cmd)`);
  const dir = scratchDir('downlink');
  const dataDir = join(dir, 'tether');
  const { devices } = await prepareTetherData(dataDir, count);
  const receivers = await startWorkers(bundle('downlink-receivers'), 2, 'receivers');
  const [driver] = await startWorkers(bundle('downlink-driver'), 1, 'driver');
  try {
    for (let run = 1; run <= options.runs; run++) {
      const profiling = options.profile && run === 1;
      const profiles = join(dir, 'profiles');
      const broker = await startBroker('Tether', r, {
        dataDir,
        mosqDir: '',
        ...(profiling ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${profiles}`] } : {}),
      });
      try {
        const shares = split(
          devices.map((d) => ({ clientId: d.deviceId, username: 'device', password: d.token })),
          receivers.length,
        );
        await Promise.all(
          receivers.map((w, i) => w.call('connect', { port: broker.mqttPort, clients: shares[i] })),
        );
        const baseUrl = `http://127.0.0.1:${broker.httpPort}`;
        const accessToken = await driver!.call<string>('login', {
          baseUrl,
          email: ADMIN.email,
          password: ADMIN.password,
        });
        const mark0 = profiling ? await broker.worker!.call<number>('hrtime') : 0;
        const cpu0 = broker.cpu();
        const result = await driver!.call<{
          httpLatencies: number[];
          errors: number;
          offline: number;
          firstError: string;
          startedAt: number;
        }>('run', {
          baseUrl,
          accessToken,
          deviceIds: devices.map((d) => d.deviceId),
          commands,
          concurrency,
        });
        await waitForCount(
          async () =>
            (await Promise.all(receivers.map((w) => w.call<{ count: number }>('stats')))).reduce(
              (a, s) => a + s.count,
              0,
            ),
          commands - result.errors - result.offline,
        );
        const cpu = broker.cpu() - cpu0;
        if (profiling) {
          mkdirSync(profiles, { recursive: true });
          writeFileSync(
            join(profiles, 'window.json'),
            JSON.stringify([mark0, await broker.worker!.call<number>('hrtime')]),
          );
        }
        const taken = await Promise.all(
          receivers.map((w) => w.call<{ latencies: number[]; lastAt: number }>('take')),
        );
        const lat = latency(taken.flatMap((t) => t.latencies));
        const http = latency(result.httpLatencies);
        const lastAt = Math.max(...taken.map((t) => t.lastAt));
        r.add('commands/s delivered', 'Tether', '/s', (lat.n / (lastAt - result.startedAt)) * 1000);
        r.add('gateway CPU per command', 'Tether', 'ms', (cpu * 1000) / commands);
        r.add('API call → device p50', 'Tether', 'ms', lat.p50);
        r.add('API call → device p99', 'Tether', 'ms', lat.p99);
        r.add('HTTP response p50', 'Tether', 'ms', http.p50);
        r.add('HTTP response p99', 'Tether', 'ms', http.p99);
        r.add('not delivered', 'Tether', 'count', commands - lat.n);
        if (result.errors) r.note(`run ${run}: ${result.errors} HTTP errors, first: ${result.firstError}`);
        console.log(
          `  S2 run ${run}: ${fmt((lat.n / (lastAt - result.startedAt)) * 1000)} commands/s, ${fmt((cpu * 1000) / commands)} ms CPU each, p50 ${fmt(lat.p50)} ms, p99 ${fmt(lat.p99)} ms, delivered ${lat.n}/${commands}`,
        );
        await Promise.all(receivers.map((w) => w.call('close')));
      } finally {
        await broker.stop();
      }
    }
  } finally {
    await Promise.all([...receivers, driver!].map((w) => w.stop()));
  }
  return r.finish();
}
