/**
 * `npm run bench:memory [-- --devices N]`: where the memory of Tether and of bare Aedes goes, idle
 * (Tether holding N static-token devices in its store) and with the N devices connected. Each
 * broker in its own process started as in scenario 3 (--expose-gc for both), read through the same
 * `memory` call (process.memoryUsage(), V8's heap spaces, and the resident pages by kind from
 * /proc): idle after a forced GC; connected 1 s after the storm as scenario 3 reads it, then again
 * after a forced GC.
 *
 * --snapshots DIR  also write a heap snapshot of each broker idle and connected there
 * --node-flags "…" more node flags for both brokers (an experiment; say so beside its figures)
 * --env K=V        an environment variable for both brokers (repeatable; e.g. MALLOC_ARENA_MAX=2)
 * --only NAME      tether or aedes: measure one broker
 * --allocations DIR sample what each broker allocates during the storm (dead objects included):
 *                   a .heapprofile per broker there, and the top functions printed
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startAedes, startTether } from './lib/brokers.js';
import { bundle } from './lib/paths.js';
import { killAll, sleep } from './lib/proc.js';
import { prepareTetherData, scratchDir, split, startWorkers } from './scenarios/context.js';

const argv = process.argv.slice(2);
const option = (name: string) => {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
};
const count = Number(option('--devices') ?? 10_000);
const snapshots = option('--snapshots') === undefined ? undefined : resolve(option('--snapshots')!);
if (snapshots) mkdirSync(snapshots, { recursive: true });
const execArgv = ['--expose-gc', ...(option('--node-flags')?.split(/\s+/).filter(Boolean) ?? [])];
const env = Object.fromEntries(
  argv.flatMap((a, i) => (argv[i - 1] === '--env' ? [a.split(/=(.*)/s).slice(0, 2)] : [])),
) as Record<string, string>;
const only = option('--only');
const allocations = option('--allocations') === undefined ? undefined : resolve(option('--allocations')!);
if (allocations) mkdirSync(allocations, { recursive: true });
const dir = scratchDir('memory');
const dataDir = join(dir, 'tether');
const MB = (n: number | undefined) => (n === undefined ? '–' : (n / 2 ** 20).toFixed(1));

try {
  const { devices } = await prepareTetherData(dataDir, count);
  const loaders = await startWorkers(bundle('connector'), 2, 'connector');
  const table: Array<[string, Record<string, number>]> = [];
  const names = (['Tether', 'bare Aedes'] as const).filter(
    (n) => !only || n.toLowerCase().includes(only.toLowerCase()),
  );
  for (const name of names) {
    const broker =
      name === 'Tether' ? await startTether(dataDir, env, { execArgv }) : await startAedes({ execArgv, env });
    try {
      await sleep(500);
      await broker.worker!.call('gc');
      table.push([`${name}, idle`, await broker.worker!.call<Record<string, number>>('memory')]);
      if (snapshots)
        await broker.worker!.call('heapSnapshot', {
          file: join(snapshots, `${broker.name}-idle.heapsnapshot`),
        });
      const clients = devices.map((d, i) =>
        name === 'Tether'
          ? { clientId: d.deviceId, username: 'device', password: d.token }
          : { clientId: `dev-${i}`, username: `dev-${i}`, password: d.token },
      );
      const shares = split(clients, loaders.length);
      if (allocations) await broker.worker!.call('allocStart');
      await Promise.all(
        loaders.map((w, i) => w.call('storm', { port: broker.mqttPort, clients: shares[i], inFlight: 100 })),
      );
      if (allocations) {
        const top = await broker.worker!.call<Array<[string, number]>>('allocStop', {
          file: join(allocations, `${broker.name}-storm.heapprofile`),
        });
        console.log(`${name}: allocated during the storm, per connect (sampled), by function:`);
        for (const [fn, bytes] of top) console.log(`  ${(bytes / count).toFixed(0).padStart(6)} B  ${fn}`);
      }
      await sleep(1_000);
      table.push([
        `${name}, ${count} connected`,
        await broker.worker!.call<Record<string, number>>('memory'),
      ]);
      // V8's memory reducer shrinks a heap some seconds after allocation slows: RSS left alone.
      const settled: string[] = [];
      for (const [at, wait] of [
        [5, 4],
        [10, 5],
        [20, 10],
      ] as const) {
        await sleep(wait * 1000);
        settled.push(`${at} s: ${MB(broker.rss())}`);
      }
      console.log(`${name}: RSS after the storm, left alone — ${settled.join(', ')} MB`);
      await broker.worker!.call('gc');
      table.push([`${name}, connected, GC`, await broker.worker!.call<Record<string, number>>('memory')]);
      if (snapshots)
        await broker.worker!.call('heapSnapshot', {
          file: join(snapshots, `${broker.name}-connected.heapsnapshot`),
        });
      await Promise.all(loaders.map((w) => w.call('close')));
    } finally {
      await broker.stop();
    }
  }
  await Promise.all(loaders.map((w) => w.stop()));
  const keys = [...new Set(table.flatMap(([, m]) => Object.keys(m)))];
  if (execArgv.length > 1 || Object.keys(env).length)
    console.log(
      `both brokers ran with: ${Object.entries(env)
        .map(([k, v]) => `${k}=${v} `)
        .join('')}node ${execArgv.join(' ')}`,
    );
  console.log(`| MB | ${table.map(([n]) => n).join(' | ')} |`);
  console.log(`|---|${table.map(() => '---:').join('|')}|`);
  for (const key of keys) console.log(`| ${key} | ${table.map(([, m]) => MB(m[key])).join(' | ')} |`);
} finally {
  killAll();
}
process.exit(0);
