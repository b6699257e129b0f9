/**
 * The device's connection to the cloud: one mqtt.js client per attempt, as firmware opens one
 * socket per attempt. Reconnecting (with backoff) is the device's decision, not mqtt.js's.
 * The device talks to a CloudConnection only, so tests swap in FakeCloud (fake-cloud.ts) and
 * move a ManualClock through cloud timeouts that real sockets would make them wait for.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export type ConnectResult =
  | { ok: true }
  /** CONNACK refused: 4 bad username or password (token), 5 not authorised. */
  | { ok: false; kind: 'refused'; returnCode: number }
  | { ok: false; kind: 'unreachable'; message: string };

export interface CloudLinkOptions {
  brokerUrl: string;
  token: string;
  clientId: string;
  connectTimeoutMs: number;
  keepaliveSeconds?: number;
  onMessage: (topic: string, payload: Buffer) => void;
  /** The connection dropped after it was up (not called for a failed attempt). */
  onLost: (reason: string) => void;
}

/** One attempt's connection, whatever carries it. */
export interface CloudConnection {
  readonly connected: boolean;
  /** Resolves once the broker accepted the token and `downlink/#` is subscribed, or with why not. */
  connect(): Promise<ConnectResult>;
  publish(topic: string, payload: string, qos?: 0 | 1): void;
  close(): Promise<void>;
}

export type CloudConnector = (options: CloudLinkOptions) => CloudConnection;

export class CloudLink implements CloudConnection {
  #client: MqttClient | undefined;
  #up = false;

  constructor(private readonly options: CloudLinkOptions) {}

  get connected(): boolean {
    return this.#up;
  }

  connect(): Promise<ConnectResult> {
    const { brokerUrl, token, clientId, connectTimeoutMs, keepaliveSeconds } = this.options;
    const clientOptions: IClientOptions = {
      username: 'device',
      password: token,
      clientId,
      clean: true, // as Blynk requires
      reconnectPeriod: 0,
      connectTimeout: connectTimeoutMs,
      keepalive: keepaliveSeconds ?? 45,
      protocolVersion: 4,
    };
    return new Promise<ConnectResult>((resolve) => {
      let settled = false;
      const settle = (result: ConnectResult) => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      let client: MqttClient;
      try {
        client = mqtt.connect(brokerUrl, clientOptions);
      } catch (error) {
        settle({ ok: false, kind: 'unreachable', message: (error as Error).message });
        return;
      }
      this.#client = client;
      client.on('connect', () => {
        this.#up = true;
        client.subscribe('downlink/#', { qos: 1 }, () => settle({ ok: true }));
      });
      client.on('message', (topic, payload) => this.options.onMessage(topic, payload));
      client.on('error', (error: Error & { code?: number | string }) => {
        if (typeof error.code === 'number') settle({ ok: false, kind: 'refused', returnCode: error.code });
        else settle({ ok: false, kind: 'unreachable', message: error.message });
        client.end(true);
      });
      client.on('close', () => {
        const wasUp = this.#up;
        this.#up = false;
        settle({ ok: false, kind: 'unreachable', message: 'connection closed' });
        if (wasUp && this.#client === client) this.options.onLost('connection lost');
      });
    });
  }

  publish(topic: string, payload: string, qos: 0 | 1 = 0): void {
    if (this.#up) this.#client?.publish(topic, payload, { qos });
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#up = false;
    if (client) await client.endAsync(true).catch(() => undefined);
  }
}

export const mqttCloudConnector: CloudConnector = (options) => new CloudLink(options);
