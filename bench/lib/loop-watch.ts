/**
 * How long work held the event loop: the longest gap between two turns of a 1 ms timer (beyond
 * that 1 ms), the most CPU time the process spent inside such a gap, and Node's event-loop delay
 * histogram (`monitorEventLoopDelay`, what /metrics exports) at p99. On a busy shared machine the
 * wall-clock gap also counts time the process was not running at all; the CPU figure counts only
 * work that held the loop. A gap during which the heap was collected carries the collection too:
 * the figures "without GC" leave those gaps out, and the longest collection is reported apart.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

export interface LoopHold {
  /** Longest gap between two timer turns, beyond the timer's 1 ms (ms). */
  wallMs: number;
  /** Most process CPU spent inside one such gap (ms). */
  cpuMs: number;
  /** The same two over the gaps no garbage collection overlapped (ms). */
  wallMsWithoutGc: number;
  cpuMsWithoutGc: number;
  /** The event-loop delay histogram's p99 (ms). */
  p99Ms: number;
  /** The longest garbage collection in the window (ms). */
  gcMs: number;
}

/** Garbage collections from now on, as [start, end] in performance.now() time. */
export function gcLog(): { intervals: Array<[number, number]>; stop(): void } {
  const intervals: Array<[number, number]> = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      intervals.push([entry.startTime, entry.startTime + entry.duration]);
  });
  observer.observe({ entryTypes: ['gc'] });
  return { intervals, stop: () => observer.disconnect() };
}

/** Gaps shorter than this (wall and CPU) are not kept one by one: they cannot be the longest. */
const KEEP_GAP_MS = 2;

export function loopWatch(): { stop(): Promise<LoopHold> } {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const gcs = gcLog();
  const gaps: Array<{ from: number; to: number; wall: number; cpu: number }> = [];
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const wall = now - last - 1;
    const used = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    if (wall > KEEP_GAP_MS || used > KEEP_GAP_MS) gaps.push({ from: last, to: now, wall, cpu: used });
    last = now;
    lastCpu = cpu;
  }, 1);
  return {
    stop: async () => {
      clearInterval(timer);
      histogram.disable();
      await new Promise((resolve) => setTimeout(resolve, 10)); // the last GC entries are delivered
      gcs.stop();
      const clean = gaps.filter((g) => !gcs.intervals.some(([from, to]) => from < g.to && to > g.from));
      const max = (list: typeof gaps, key: 'wall' | 'cpu') => Math.max(0, ...list.map((g) => g[key]));
      return {
        wallMs: max(gaps, 'wall'),
        cpuMs: max(gaps, 'cpu'),
        wallMsWithoutGc: max(clean, 'wall'),
        cpuMsWithoutGc: max(clean, 'cpu'),
        p99Ms: Math.max(0, histogram.percentile(99) / 1e6 - 1),
        gcMs: Math.max(0, ...gcs.intervals.map(([from, to]) => to - from)),
      };
    },
  };
}

export const ms = (n: number): string => `${n.toFixed(n < 10 ? 2 : 1)} ms`;

export const describeHold = (h: LoopHold): string =>
  `${ms(h.wallMs)} (CPU ${ms(h.cpuMs)}; loop delay p99 ${ms(h.p99Ms)})`;
