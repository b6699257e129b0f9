/**
 * Scenario 2: downlink fan-out. N connected devices subscribe to `downlink/#`; an app process writes
 * the `cmd` datastream of each, round-robin, through PUT /api/devices/:id/datastreams/cmd
 * (validated, stored, audited, published on the device's `downlink/ds/cmd`). Commands per second
 * delivered at the peak (32 requests in flight), and latency from the API call to the device's
 * receipt at a steady 1,000 commands/s (open loop). Tether only: bare brokers have no HTTP API.
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

/** One app sends from one address far faster than a person: the per-address API limit is lifted. */
const TETHER_API_ENV = { TETHER_HTTP_REQUESTS_PER_MINUTE: '0' };
/** The rate at which issue 16's latency target is measured. */
const PACED_RATE = 1_000;

interface DriverResult {
  httpLatencies: number[];
  errors: number;
  offline: number;
  firstError: string;
  startedAt: number;
}

export async function runDownlink(ctx: Context): Promise<ScenarioResult> {
  const { options } = ctx;
  const r = new ResultBuilder('s2', 'Scenario 2 — downlink fan-out through the HTTP API');
  const count = options.quick ? 200 : 1_000;
  const commands = options.quick ? 2_000 : 10_000;
  const paced = options.quick ? 2_000 : 5_000;
  const concurrency = 32;
  r.result.config = {
    devices: count,
    commandsPerRun: commands,
    httpConcurrency: concurrency,
    pacedPhase: `${paced} commands open loop at ${PACED_RATE}/s (latency target)`,
    tether: { ...TETHER_API_ENV, note: 'per-address API limit (default 6,000 a minute) lifted' },
    runs: options.runs,
  };
  r.command(`devices: 2 × node ${bundle('downlink-receivers')} (raw MQTT, subscribe downlink/#)`);
  r.command(
    `app: node ${bundle('downlink-driver')} (node:http keep-alive, PUT /api/devices/:id/datastreams/cmd)`,
  );
  const dir = scratchDir('downlink');
  const dataDir = join(dir, 'tether');
  const { devices } = await prepareTetherData(dataDir, count);
  const receivers = await startWorkers(bundle('downlink-receivers'), 2, 'receivers');
  const [driver] = await startWorkers(bundle('downlink-driver'), 1, 'driver');
  const deviceIds = devices.map((d) => d.deviceId);
  try {
    for (let run = 1; run <= options.runs; run++) {
      const profiling = options.profile && run === 1;
      const profiles = join(dir, 'profiles');
      const broker = await startBroker('Tether', r, {
        dataDir,
        mosqDir: '',
        env: TETHER_API_ENV,
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
        /** One phase: the driver's commands, then every delivery counted at the devices. */
        const phase = async (n: number, how: { concurrency: number } | { rate: number }) => {
          const cpu0 = broker.cpu();
          const result = await driver!.call<DriverResult>('run', {
            baseUrl,
            accessToken,
            deviceIds,
            commands: n,
            ...how,
          });
          await waitForCount(
            async () =>
              (await Promise.all(receivers.map((w) => w.call<{ count: number }>('stats')))).reduce(
                (a, s) => a + s.count,
                0,
              ),
            n - result.errors - result.offline,
          );
          const cpu = broker.cpu() - cpu0;
          const taken = await Promise.all(
            receivers.map((w) => w.call<{ latencies: number[]; lastAt: number }>('take')),
          );
          const lat = latency(taken.flatMap((t) => t.latencies));
          const lastAt = Math.max(...taken.map((t) => t.lastAt));
          if (result.errors) r.note(`run ${run}: ${result.errors} HTTP errors, first: ${result.firstError}`);
          return {
            lat,
            http: latency(result.httpLatencies),
            perSec: (lat.n / (lastAt - result.startedAt)) * 1000,
            cpuMs: (cpu * 1000) / n,
            lost: n - lat.n,
          };
        };
        await phase(Math.min(500, commands), { concurrency }); // warm-up
        const mark0 = profiling ? await broker.worker!.call<number>('hrtime') : 0;
        const peak = await phase(commands, { concurrency });
        if (profiling) {
          mkdirSync(profiles, { recursive: true });
          writeFileSync(
            join(profiles, 'window.json'),
            JSON.stringify([mark0, await broker.worker!.call<number>('hrtime')]),
          );
        }
        r.add('commands/s delivered', 'Tether', '/s', peak.perSec);
        r.add('gateway CPU per command', 'Tether', 'ms', peak.cpuMs);
        r.add('API call → device p50', 'Tether', 'ms', peak.lat.p50);
        r.add('API call → device p99', 'Tether', 'ms', peak.lat.p99);
        r.add('HTTP response p50', 'Tether', 'ms', peak.http.p50);
        r.add('HTTP response p99', 'Tether', 'ms', peak.http.p99);
        r.add('not delivered', 'Tether', 'count', peak.lost);
        const steady = await phase(paced, { rate: PACED_RATE });
        r.add(`at ${PACED_RATE}/s: API call → device p50`, 'Tether', 'ms', steady.lat.p50);
        r.add(`at ${PACED_RATE}/s: API call → device p99`, 'Tether', 'ms', steady.lat.p99);
        r.add(`at ${PACED_RATE}/s: HTTP response p99`, 'Tether', 'ms', steady.http.p99);
        r.add(`at ${PACED_RATE}/s: gateway CPU per command`, 'Tether', 'ms', steady.cpuMs);
        r.add(`at ${PACED_RATE}/s: not delivered`, 'Tether', 'count', steady.lost);
        console.log(
          `  S2 run ${run}: ${fmt(peak.perSec)} commands/s, ${fmt(peak.cpuMs)} ms CPU each, p50 ${fmt(peak.lat.p50)} ms, p99 ${fmt(peak.lat.p99)} ms, delivered ${commands - peak.lost}/${commands}; at ${PACED_RATE}/s p99 ${fmt(steady.lat.p99)} ms (HTTP ${fmt(steady.http.p99)} ms)`,
        );
        await Promise.all(receivers.map((w) => w.call('close')));
      } finally {
        await broker.stop();
      }
    }
  } finally {
    await Promise.all([...receivers, driver!].map((w) => w.stop()));
  }
  const median = (metric: string) => r.summary(metric, 'Tether')?.median ?? Number.NaN;
  const rate = median('commands/s delivered');
  const p99 = median(`at ${PACED_RATE}/s: API call → device p99`);
  if (Number.isFinite(rate))
    r.target('≥ 5,000 commands/s through the HTTP API', `${fmt(rate)}/s`, rate >= 5000);
  if (Number.isFinite(p99))
    r.target(
      `p99 API call → device < 20 ms at ${PACED_RATE.toLocaleString('en-US')} commands/s`,
      `${fmt(p99)} ms`,
      p99 < 20,
    );
  return r.finish();
}
