/**
 * The gateway's Prometheus metrics (prom-client), served at /metrics. One registry per gateway,
 * no global state. The broker's per-message path only bumps a number in a Map (BrokerMetrics);
 * prom-client reads those numbers when it is scraped, so a message costs no label hashing.
 */
import {
  type Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  Counter as PromCounter,
  Registry,
} from 'prom-client';
import type { BrokerMetrics } from './broker/broker-metrics.js';
import type { EventBus } from './events.js';
import type { EmbeddedStoreStats } from './store/embedded-store.js';
import type { Store } from './store/store.js';

/** Counts kept as plain numbers, read into prom-client at scrape time. */
class Tally {
  readonly counts = new Map<string, number>();
  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}

const DOWNLINK = 'downlink/';

export interface GatewayMetricsDeps {
  events: EventBus;
  store: Store;
  connectedDevices: () => number;
}

export class GatewayMetrics implements BrokerMetrics {
  readonly registry = new Registry();
  readonly #uplinks = new Tally();
  readonly #downlinks = new Tally();
  readonly #refusals = new Tally();
  readonly #http: Counter<'method' | 'route' | 'status'>;
  readonly #httpSeconds: Histogram<'method' | 'route'>;
  readonly #storeWrite: Histogram;
  readonly #activations: Counter<'outcome'>;
  readonly #provisioning: Histogram;
  #unsubscribe: Array<() => void> = [];

  constructor(deps: GatewayMetricsDeps) {
    const registers = [this.registry];
    const fromTally = (
      name: string,
      help: string,
      label: string,
      tally: Tally,
      split?: (key: string) => string[],
    ) =>
      new PromCounter({
        name,
        help,
        labelNames: split ? ['where', label] : [label],
        registers,
        collect() {
          this.reset();
          for (const [key, n] of tally.counts) {
            if (split) {
              const [where, value] = split(key);
              this.inc({ where: where!, [label]: value! }, n);
            } else this.inc({ [label]: key }, n);
          }
        },
      });
    fromTally('tether_uplinks_total', 'Device uplinks accepted, by topic kind.', 'kind', this.#uplinks);
    fromTally('tether_downlinks_total', 'Downlinks sent to devices, by topic kind.', 'kind', this.#downlinks);
    fromTally(
      'tether_refusals_total',
      'Connections, publishes, subscriptions and uplinks refused, by where and error code.',
      'code',
      this.#refusals,
      (key) => key.split(' '),
    );
    new Gauge({
      name: 'tether_connected_devices',
      help: 'Devices connected to the broker now.',
      registers,
      collect() {
        this.set(deps.connectedDevices());
      },
    });
    this.#activations = new PromCounter({
      name: 'tether_activations_total',
      help: 'Device activations, by outcome (activated, or the refusal code).',
      labelNames: ['outcome'],
      registers,
    });
    this.#provisioning = new Histogram({
      name: 'tether_provisioning_seconds',
      help: 'From a provisioning session opened to its device activated.',
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      registers,
    });
    this.#http = new PromCounter({
      name: 'tether_http_requests_total',
      help: 'HTTP requests answered, by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.#httpSeconds = new Histogram({
      name: 'tether_http_request_seconds',
      help: 'HTTP request duration, by method and route.',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.#storeWrite = new Histogram({
      name: 'tether_store_write_seconds',
      help: 'One journal write with its fsync (concurrent changes share one).',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers,
    });
    const stats = () => (deps.store as { stats?: () => EmbeddedStoreStats }).stats?.();
    new Gauge({
      name: 'tether_store_journal_bytes',
      help: 'Bytes in the journal not yet compacted into a snapshot.',
      registers,
      collect() {
        this.set(stats()?.journalBytes ?? 0);
      },
    });
    new Gauge({
      name: 'tether_store_writable',
      help: '1 while the store can write, 0 while its writes fail.',
      registers,
      collect() {
        this.set(deps.store.health().writable ? 1 : 0);
      },
    });
    // Process, heap, GC and event-loop delay (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });

    this.#unsubscribe = [
      deps.events.onLocal('device.activated', ({ device }) => {
        this.#activations.inc({ outcome: 'activated' });
        if (device.activatedAt !== null) {
          this.#provisioning.observe(Math.max(0, device.activatedAt - device.createdAt) / 1000);
        }
      }),
      deps.events.onLocal('device.activation-failed', ({ code }) => this.#activations.inc({ outcome: code })),
    ];
  }

  uplink(kind: string): void {
    this.#uplinks.add(kind);
  }

  downlink(deviceTopic: string): void {
    if (!deviceTopic.startsWith(DOWNLINK)) return this.#downlinks.add('other');
    const end = deviceTopic.indexOf('/', DOWNLINK.length);
    this.#downlinks.add(deviceTopic.slice(DOWNLINK.length, end === -1 ? undefined : end));
  }

  refused(where: 'connect' | 'publish' | 'subscribe' | 'uplink', code: string): void {
    this.#refusals.add(`${where} ${code}`);
  }

  /** A journal write reached the disk (EmbeddedStoreOptions.onJournalWrite). */
  storeWrite(ms: number): void {
    this.#storeWrite.observe(ms / 1000);
  }

  /** An HTTP answer; `route` is the registered pattern (bounded), never the raw URL. */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.#http.inc({ method, route, status: String(status) });
    this.#httpSeconds.observe({ method, route }, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
    this.registry.clear();
  }
}
