/**
 * `npm run bench:memory [-- --devices N]`: where the memory of Tether and of bare Aedes goes, idle
 * (Tether holding N static-token devices in its store) and with the N devices connected. Each
 * broker in its own process started as in scenario 3; every figure after a forced GC (--expose-gc
 * for both), read through the same `memory` call (process.memoryUsage() and V8's heap spaces).
 */
import { join } from 'node:path';
import { startAedes, startTether } from './lib/brokers.js';
import { bundle } from './lib/paths.js';
import { killAll, sleep } from './lib/proc.js';
import { prepareTetherData, scratchDir, split, startWorkers } from './scenarios/context.js';

const argv = process.argv.slice(2);
const at = argv.indexOf('--devices');
const count = at >= 0 ? Number(argv[at + 1]) : 10_000;
/** --snapshots DIR: also write a heap snapshot of each broker idle and connected there. */
const snapshotsAt = argv.indexOf('--snapshots');
const snapshots = snapshotsAt >= 0 ? argv[snapshotsAt + 1] : undefined;
const dir = scratchDir('memory');
const dataDir = join(dir, 'tether');
const MB = (n: number | undefined) => (n === undefined ? '–' : (n / 2 ** 20).toFixed(1));

try {
  const { devices } = await prepareTetherData(dataDir, count);
  const loaders = await startWorkers(bundle('connector'), 2, 'connector');
  const table: Array<[string, Record<string, number>]> = [];
  for (const name of ['Tether', 'bare Aedes'] as const) {
    const broker =
      name === 'Tether'
        ? await startTether(dataDir, {}, { execArgv: ['--expose-gc'] })
        : await startAedes({ execArgv: ['--expose-gc'] });
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
      await Promise.all(
        loaders.map((w, i) => w.call('storm', { port: broker.mqttPort, clients: shares[i], inFlight: 100 })),
      );
      await sleep(1_000);
      await broker.worker!.call('gc');
      table.push([
        `${name}, ${count} connected`,
        await broker.worker!.call<Record<string, number>>('memory'),
      ]);
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
  console.log(`| MB | ${table.map(([n]) => n).join(' | ')} |`);
  console.log(`|---|${table.map(() => '---:').join('|')}|`);
  for (const key of keys) console.log(`| ${key} | ${table.map(([, m]) => MB(m[key])).join(' | ')} |`);
} finally {
  killAll();
}
process.exit(0);
