/**
 * The embedded store's journal, measured: how many acknowledged (fsynced) changes per second it
 * takes and how long each waits, at several numbers of changes in flight; and, at 100,000
 * devices, the longest the event loop is held by its work: opening the folder, a burst of
 * commits, a telemetry window, a compaction. Results: bench/README.md.
 *
 *   npm run bench:store                        # 100,000 devices, 20,000 changes per level
 *   npm run bench:store -- --devices 10000 --changes 5000 --dir /path/on/the/disk/to/measure
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddedStore } from '../gateway/store/embedded-store.js';
import type { Device } from '../gateway/store/types.js';
import { describeHold, ms, loopWatch as watchLoop } from './lib/loop-watch.js';

const loopWatch = () => {
  const watch = watchLoop();
  return { stop: async () => describeHold(await watch.stop()) };
};

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '100000' },
    changes: { type: 'string', default: '20000' },
    dir: { type: 'string' },
  },
});
const DEVICES = Number(args.devices);
const CHANGES = Number(args.changes);

const cpuMs = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

const device = (i: number): Device => ({
  id: `dev_${i}`,
  orgId: 'org_bench',
  ownerId: null,
  templateId: 'TMPLBENCH001',
  name: `Bench ${i}`,
  tokenHash: createHash('sha256').update(`device ${i}`).digest('hex'),
  status: 'active',
  provisioningExpiresAt: null,
  createdBy: null,
  createdAt: Date.now(),
  activatedAt: Date.now(),
  activatedBy: null,
  hardwareId: `hw_${i}`,
  firmware: { ver: '1.0.0', build: 'bench', type: 'esp32' },
  lastSeenAt: Date.now(),
  values: { temp: { value: 21.5, at: Date.now() }, humidity: { value: 40, at: Date.now() } },
});

const root = args.dir ?? (await mkdtemp(join(tmpdir(), 'tether-bench-store-')));
const file = join(root, 'tether.json');
console.log(
  `embedded store bench: ${DEVICES.toLocaleString('en-US')} devices in ${root}; load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${cpus().length} cores`,
);

// Fill the folder, then start from it as a gateway would.
{
  const store = new EmbeddedStore({ file });
  await store.open();
  await store.orgs.insert({
    id: 'org_bench',
    name: 'Bench',
    parentId: null,
    plan: 'enterprise',
    createdAt: 1,
  });
  for (let i = 0; i < DEVICES; i += 5000) {
    await store.transaction(async (tx) => {
      for (let j = i; j < Math.min(DEVICES, i + 5000); j++) await tx.devices.insert(device(j));
    });
  }
  await store.flush();
  await store.close();
}
const t0 = performance.now();
const cpu0 = process.cpuUsage();
// How long each journal write took (the write and its fdatasync): the disk's share of a commit.
let syncMs: number[] = [];
const store = new EmbeddedStore({
  file,
  telemetryFlushDelayMs: 60_000,
  onJournalWrite: ({ ms }) => syncMs.push(ms),
});
await store.open();
console.log(
  `open (snapshot read, shape checked, journal replayed): ${ms(performance.now() - t0)} (CPU ${ms(cpuMs(cpu0))}); snapshot ${(store.stats().snapshotBytes / 2 ** 20).toFixed(1)} MiB`,
);

console.log('\nacknowledged changes (devices.update of one name each; each resolves once fsynced):');
console.log(
  '| in flight | changes/s | p50 | p99 | max | fsyncs | changes per fsync | write+fsync p50 / p99 | longest loop block (CPU) |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const inFlight of [1, 16, 64, 256]) {
  const total = inFlight === 1 ? Math.min(CHANGES, 2000) : CHANGES;
  const latencies: number[] = [];
  let next = 0;
  const writesBefore = store.writeCount;
  syncMs = [];
  const watch = loopWatch();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) {
        const i = next++;
        const t = performance.now();
        await store.devices.update(`dev_${(i * 7919) % DEVICES}`, { name: `renamed ${i}` });
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = performance.now() - started;
  const block = await watch.stop();
  latencies.sort((a, b) => a - b);
  const fsyncs = store.writeCount - writesBefore;
  syncMs.sort((a, b) => a - b);
  console.log(
    `| ${inFlight} | ${Math.round((total / elapsed) * 1000).toLocaleString('en-US')} | ${ms(percentile(latencies, 50))} | ${ms(percentile(latencies, 99))} | ${ms(latencies.at(-1) ?? 0)} | ${fsyncs} | ${(total / fsyncs).toFixed(1)} | ${ms(percentile(syncMs, 50))} / ${ms(percentile(syncMs, 99))} | ${block} |`,
  );
}

// The baseline: what every change cost before the journal, coalesced into the next file write
// (today's telemetry path): acknowledged at once, on disk within the window, or lost by a crash.
{
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < CHANGES; i++) {
    const t = performance.now();
    await store.devices.putValues(`dev_${(i * 7919) % DEVICES}`, {}, i);
    latencies.push(performance.now() - t);
  }
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  console.log(
    `| coalesced (not durable) | ${Math.round((CHANGES / elapsed) * 1000).toLocaleString('en-US')} | ${ms(percentile(latencies, 50))} | ${ms(percentile(latencies, 99))} | ${ms(latencies.at(-1) ?? 0)} | 0 | – | – |`,
  );
}

console.log(`\nat ${DEVICES.toLocaleString('en-US')} devices, the longest the event loop is held:`);
{
  const watch = loopWatch();
  await Promise.all(
    Array.from({ length: 1000 }, (_, i) =>
      store.devices.update(`dev_${(i * 13) % DEVICES}`, { ownerId: null, name: `b ${i}` }),
    ),
  );
  console.log(`- a burst of 1,000 commits at once: ${await watch.stop()}`);
}
{
  for (let i = 0; i < DEVICES; i++) {
    await store.devices.putValues(`dev_${i}`, { temp: { value: i, at: i } }, i);
  }
  const watch = loopWatch();
  const t = performance.now();
  await store.flush();
  console.log(
    `- a telemetry window with every device changed, then a compaction of the whole store (${ms(performance.now() - t)} in all): ${await watch.stop()}`,
  );
}
{
  const watch = loopWatch();
  const t = performance.now();
  await store.compact();
  console.log(`- a compaction alone (${ms(performance.now() - t)}): ${await watch.stop()}`);
}
await store.close();
if (!args.dir) await rm(root, { recursive: true, force: true });
