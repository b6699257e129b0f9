/** What a fleet run reports: per device, and summed up with latency percentiles. */
import type { DeviceBehaviour } from './fleet-scenario.js';

export interface FleetDeviceResult {
  index: number;
  name: string;
  hardwareId: string;
  behaviour: DeviceBehaviour;
  /** The gateway's id for the device (from the provisioning session), when one was opened. */
  deviceId?: string;
  /** The user whose session provisioned it. */
  userEmail?: string;
  outcome: 'active' | 'failed' | 'not-provisioned';
  /** The companion's error code and the step that failed. */
  code?: string;
  step?: string;
  /** The device's own last_error (Edgent 700–704) at the end of its provisioning. */
  lastError: number;
  /** End to end, gateway session to the gateway's confirmation. */
  latencyMs?: number;
  /** How long each companion step took (where it finished). */
  stepsMs?: Record<string, number>;
  /** The device's state when the run ended. */
  finalState: string;
  published: number;
  reconnects: number;
  networkDrops: number;
  wiped: boolean;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface FleetSummary {
  /** The run's seed: `--seed` with it repeats the run. */
  seed?: number;
  devices: number;
  users: number;
  security: number;
  workers: number;
  activated: number;
  /** Companion error code (device last_error) → devices. */
  failed: Record<string, number>;
  notProvisioned: number;
  latencyMs: LatencySummary | null;
  /** Median time of each companion step: where activation time goes. */
  stepP50Ms: Record<string, number>;
  /** Activations per second over the provisioning phase, end to end. */
  activationsPerSecond: number;
  provisioningMs: number;
  runMs: number;
  messagesSent: number;
  reconnects: number;
  networkDrops: number;
  resets: number;
  /** Devices in `running` when the run ended. */
  online: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function failureKey(result: Pick<FleetDeviceResult, 'code' | 'lastError'>): string {
  return result.lastError ? `${result.code ?? 'UNKNOWN'} (${result.lastError})` : (result.code ?? 'UNKNOWN');
}

export function summarize(
  results: readonly FleetDeviceResult[],
  run: {
    seed?: number;
    users: number;
    security: number;
    workers: number;
    provisioningMs: number;
    runMs: number;
  },
): FleetSummary {
  const latencies = results
    .map((r) => r.latencyMs)
    .filter((ms): ms is number => ms !== undefined)
    .sort((a, b) => a - b);
  // Failure codes come from the gateway and the devices: counted in a Map, not by object key.
  const failures = new Map<string, number>();
  for (const r of results)
    if (r.outcome === 'failed') failures.set(failureKey(r), (failures.get(failureKey(r)) ?? 0) + 1);
  const activated = results.filter((r) => r.outcome === 'active').length;
  const sum = (pick: (r: FleetDeviceResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  return {
    ...(run.seed === undefined ? {} : { seed: run.seed }),
    devices: results.length,
    users: run.users,
    security: run.security,
    workers: run.workers,
    activated,
    failed: Object.fromEntries(failures),
    notProvisioned: results.filter((r) => r.outcome === 'not-provisioned').length,
    latencyMs:
      latencies.length === 0
        ? null
        : {
            p50: percentile(latencies, 50),
            p95: percentile(latencies, 95),
            p99: percentile(latencies, 99),
            max: latencies.at(-1)!,
            mean: Math.round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
          },
    stepP50Ms: stepMedians(results),
    activationsPerSecond:
      run.provisioningMs > 0 ? Math.round((activated / (run.provisioningMs / 1000)) * 10) / 10 : 0,
    provisioningMs: run.provisioningMs,
    runMs: run.runMs,
    messagesSent: sum((r) => r.published),
    reconnects: sum((r) => r.reconnects),
    networkDrops: sum((r) => r.networkDrops),
    resets: results.filter((r) => r.wiped).length,
    online: results.filter((r) => r.finalState === 'running').length,
  };
}

function stepMedians(results: readonly FleetDeviceResult[]): Record<string, number> {
  const byStep = new Map<string, number[]>();
  for (const r of results) {
    for (const [step, ms] of Object.entries(r.stepsMs ?? {})) {
      const list = byStep.get(step) ?? [];
      list.push(ms);
      byStep.set(step, list);
    }
  }
  return Object.fromEntries(
    [...byStep].map(([step, list]) => [
      step,
      percentile(
        list.sort((a, b) => a - b),
        50,
      ),
    ]),
  );
}
