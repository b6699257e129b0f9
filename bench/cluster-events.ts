/**
 * What the cluster's event bus costs: 100,000 `device.value` events raised on node A and heard by
 * a listener on node B, through a Redis this bench starts (redis-server on a free loopback port,
 * no persistence). Prints wall time, events/s, and this process's CPU seconds per 100,000 events
 * (both nodes live in this process; redis-server's own CPU is apart). Events are raised 100 per
 * turn of the event loop, as a burst of telemetry would be.
 *   npm run bench:cluster
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisEventBus } from '../gateway/cluster/redis-event-bus.js';
import { RedisLink } from '../gateway/cluster/redis-link.js';
import type { Device } from '../gateway/store/types.js';
import { silentLogger } from '../shared/logger.js';

const EVENTS = 100_000;
const PER_TURN = 100;

const port = await new Promise<number>((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const address = server.address();
    server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
  });
});
const dir = await mkdtemp(join(tmpdir(), 'tether-bench-redis-'));
const redis = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
  {
    stdio: 'ignore',
  },
);
await new Promise((resolve) => setTimeout(resolve, 500));
const url = `redis://127.0.0.1:${port}`;
const node = async (nodeId: string) => {
  const link = new RedisLink({ url, logger: silentLogger() });
  const bus = new RedisEventBus({ link, nodeId, readDevice: async () => undefined, logger: silentLogger() });
  await link.start();
  await bus.start();
  return { link, bus };
};
const a = await node('a');
const b = await node('b');
const device = { id: 'dev_1', orgId: 'org_1', ownerId: 'usr_1', lastSeenAt: 1 } as Device;

// Nobody on another node watches: the values stay on A (no PUBLISH at all).
{
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let sent = 0; sent < EVENTS; sent += PER_TURN) {
    for (let i = 0; i < PER_TURN; i++)
      a.bus.emit('device.value', { device, name: 'temp', value: i, at: sent + i });
    await new Promise((resolve) => setImmediate(resolve));
  }
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  console.log(
    `unwatched: ${EVENTS} events kept on A in ${seconds.toFixed(2)} s; CPU ${((((used.user + used.system) / 1e6) * 100_000) / EVENTS).toFixed(2)} s per 100k`,
  );
}

// A stream on B watches the org (as /api/stream does): every value crosses.
await b.bus.interest().want(['o:org_1']);
let heard = 0;
const done = new Promise<void>((resolve) =>
  b.bus.on('device.value', () => {
    if (++heard === EVENTS) resolve();
  }),
);
const cpu = process.cpuUsage();
const start = performance.now();
for (let sent = 0; sent < EVENTS; sent += PER_TURN) {
  for (let i = 0; i < PER_TURN; i++)
    a.bus.emit('device.value', { device, name: 'temp', value: i, at: sent + i });
  await new Promise((resolve) => setImmediate(resolve));
}
await done;
const seconds = (performance.now() - start) / 1000;
const used = process.cpuUsage(cpu);
const cpuSeconds = (used.user + used.system) / 1e6;
console.log(
  `cluster event bus: ${EVENTS} events A→B in ${seconds.toFixed(2)} s = ${Math.round(EVENTS / seconds)}/s; ` +
    `CPU ${((cpuSeconds * 100_000) / EVENTS).toFixed(2)} s per 100k (both nodes); load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
);
for (const n of [a, b]) {
  await n.bus.stop();
  await n.link.stop();
}
redis.kill('SIGTERM');
await new Promise((resolve) => redis.once('exit', resolve));
await rm(dir, { recursive: true, force: true });
