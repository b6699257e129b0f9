/**
 * Scenario 1: telemetry throughput. M devices publish `ds/temp` at QoS 0 and QoS 1 as fast as the
 * broker takes it. Tether: token auth, topic mapping, validation against the template, latest
 * value stored and device.value emitted — "fully processed" is counted there. Bare brokers: the
 * same bytes on `d/<id>/ds/temp`, "processed" = delivered to one subscriber on `d/+/ds/temp` (the
 * backend a bare broker needs to keep latest values). Brokers take turns within each run, so
 * machine noise falls on all of them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Broker, BrokerName } from '../lib/brokers.js';
import { bundle } from '../lib/paths.js';
import { now, sleep, type Worker } from '../lib/proc.js';
import { ResultBuilder, type ScenarioResult } from '../lib/report.js';
import { fmt } from '../lib/stats.js';
import {
  type Context,
  prepareTetherData,
  scratchDir,
  split,
  startBroker,
  startWorkers,
  waitForCount,
} from './context.js';

export const TETHER_RATE_ENV = { TETHER_MQTT_PUBLISHES_PER_SECOND: '100000' };

export interface ThroughputSetup {
  devices: Array<{ deviceId: string; token: string }>;
  dataDir: string;
  mosqDir: string;
  publishers: Worker[];
  subscriber: Worker;
}

export async function prepareThroughput(
  deviceCount: number,
  publisherCount: number,
): Promise<ThroughputSetup> {
  const dir = scratchDir('throughput');
  const dataDir = join(dir, 'tether');
  const prepared = await prepareTetherData(dataDir, deviceCount);
  const publishers = await startWorkers(bundle('publisher'), publisherCount, 'publisher');
  const [subscriber] = await startWorkers(bundle('subscriber'), 1, 'subscriber');
  return {
    devices: prepared.devices,
    dataDir,
    mosqDir: join(dir, 'mosquitto'),
    publishers,
    subscriber: subscriber!,
  };
}

export const closeSetup = async (s: ThroughputSetup) => {
  await Promise.all([...s.publishers, s.subscriber].map((w) => w.stop()));
};

/** Connect every publisher's devices to `broker` and return a reader of the processed count. */
export async function connectLoad(
  s: ThroughputSetup,
  broker: Broker,
  qos: 0 | 1,
  subscriber = true,
): Promise<(() => Promise<{ count: number; lastAt: number }>) | undefined> {
  const tether = broker.name === 'Tether';
  const clients = s.devices.map((d, i) =>
    tether
      ? {
          clientId: d.deviceId,
          username: 'device',
          password: d.token,
          topic: 'ds/temp',
          marker: ['get/ds', 'temp'],
          markerSubscribe: 'downlink/#',
          markerReply: 'downlink/ds/temp',
        }
      : {
          clientId: `dev-${i}`,
          username: 'device',
          password: d.token,
          topic: `d/dev-${i}/ds/temp`,
          marker: [`d/dev-${i}/mark`, 'm'],
          markerSubscribe: `d/dev-${i}/mark`,
          markerReply: `d/dev-${i}/mark`,
        },
  );
  // The subscriber takes QoS 0 in both runs: the QoS 1 run measures QoS 1 ingest (PUBACK to the
  // device), as Tether's has no subscriber; a QoS 1 subscriber would measure Mosquitto's
  // 20-message in-flight limit towards it instead (max_inflight_messages).
  if (!tether && subscriber)
    await s.subscriber.call('connect', { port: broker.mqttPort, topic: 'd/+/ds/temp', qos: 0 });
  const shares = split(clients, s.publishers.length);
  await Promise.all(
    s.publishers.map((p, i) => p.call('connect', { port: broker.mqttPort, clients: shares[i], qos })),
  );
  if (!tether && !subscriber) return undefined;
  return tether
    ? async () => {
        const st = await broker.worker!.call<{ values: number; lastValueAt: number }>('stats');
        return { count: st.values, lastAt: st.lastValueAt };
      }
    : () => s.subscriber.call<{ count: number; lastAt: number }>('stats');
}

export async function disconnectLoad(s: ThroughputSetup, broker: Broker): Promise<void> {
  await Promise.all(s.publishers.map((p) => p.call('close')));
  if (broker.name !== 'Tether') {
    await s.subscriber.call('close');
    await s.subscriber.call('reset');
  }
}

interface Phase {
  sent: number;
  processed: number;
  processedPerSec: number;
  acceptedPerSec: number;
  cpuPer100k: number;
}

/** One flood: every device sends `perDevice` messages; wait until all are processed (or stall). */
async function flood(
  s: ThroughputSetup,
  broker: Broker,
  read: (() => Promise<{ count: number; lastAt: number }>) | undefined,
  perDevice: number,
): Promise<Phase> {
  // Ingest only (no subscriber): the echoed markers / PUBACKs already say the broker handled it all.
  const ingest = async () => ({ count: 0, lastAt: 0 });
  const before = await (read ?? ingest)();
  const cpu0 = broker.cpu();
  const goAt = now();
  const results = await Promise.all(
    s.publishers.map((p) =>
      p.call<{ sent: number; endedAt: number }>('go', { messagesPerClient: perDevice, window: 32 }),
    ),
  );
  const sent = results.reduce((a, r) => a + r.sent, 0);
  const acceptedAt = Math.max(...results.map((r) => r.endedAt));
  if (read) await waitForCount(async () => (await read()).count - before.count, sent);
  const after = read ? await read() : { count: sent, lastAt: acceptedAt };
  const cpu = broker.cpu() - cpu0;
  const processed = after.count - before.count;
  return {
    sent,
    processed,
    processedPerSec: (processed / (after.lastAt - goAt)) * 1000,
    acceptedPerSec: (sent / (acceptedAt - goAt)) * 1000,
    cpuPer100k: (cpu / processed) * 100_000,
  };
}

export async function runThroughput(ctx: Context): Promise<ScenarioResult> {
  const { options } = ctx;
  const r = new ResultBuilder('s1', 'Scenario 1 — telemetry throughput (QoS 0 and 1)');
  const deviceCount = 20;
  const publisherCount = 2;
  const perDevice = options.quick ? 2_000 : 10_000;
  const warmup = options.quick ? 200 : 1_000;
  const subjects: Array<{ subject: string; broker: BrokerName; subscriber: boolean }> = [
    { subject: 'Tether', broker: 'Tether', subscriber: false },
    { subject: 'bare Aedes', broker: 'bare Aedes', subscriber: true },
    // The strictest library reference: Aedes doing nothing but ingest (no subscriber to feed).
    { subject: 'bare Aedes, ingest only', broker: 'bare Aedes', subscriber: false },
    ...(options.mosquitto ? [{ subject: 'Mosquitto', broker: 'Mosquitto' as const, subscriber: true }] : []),
  ];
  const brokers = subjects.map((x) => x.subject);
  r.result.config = {
    devices: deviceCount,
    publisherProcesses: publisherCount,
    messagesPerDevicePerRun: perDevice,
    warmupPerDevice: warmup,
    payload: '21.5 (ds/temp, double −40…125)',
    qos0FlowControl:
      'per device: batches of 50, each closed by a marker the broker echoes; 4 batches out at most',
    qos1Window: '32 PUBLISH in flight per device (PUBACK)',
    tether: { ...TETHER_RATE_ENV, note: 'per-device rate limit raised from its default 50 msg/s' },
    bareBrokers:
      'one subscriber on d/+/ds/temp (QoS 0): processed = delivered to it; "ingest only": no subscriber, processed = accepted (markers echoed / PUBACKed)',
    runs: options.runs,
  };
  r.command(
    `publishers: ${publisherCount} × node ${bundle('publisher')} (raw MQTT 3.1.1, ${deviceCount} devices)`,
  );
  r.command(`subscriber (bare brokers): node ${bundle('subscriber')}`);
  const s = await prepareThroughput(deviceCount, publisherCount);
  try {
    for (const qos of [0, 1] as const) {
      for (let run = 1; run <= options.runs; run++) {
        for (const { subject: name, broker: kind, subscriber } of subjects) {
          const broker = await startBroker(kind, r, {
            dataDir: s.dataDir,
            env: TETHER_RATE_ENV,
            mosqDir: s.mosqDir,
            ...(options.profile && name === 'Tether' && qos === 0 && run === 1
              ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${join(s.dataDir, '..', 'profiles')}`] }
              : {}),
          });
          try {
            const read = await connectLoad(s, broker, qos, subscriber);
            await flood(s, broker, read, warmup);
            await sleep(200);
            const profiling = options.profile && name === 'Tether' && qos === 0 && run === 1;
            const mark0 = profiling ? await broker.worker!.call<number>('hrtime') : 0;
            const phase = await flood(s, broker, read, perDevice);
            if (profiling) mkdirSync(join(s.dataDir, '..', 'profiles'), { recursive: true });
            if (profiling)
              writeFileSync(
                join(s.dataDir, '..', 'profiles', 'window.json'),
                JSON.stringify([mark0, await broker.worker!.call<number>('hrtime')]),
              );
            r.add(`QoS ${qos} processed msg/s`, name, 'msg/s', phase.processedPerSec);
            r.add(`QoS ${qos} accepted msg/s`, name, 'msg/s', phase.acceptedPerSec);
            r.add(`QoS ${qos} broker CPU s / 100k msg`, name, 'CPU s', phase.cpuPer100k);
            r.add(`QoS ${qos} lost`, name, 'msg', phase.sent - phase.processed);
            console.log(
              `  S1 QoS ${qos} run ${run} ${name}: ${fmt(phase.processedPerSec)} msg/s processed, ${fmt(phase.acceptedPerSec)} accepted, ${fmt(phase.cpuPer100k)} CPU s/100k, lost ${phase.sent - phase.processed}`,
            );
            await disconnectLoad(s, broker);
          } finally {
            await broker.stop();
          }
        }
      }
    }
  } finally {
    await closeSetup(s);
  }
  for (const qos of [0, 1]) {
    const metric = `QoS ${qos} processed msg/s`;
    const tether = r.summary(metric, 'Tether');
    for (const other of brokers.slice(1)) {
      const o = r.summary(metric, other);
      if (!tether || !o) continue;
      r.add(`QoS ${qos} ratio Tether / ${other}`, 'ratio', '×', tether.median / o.median);
    }
  }
  // Issue 16's targets, each a ratio within this run.
  const median = (metric: string, subject: string) => r.summary(metric, subject)?.median;
  const ratioTarget = (text: string, ratio: number | undefined, min: number) => {
    if (ratio !== undefined && Number.isFinite(ratio)) r.target(text, `${fmt(ratio)}×`, ratio >= min);
  };
  const per = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined ? a / b : undefined;
  ratioTarget(
    'QoS 0: Tether (fully processed) ≥ 1.0× Mosquitto delivering to a subscriber, msg/s',
    per(median('QoS 0 processed msg/s', 'Tether'), median('QoS 0 processed msg/s', 'Mosquitto')),
    1,
  );
  ratioTarget(
    'QoS 0: Tether ≥ 0.8× bare Aedes doing ingest only, msg/s',
    per(
      median('QoS 0 processed msg/s', 'Tether'),
      median('QoS 0 processed msg/s', 'bare Aedes, ingest only'),
    ),
    0.8,
  );
  // CPU per message survives a busy machine better than a rate: Mosquitto's CPU per delivered
  // message over Tether's per uplink, ≥ 1 when Tether costs no more.
  ratioTarget(
    "QoS 0: Tether's CPU per uplink ≤ Mosquitto's per delivered message (Mosquitto / Tether CPU)",
    per(
      median('QoS 0 broker CPU s / 100k msg', 'Mosquitto'),
      median('QoS 0 broker CPU s / 100k msg', 'Tether'),
    ),
    1,
  );
  options.tetherPeak = r.summary('QoS 0 processed msg/s', 'Tether')?.median;
  return r.finish();
}
