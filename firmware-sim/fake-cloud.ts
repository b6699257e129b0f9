/**
 * An in-memory cloud for tests of the simulated device: it accepts, refuses or ignores a
 * connection per broker URL, records what the device publishes, delivers downlink and drops a
 * connection on demand. A cloud that does not answer fails the attempt after the device's own
 * connect timeout on the injected clock, as a TCP connect to a silent host would.
 */
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { CloudConnection, CloudConnector, CloudLinkOptions, ConnectResult } from './cloud-link.js';

/** accept; refuse with CONNACK 4 (bad token); unreachable at once (RST); silent until timeout. */
export type FakeCloudMode = 'accept' | 'refuse' | 'unreachable' | 'silent';

export interface FakeCloudAttempt {
  at: number;
  brokerUrl: string;
  token: string;
  clientId: string;
}

export class FakeCloud {
  /** The answer for a broker URL without an entry in `modes`. */
  mode: FakeCloudMode = 'accept';
  readonly modes = new Map<string, FakeCloudMode>();
  readonly attempts: FakeCloudAttempt[] = [];
  readonly published: Array<{ topic: string; payload: string; qos: 0 | 1; brokerUrl: string }> = [];
  readonly #live = new Set<FakeCloudConnection>();

  constructor(readonly clock: Clock) {}

  readonly connector: CloudConnector = (options) => new FakeCloudConnection(this, options);

  get online(): boolean {
    return this.#live.size > 0;
  }

  /** Publish from the cloud to every connected device (the device sees `downlink/...`). */
  send(topic: string, payload = ''): void {
    for (const connection of [...this.#live]) connection.deliver(topic, payload);
  }

  /** Every live connection drops, as a broker restart or a lost route does. */
  drop(reason = 'connection lost'): void {
    for (const connection of [...this.#live]) connection.lose(reason);
  }

  modeFor(brokerUrl: string): FakeCloudMode {
    return this.modes.get(brokerUrl) ?? this.mode;
  }

  /** Topics published so far, in order. */
  topics(): string[] {
    return this.published.map((p) => p.topic);
  }

  attach(connection: FakeCloudConnection): void {
    this.#live.add(connection);
  }

  detach(connection: FakeCloudConnection): void {
    this.#live.delete(connection);
  }
}

class FakeCloudConnection implements CloudConnection {
  #up = false;
  #closed = false;
  #silence: TimerHandle | undefined;

  constructor(
    private readonly cloud: FakeCloud,
    private readonly options: CloudLinkOptions,
  ) {}

  get connected(): boolean {
    return this.#up;
  }

  connect(): Promise<ConnectResult> {
    const { brokerUrl, token, clientId, connectTimeoutMs } = this.options;
    this.cloud.attempts.push({ at: this.cloud.clock.now(), brokerUrl, token, clientId });
    switch (this.cloud.modeFor(brokerUrl)) {
      case 'accept':
        this.#up = true;
        this.cloud.attach(this);
        return Promise.resolve({ ok: true });
      case 'refuse':
        return Promise.resolve({ ok: false, kind: 'refused', returnCode: 4 });
      case 'unreachable':
        return Promise.resolve({ ok: false, kind: 'unreachable', message: 'connect ECONNREFUSED' });
      case 'silent':
        return new Promise((resolve) => {
          this.#silence = this.cloud.clock.setTimeout(
            () => resolve({ ok: false, kind: 'unreachable', message: 'connack timeout' }),
            connectTimeoutMs,
          );
        });
    }
  }

  publish(topic: string, payload: string, qos: 0 | 1 = 0): void {
    if (this.#up) this.cloud.published.push({ topic, payload, qos, brokerUrl: this.options.brokerUrl });
  }

  deliver(topic: string, payload: string): void {
    if (this.#up) this.options.onMessage(topic, Buffer.from(payload));
  }

  lose(reason: string): void {
    if (!this.#up) return;
    this.#up = false;
    this.cloud.detach(this);
    this.options.onLost(reason);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#up = false;
    this.cloud.clock.clearTimeout(this.#silence);
    this.cloud.detach(this);
  }
}
