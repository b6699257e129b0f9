/**
 * A fleet split over worker threads: each worker runs a FleetRunner on its shard (its own devices,
 * its own companions and gateway sessions) and reports progress and results by message. Worth it
 * where CPU is the limit: security 2's SRP6a handshake costs milliseconds of modular
 * exponentiation on both the companion's and the device's side, all in this one process.
 *
 * The worker entry is a bundled script (dist/tether.js) that calls runFleetWorker() when it finds
 * itself in a worker; TypeScript sources cannot be loaded into a worker directly.
 */
import { Worker } from 'node:worker_threads';
import type { SessionTokens } from '../shared/gateway-client.js';
import type { FleetProgress } from './fleet-runner.js';
import type { FleetScenario } from './fleet-scenario.js';
import type { FleetDeviceResult } from './fleet-summary.js';
import type { DatastreamSpec } from './telemetry.js';

export const FLEET_WORKER_KIND = 'tether-fleet-shard';

/** How a worker becomes one of the run's users: log in itself, or reuse a session. */
export interface FleetUserSpec {
  email: string;
  baseUrl: string;
  password?: string;
  session?: SessionTokens;
}

export interface FleetShardSpec {
  kind: typeof FLEET_WORKER_KIND;
  count: number;
  indexOffset: number;
  fleetSize: number;
  templateId: string;
  hotspotPrefix?: string;
  datastreams: DatastreamSpec[];
  scenario: FleetScenario;
  /** Empty: boot the devices (from flash) without provisioning. */
  users: FleetUserSpec[];
  flashDir?: string;
  logLevel: string;
}

export type FleetWorkerMessage =
  | { type: 'progress'; progress: FleetProgress }
  | { type: 'done'; results: FleetDeviceResult[]; provisioningMs: number }
  | { type: 'error'; message: string };

export interface FleetPoolOptions {
  workers: number;
  /** A script that calls runFleetWorker() in a worker thread (the bundled CLI does). */
  workerUrl: URL;
  spec: Omit<FleetShardSpec, 'kind' | 'indexOffset' | 'fleetSize'>;
}

export class FleetPool {
  readonly #workers: Worker[] = [];
  readonly #progress: FleetProgress[] = [];

  constructor(private readonly options: FleetPoolOptions) {}

  progress(): FleetProgress {
    const total: FleetProgress = {
      total: this.options.spec.count,
      done: 0,
      activated: 0,
      failed: 0,
      online: 0,
      published: 0,
    };
    for (const p of this.#progress) {
      total.done += p.done;
      total.activated += p.activated;
      total.failed += p.failed;
      total.online += p.online;
      total.published += p.published;
    }
    return total;
  }

  /** Run every shard to the end; results come back in device order. */
  async run(): Promise<{ results: FleetDeviceResult[]; provisioningMs: number }> {
    const { workers, spec } = this.options;
    const shards = Math.max(1, Math.min(workers, spec.count));
    const base = Math.floor(spec.count / shards);
    let offset = 0;
    const runs: Array<Promise<{ results: FleetDeviceResult[]; provisioningMs: number }>> = [];
    for (let s = 0; s < shards; s++) {
      const count = base + (s < spec.count % shards ? 1 : 0);
      const shard: FleetShardSpec = {
        ...spec,
        kind: FLEET_WORKER_KIND,
        count,
        indexOffset: offset,
        fleetSize: spec.count,
        // Each shard keeps the fleet's activations in flight, divided between the shards.
        scenario: {
          ...spec.scenario,
          concurrency: Math.max(1, Math.ceil(spec.scenario.concurrency / shards)),
        },
      };
      offset += count;
      runs.push(this.#runShard(s, shard));
    }
    const done = await Promise.all(runs);
    return {
      results: done.flatMap((d) => d.results).sort((a, b) => a.index - b.index),
      provisioningMs: Math.max(...done.map((d) => d.provisioningMs)),
    };
  }

  /** End the running phase in every worker (Ctrl-C); their results still come back. */
  finish(): void {
    for (const worker of this.#workers) worker.postMessage({ type: 'finish' });
  }

  /** Terminate every worker at once. */
  async stop(): Promise<void> {
    await Promise.all(this.#workers.splice(0).map((worker) => worker.terminate()));
  }

  #runShard(
    slot: number,
    shard: FleetShardSpec,
  ): Promise<{ results: FleetDeviceResult[]; provisioningMs: number }> {
    this.#progress[slot] = { total: shard.count, done: 0, activated: 0, failed: 0, online: 0, published: 0 };
    const worker = new Worker(this.options.workerUrl, { workerData: shard });
    this.#workers.push(worker);
    return new Promise((resolve, reject) => {
      let settled = false;
      worker.on('message', (message: FleetWorkerMessage) => {
        if (message.type === 'progress') this.#progress[slot] = message.progress;
        else if (message.type === 'done') {
          settled = true;
          resolve({ results: message.results, provisioningMs: message.provisioningMs });
        } else {
          settled = true;
          reject(new Error(`fleet worker ${slot}: ${message.message}`));
        }
      });
      worker.once('error', (error) => {
        settled = true;
        reject(error);
      });
      worker.once('exit', (code) => {
        if (!settled) reject(new Error(`fleet worker ${slot} exited with code ${code} before its results`));
      });
    });
  }
}
