/**
 * Scenario 8: scale (issue 16). 50,000 token devices connect to a cluster of three Tether nodes on
 * this machine (PostgreSQL + Redis started by the scenario), and the same 50,000 connections to
 * three bare Aedes processes, measured the same way. A process here may hold at most 20,000 open
 * files, so one node holds a third (≈ 16,700) and each loader at most ≈ 8,400 connections; the
 * six loaders connect from six loopback source addresses (127.0.0.2–7), each with its own
 * ephemeral ports (one address has ≈ 28,000).
 *
 * Targets: every device connected (zero failed connects), and the RSS each connection adds to the
 * nodes, summed, at most 1.1× what it adds to bare Aedes.
 */
import { join } from 'node:path';
import { type Broker, startAedes, startTether } from '../lib/brokers.js';
import { startClusterServices } from '../lib/cluster-services.js';
import { bundle } from '../lib/paths.js';
import { sleep } from '../lib/proc.js';
import { ResultBuilder, type ScenarioResult } from '../lib/report.js';
import { fmt, latency } from '../lib/stats.js';
import { type Context, prepareTetherData, scratchDir, split, startWorkers } from './context.js';

const NODES = 3;
const LOADERS = 6;

export async function runScale(ctx: Context): Promise<ScenarioResult> {
  const { options } = ctx;
  const r = new ResultBuilder('s8', 'Scenario 8 — 50,000 connected devices across three nodes');
  const count = options.quick ? 6_000 : 50_000;
  const inFlight = 100;
  const sources = Array.from({ length: LOADERS }, (_, i) => `127.0.0.${i + 2}`);
  r.result.config = {
    devices: count,
    nodes: NODES,
    loaderProcesses: LOADERS,
    inFlightPerLoader: inFlight,
    loaderSourceAddresses: sources,
    loaderToNode: 'loader i connects to node i % 3 (two loaders a node)',
    tether: 'cluster: TETHER_STORE_BACKEND=postgres, TETHER_CLUSTER_REDIS_URL; static tokens',
    bareAedes: 'three processes, allow-all authenticate',
    rssPerDevice: '(sum over the three processes of RSS after − RSS before) / connected devices',
    runs: options.runs,
  };
  r.command(
    `loaders: ${LOADERS} × node ${bundle('connector')} (raw MQTT CONNECT, ${inFlight} in flight each, source 127.0.0.2–7)`,
  );
  const services = await startClusterServices();
  try {
    const env = await services.database('tether_s8');
    const dir = scratchDir('scale');
    const { devices } = await prepareTetherData(join(dir, 'setup'), count, 500, env);
    r.command(
      `Tether nodes: TETHER_STORE_BACKEND=postgres TETHER_STORE_URL=postgres://… TETHER_CLUSTER_REDIS_URL=redis://… node ${bundle('tether-server')} (×${NODES}, own data folders)`,
    );
    r.command(`bare Aedes: node ${bundle('aedes-server')} (×${NODES})`);
    const loaders = await startWorkers(bundle('connector'), LOADERS, 'connector');
    try {
      for (let run = 1; run <= options.runs; run++) {
        for (const subject of ['Tether', 'bare Aedes'] as const) {
          const nodes: Broker[] = [];
          try {
            for (let n = 0; n < NODES; n++)
              nodes.push(
                subject === 'Tether' ? await startTether(join(dir, `node-${n}`), env) : await startAedes(),
              );
            await sleep(1_000);
            const rss0 = nodes.map((n) => n.rss());
            const cpu0 = nodes.reduce((a, n) => a + n.cpu(), 0);
            const svc0 = services.cpu();
            const clients = devices.map((d, i) =>
              subject === 'Tether'
                ? { clientId: d.deviceId, username: 'device', password: d.token }
                : { clientId: `dev-${i}`, username: `dev-${i}`, password: d.token },
            );
            const shares = split(clients, LOADERS);
            const results = await Promise.all(
              loaders.map((w, i) =>
                w.call<{
                  latencies: number[];
                  failed: number;
                  failures: string[];
                  startedAt: number;
                  endedAt: number;
                }>('storm', {
                  port: nodes[i % NODES]!.mqttPort,
                  clients: shares[i],
                  inFlight,
                  localAddress: sources[i],
                }),
              ),
            );
            const cpu = nodes.reduce((a, n) => a + n.cpu(), 0) - cpu0;
            const svc = services.cpu();
            await sleep(2_000);
            const rss1 = nodes.map((n) => n.rss());
            const connected = (
              await Promise.all(nodes.map((n) => n.worker!.call<{ connected: number }>('stats')))
            ).reduce((a, s) => a + s.connected, 0);
            const ok = results.reduce((a, x) => a + x.latencies.length, 0);
            const failed = results.reduce((a, x) => a + x.failed, 0);
            const wall =
              Math.max(...results.map((x) => x.endedAt)) - Math.min(...results.map((x) => x.startedAt));
            const lat = latency(results.flatMap((x) => x.latencies));
            const added = rss1.reduce((a, v, i) => a + v - rss0[i]!, 0);
            const total = rss1.reduce((a, v) => a + v, 0);
            r.add('connects/s', subject, '/s', (ok / wall) * 1000);
            r.add('connect latency p99', subject, 'ms', lat.p99);
            r.add('CPU per connect (the three processes)', subject, 'ms', (cpu * 1000) / Math.max(1, ok));
            if (subject === 'Tether') {
              r.add(
                'PostgreSQL CPU per connect',
                subject,
                'ms',
                ((svc.postgres - svc0.postgres) * 1000) / Math.max(1, ok),
              );
              r.add(
                'Redis CPU per connect',
                subject,
                'ms',
                ((svc.redis - svc0.redis) * 1000) / Math.max(1, ok),
              );
            }
            r.add('connected (the brokers count)', subject, 'count', connected);
            r.add('failed connects', subject, 'count', failed);
            r.add('RSS, three processes, before', subject, 'MB', rss0.reduce((a, v) => a + v, 0) / 2 ** 20);
            r.add(`RSS, three processes, with ${count} connected`, subject, 'MB', total / 2 ** 20);
            r.add('RSS per connected device', subject, 'KB', added / Math.max(1, ok) / 1024);
            if (failed)
              r.note(
                `${subject} run ${run}: ${failed} failed, e.g. ${results.flatMap((x) => x.failures)[0]}`,
              );
            console.log(
              `  S8 run ${run} ${subject}: ${ok} connected (${connected} by the brokers' count), ${failed} failed, ${fmt((ok / wall) * 1000)} connects/s, ${fmt((cpu * 1000) / Math.max(1, ok))} ms CPU each, p99 ${fmt(lat.p99)} ms, RSS ${fmt(added / Math.max(1, ok) / 1024)} KB per device (${rss1.map((v) => fmt(v / 2 ** 20)).join(' + ')} MB)`,
            );
            await Promise.all(loaders.map((w) => w.call('close')));
          } finally {
            await Promise.all(nodes.map((n) => n.stop()));
          }
        }
      }
    } finally {
      await Promise.all(loaders.map((w) => w.stop()));
    }
  } finally {
    await services.stop();
  }
  const median = (metric: string, subject: string) => r.summary(metric, subject)?.median ?? Number.NaN;
  const failed = r.summary('failed connects', 'Tether')?.max ?? Number.NaN;
  const connected = r.summary('connected (the brokers count)', 'Tether')?.min ?? Number.NaN;
  r.target(
    `${count.toLocaleString('en-US')} token devices connected across ${NODES} nodes, zero failed`,
    `${fmt(connected)} connected, ${fmt(failed)} failed (worst run)`,
    connected === count && failed === 0,
  );
  const rss = median('RSS per connected device', 'Tether') / median('RSS per connected device', 'bare Aedes');
  r.target(
    'RSS per connected device ≤ 1.1× bare Aedes',
    `${fmt(rss)}× (${fmt(median('RSS per connected device', 'Tether'))} vs ${fmt(median('RSS per connected device', 'bare Aedes'))} KB)`,
    Number.isFinite(rss) ? rss <= 1.1 : null,
  );
  return r.finish();
}
