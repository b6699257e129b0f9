/**
 * Measures the broker's hot paths on this machine (not a test; run by hand from the repo root, so
 * that the bundle finds node_modules):
 *   npx esbuild test/broker/hot-path-bench.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=.bench-tmp.mjs && DEVICES=10000 CONNECTED=1000 node .bench-tmp.mjs
 * Knobs: DEVICES, CONNECTED, MESSAGES (per device), SUSTAIN (seconds), TELEMETRY_MS.
 * CONNECT rate (token hash lookup), uplink throughput (authorizePublish → uplink handler →
 * store.devices.update), the cost of one store update, and of one coalesced file write.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import type { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { DATASTREAMS } from '../devices/device-fixtures.js';
import { startTestGateway } from '../support/gateway-harness.js';

const DEVICES = Number(process.env.DEVICES ?? 2000);
const CONNECTED = Number(process.env.CONNECTED ?? 500);
const MESSAGES_PER_DEVICE = Number(process.env.MESSAGES ?? 100);
const IN_FLIGHT = 100;
/** Telemetry write window; TELEMETRY_MS=200 shows what every-flush-window writes would cost. */
const TELEMETRY_MS = Number(process.env.TELEMETRY_MS ?? 5000);
const SUSTAIN_SECONDS = Number(process.env.SUSTAIN ?? 6);

const gw = await startTestGateway({
  mqtt: { publishesPerSecond: 100_000 },
  store: { telemetryFlushDelayMs: TELEMETRY_MS },
});
const admin = await gw.login();
const template = await gw.api<{ id: string }>(
  'POST',
  '/api/templates',
  { name: 'Bench', datastreams: DATASTREAMS },
  admin,
);
const tokens: string[] = [];
for (let left = DEVICES; left > 0; left -= 500) {
  const res = await gw.api<{ devices: Array<{ token: string; claimCode: string }> }>(
    'POST',
    '/api/static-tokens',
    { templateId: template.body.id, count: Math.min(500, left) },
    admin,
  );
  tokens.push(...res.body.devices.map((d) => d.token));
}
const { events } = gw.gateway.services;
const store = gw.gateway.services.store as EmbeddedStore;
console.log(`devices in store: ${await store.devices.count()}`);

// 1. CONNECT with token lookup, IN_FLIGHT at a time.
const clients: MqttClient[] = [];
let t0 = performance.now();
for (let i = 0; i < CONNECTED; i += IN_FLIGHT) {
  const batch = tokens.slice(i, Math.min(i + IN_FLIGHT, CONNECTED));
  clients.push(
    ...(await Promise.all(
      batch.map((token) =>
        mqtt.connectAsync(gw.brokerUrl, { username: 'device', password: token, reconnectPeriod: 0 }),
      ),
    )),
  );
}
let ms = performance.now() - t0;
console.log(
  `connect: ${CONNECTED} devices in ${ms.toFixed(0)} ms = ${Math.round((CONNECTED / ms) * 1000)}/s`,
);

// 2. Uplink throughput: every device publishes ds/temp, QoS 0.
const total = CONNECTED * MESSAGES_PER_DEVICE;
let seen = 0;
const done = new Promise<void>((resolve) =>
  events.on('device.value', () => {
    if (++seen === total) resolve();
  }),
);
const writesBefore = store.writeCount;
t0 = performance.now();
for (let m = 0; m < MESSAGES_PER_DEVICE; m++) {
  for (const c of clients) c.publish('ds/temp', String((m % 100) - 20));
  if (m % 10 === 9) await new Promise((r) => setImmediate(r));
}
await done;
ms = performance.now() - t0;
console.log(
  `uplink: ${total} ds/temp messages in ${ms.toFixed(0)} ms = ${Math.round((total / ms) * 1000)}/s; file writes meanwhile: ${store.writeCount - writesBefore}`,
);

// 3. Sustained telemetry (each connected device once a second) while watching the event loop:
// what the coalesced whole-file writes cost the broker when values never stop arriving.
const loop = monitorEventLoopDelay({ resolution: 10 });
const sustainedWrites = store.writeCount;
loop.enable();
for (let s = 0; s < SUSTAIN_SECONDS * 10; s++) {
  const slice = clients.slice((s % 10) * (clients.length / 10), ((s % 10) + 1) * (clients.length / 10));
  for (const c of slice) c.publish('ds/temp', String(s % 50));
  await new Promise((r) => setTimeout(r, 100));
}
loop.disable();
console.log(
  `sustained ${CONNECTED} msg/s for ${SUSTAIN_SECONDS} s (telemetry window ${TELEMETRY_MS} ms): file writes ${store.writeCount - sustainedWrites}, event-loop delay p50 ${(loop.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`,
);
await Promise.all(clients.map((c) => c.endAsync()));

// 4. One store.devices.update as recordValue does it (spread of the record and of its values).
const ids = (await store.devices.find()).map((d) => d.id);
const N = 200_000;
t0 = performance.now();
for (let i = 0; i < N; i++) {
  const id = ids[i % ids.length]!;
  await store.devices.putValues(id, { temp: { value: i, at: i } }, i);
}
ms = performance.now() - t0;
console.log(
  `store.devices.putValues: ${((ms * 1000) / N).toFixed(2)} µs each (${Math.round((N / ms) * 1000)}/s)`,
);

// 5. A compaction of the whole store into a new snapshot (written in pieces, the loop free between).
t0 = performance.now();
await store.flush();
console.log(`flush: ${(performance.now() - t0).toFixed(1)} ms for ${ids.length} devices`);
await gw.stop();
