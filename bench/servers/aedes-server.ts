/**
 * Bare Aedes, the library reference: the same aedes version as Tether, on TCP, with an allow-all
 * authenticate hook and no other policy, no persistence beyond aedes' in-memory default. Port 0
 * unless BENCH_PORT is set; IPC reads RSS, CPU and event-loop delay as for Tether.
 */
import { createServer } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { Aedes } from 'aedes';
import { memoryBreakdown, serveIpc } from '../lib/proc.js';

const aedes = await Aedes.createBroker({
  authenticate: (_client, _username, _password, done) => done(null, true),
});
const server = createServer(aedes.handle);
await new Promise<void>((resolve) =>
  server.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1', resolve),
);
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;
const ELD_RESOLUTION_MS = 5;
const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
/** The histogram holds whole intervals between its 5 ms timer's runs: the delay is what is beyond. */
const delayMs = (ns: number) => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
eld.enable();

serveIpc({
  info: () => ({
    pid: process.pid,
    mqttPort: port,
    config: { authenticate: 'allow-all', aedes: 'defaults' },
  }),
  stats: () => {
    const usage = process.cpuUsage();
    return {
      rss: process.memoryUsage.rss(),
      cpu: (usage.user + usage.system) / 1e6,
      connected: aedes.connectedClients,
      eld: {
        p50: delayMs(eld.percentile(50)),
        p99: delayMs(eld.percentile(99)),
        max: delayMs(eld.max),
        mean: delayMs(eld.mean),
      },
    };
  },
  /** Where the process's memory is (read alike in both Node brokers): bytes. */
  memory: () => memoryBreakdown(),
  /** A heap snapshot written to `file` (for a by-hand look at what the heap holds). */
  heapSnapshot: (args) => writeHeapSnapshot(String(args.file)),
  gc: () => {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage.rss();
  },
  resetEld: () => {
    eld.reset();
    return true;
  },
  exit: async () => {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    server.close();
  },
});
process.send?.({ ready: true });
