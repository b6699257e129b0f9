/**
 * Scenario 6: event-loop health under load. Scenario 1's load (QoS 0), paced at 80 % of Tether's
 * peak from scenario 1 (or a short probe when run alone), for a fixed time; the broker's
 * event-loop delay p50/p99/max over that window. Bare Aedes runs at the same absolute rate as a
 * reference.
 */
import { bundle } from '../lib/paths.js';
import { sleep } from '../lib/proc.js';
import { ResultBuilder, type ScenarioResult } from '../lib/report.js';
import { fmt } from '../lib/stats.js';
import { type Context, startBroker } from './context.js';
import {
  closeSetup,
  connectLoad,
  disconnectLoad,
  prepareThroughput,
  TETHER_RATE_ENV,
} from './s1-throughput.js';

export async function runEventLoop(ctx: Context): Promise<ScenarioResult> {
  const { options } = ctx;
  const r = new ResultBuilder('s6', 'Scenario 6 — event-loop delay at 80 % of peak (QoS 0)');
  const durationMs = options.quick ? 4_000 : 10_000;
  const s = await prepareThroughput(20, 2);
  try {
    let peak = options.tetherPeak;
    if (!peak) {
      // Run alone: a short flood to find the peak (same method as scenario 1, one run).
      const broker = await startBroker('Tether', r, {
        dataDir: s.dataDir,
        env: TETHER_RATE_ENV,
        mosqDir: s.mosqDir,
      });
      try {
        const read = (await connectLoad(s, broker, 0))!;
        const before = await read();
        const t0 = performance.timeOrigin + performance.now();
        const counts = await Promise.all(
          s.publishers.map((p) => p.call<{ sent: number }>('go', { messagesPerClient: 3_000 })),
        );
        const sent = counts.reduce((a, c) => a + c.sent, 0);
        for (let i = 0; i < 400 && (await read()).count - before.count < sent; i++) await sleep(25);
        const after = await read();
        peak = ((after.count - before.count) / (after.lastAt - t0)) * 1000;
        await disconnectLoad(s, broker);
      } finally {
        await broker.stop();
      }
    }
    // BENCH_S6_FACTOR (default 0.8) offers another share of the peak, e.g. 2.5 to study overload.
    const factor = Number(process.env.BENCH_S6_FACTOR ?? 0.8);
    const rate = Math.round(peak * factor);
    r.result.config = {
      tetherPeakMsgPerSec: Math.round(peak),
      factor,
      targetRate: rate,
      durationMs,
      devices: 20,
      publisherProcesses: 2,
      qos: 0,
      eventLoopMonitor: 'perf_hooks.monitorEventLoopDelay, resolution 5 ms',
      runs: options.runs,
    };
    r.command(`publishers: 2 × node ${bundle('publisher')} paced to ${rate} msg/s in total`);
    for (let run = 1; run <= options.runs; run++) {
      for (const name of ['Tether', 'bare Aedes'] as const) {
        const broker = await startBroker(name, r, {
          dataDir: s.dataDir,
          env: TETHER_RATE_ENV,
          mosqDir: s.mosqDir,
        });
        try {
          const read = (await connectLoad(s, broker, 0))!;
          await sleep(300);
          const before = await read();
          await broker.worker!.call('resetEld');
          const t0 = performance.timeOrigin + performance.now();
          await Promise.all(
            s.publishers.map((p) => p.call('go', { rate: rate / s.publishers.length, durationMs })),
          );
          const st = await broker.worker!.call<{ eld: { p50: number; p99: number; max: number } }>('stats');
          await sleep(500);
          const after = await read();
          const achieved = ((after.count - before.count) / (after.lastAt - t0)) * 1000;
          r.add('event-loop delay p50', name, 'ms', st.eld.p50);
          r.add('event-loop delay p99', name, 'ms', st.eld.p99);
          r.add('event-loop delay max', name, 'ms', st.eld.max);
          r.add('processed msg/s', name, 'msg/s', achieved);
          console.log(
            `  S6 run ${run} ${name}: ${fmt(achieved)} msg/s, loop delay p50 ${fmt(st.eld.p50)} p99 ${fmt(st.eld.p99)} max ${fmt(st.eld.max)} ms`,
          );
          await disconnectLoad(s, broker);
        } finally {
          await broker.stop();
        }
      }
    }
  } finally {
    await closeSetup(s);
  }
  return r.finish();
}
