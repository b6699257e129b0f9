/**
 * Tether under test, in its own process: the same Gateway that `tether gateway start` runs
 * (gateway/main.ts), configured the same way (defaults < TETHER_* environment), with a real data
 * folder. Its IPC channel only reads numbers (RSS, CPU, event-loop delay, store writes, uplinks
 * fully processed) and, before a measurement, sets up devices through the HTTP API.
 *
 * Why not spawn `node dist/tether.js gateway start` itself: "fully processed" (the latest value is
 * validated and stored, device.value emitted) and the event-loop histogram are only visible inside
 * the process. Nothing here changes how the gateway handles a message.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { Gateway } from '../../gateway/app.js';
import type { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import type { Device } from '../../gateway/store/types.js';
import { loadConfig } from '../../shared/config.js';
import { newDeviceToken, newId, randomAlphanumeric, sha256Hex } from '../../shared/ids.js';
import { createLogger } from '../../shared/logger.js';
import { memoryBreakdown, serveIpc } from '../lib/proc.js';

const createStarted = performance.now();
const config = loadConfig({ env: process.env });
const logger = createLogger({ level: config.log.level, pretty: false });
const gateway = await Gateway.create({ config, logger });
const created = performance.now();
await gateway.start();
const startMs = performance.now() - createStarted;
const createMs = created - createStarted;

const { events, broker } = gateway.services;
const store = gateway.services.store as EmbeddedStore;
let values = 0;
let lastValueAt = 0;
events.on('device.value', () => {
  values++;
  lastValueAt = performance.timeOrigin + performance.now();
});
let activations = 0;
/**
 * S4: the gateway's share of the activation push, from a device's info/mcu reaching the handler
 * to the device.activated event, inside which the companion's SSE message is written. The
 * handler is wrapped on the instance to read the clock; what it does is not changed.
 */
const infoMcuAt = new Map<string, number>();
let activationMs: number[] = [];
const deviceService = gateway.services.devices;
const handleInfoMcu = deviceService.handleInfoMcu.bind(deviceService);
deviceService.handleInfoMcu = (deviceId, info) => {
  if (!infoMcuAt.has(deviceId)) infoMcuAt.set(deviceId, performance.now());
  return handleInfoMcu(deviceId, info);
};
events.on('device.activated', ({ device }) => {
  activations++;
  const at = infoMcuAt.get(device.id);
  if (at === undefined) return;
  infoMcuAt.delete(device.id);
  activationMs.push(performance.now() - at);
});

const ELD_RESOLUTION_MS = 5;
const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
/** The histogram holds whole intervals between its 5 ms timer's runs: the delay is what is beyond. */
const delayMs = (ns: number) => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
eld.enable();

const baseUrl = `http://127.0.0.1:${gateway.httpPort}`;

async function api<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

serveIpc({
  info: async () => ({
    pid: process.pid,
    httpPort: gateway.httpPort,
    mqttPort: gateway.mqttPort,
    createMs,
    startMs,
    devices: await store.devices.count(),
    config: {
      dataDir: config.dataDir,
      mqtt: {
        publishesPerSecond: config.mqtt.publishesPerSecond,
        maxMessageBytes: config.mqtt.maxMessageBytes,
      },
      store: config.store,
      log: config.log.level,
    },
  }),
  /**
   * Log in as the admin, create the bench template, mint `devices` static-token devices through
   * POST /api/static-tokens (500 a request, the route's limit) and write their tokens and claim
   * codes to `file`. Beyond `viaApi` devices the rest are cloned straight into the store, as a
   * mint would write them, because minting 100k devices over HTTP takes minutes of set-up.
   */
  setup: async (args) => {
    const count = Number(args.devices);
    const viaApi = Math.min(count, Number(args.viaApi ?? count));
    const { accessToken } = await api<{ accessToken: string }>('POST', '/api/auth/login', {
      email: config.admin.email,
      password: config.admin.password,
    });
    const template = await api<{ id: string }>(
      'POST',
      '/api/templates',
      {
        name: 'Bench',
        datastreams: [
          { name: 'temp', type: 'double', min: -40, max: 125 },
          { name: 'cmd', type: 'string' },
        ],
      },
      accessToken,
    );
    const out: Array<{ deviceId: string; token: string; claimCode: string }> = [];
    for (let left = viaApi; left > 0; left -= 500) {
      const res = await api<{ devices: Array<{ deviceId: string; token: string; claimCode: string }> }>(
        'POST',
        '/api/static-tokens',
        { templateId: template.id, count: Math.min(500, left) },
        accessToken,
      );
      out.push(...res.devices.map(({ deviceId, token, claimCode }) => ({ deviceId, token, claimCode })));
    }
    const model = out[0] ? await store.devices.get(out[0].deviceId) : undefined;
    // Inserted 1,000 a statement: 50,000 devices on PostgreSQL in seconds, not one round trip each.
    for (let i = out.length; i < count && model; ) {
      const batch: Device[] = [];
      for (; i < count && batch.length < 1000; i++) {
        const token = newDeviceToken();
        const claimCode = randomAlphanumeric(20);
        const device: Device = {
          ...model,
          id: newId('dev'),
          name: `Bench ${String(i + 1).padStart(6, '0')}`,
          tokenHash: sha256Hex(token),
          claimCodeHash: sha256Hex(claimCode),
        };
        batch.push(device);
        out.push({ deviceId: device.id, token, claimCode });
      }
      await store.devices.insertMany(batch);
    }
    await store.flush();
    writeFileSync(String(args.file), JSON.stringify({ templateId: template.id, devices: out }));
    return { templateId: template.id, devices: out.length };
  },
  stats: () => {
    const usage = process.cpuUsage();
    return {
      rss: process.memoryUsage.rss(),
      heapUsed: process.memoryUsage().heapUsed,
      cpu: (usage.user + usage.system) / 1e6,
      values,
      lastValueAt,
      activations,
      connected: broker.connectedDevices,
      writeCount: store.writeCount,
      eld: {
        p50: delayMs(eld.percentile(50)),
        p99: delayMs(eld.percentile(99)),
        max: delayMs(eld.max),
        mean: delayMs(eld.mean),
      },
    };
  },
  /** The gateway's info/mcu → activation-event times (ms) since the last call. */
  takeActivationMs: () => {
    const taken = activationMs;
    activationMs = [];
    infoMcuAt.clear();
    return taken;
  },
  /** Where the process's memory is (read alike in both Node brokers): bytes. */
  memory: () => memoryBreakdown(),
  /** A heap snapshot written to `file` (for a by-hand look at what the heap holds). */
  heapSnapshot: (args) => writeHeapSnapshot(String(args.file)),
  /** Monotonic µs, the clock of --cpu-prof samples: marks the measured window inside a profile. */
  hrtime: () => Number(process.hrtime.bigint() / 1000n),
  resetEld: () => {
    eld.reset();
    return true;
  },
  gc: () => {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage.rss();
  },
  /**
   * One store change, then wait for the coalesced write it schedules: the event-loop delay
   * histogram's max over that window is how long the write blocked the loop.
   */
  writeProbe: async (args) => {
    const samples: Array<{ blockMs: number; wallMs: number }> = [];
    const ids = (await store.devices.find()).map((d) => d.id);
    for (let i = 0; i < Number(args.count ?? 5); i++) {
      await new Promise((r) => setTimeout(r, 50));
      const before = store.writeCount;
      eld.reset();
      const t0 = performance.now();
      await store.devices.update(ids[i % ids.length]!, { lastSeenAt: Date.now() });
      while (store.writeCount === before) await new Promise((r) => setTimeout(r, 2));
      await store.flush(); // the write in progress
      const wallMs = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 20));
      samples.push({ blockMs: delayMs(eld.max), wallMs });
    }
    return samples;
  },
  /**
   * 1,000 ownership changes at once, straight on the store (what a bulk transfer does): how many
   * journal writes (each one fsync) they cost with group commit, without HTTP's pacing.
   */
  storeBurst: async (args) => {
    const devices = (await store.devices.find()).slice(0, Number(args.count ?? 1000));
    const users = await store.users.find();
    await store.committed();
    const before = store.writeCount;
    await Promise.all(devices.map((d) => store.devices.update(d.id, { ownerId: users[0]?.id ?? null })));
    return { changes: devices.length, writes: store.writeCount - before };
  },
  exit: async () => {
    await gateway.stop();
  },
});
process.send?.({ ready: true });
