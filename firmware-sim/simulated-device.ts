/**
 * A simulated microcontroller running Blynk.Edgent-style firmware with ESP-IDF provisioning.
 *
 *   wait-config → configuring → connecting-net → connecting-cloud → running
 *        ↑______________ error (last_error 700–704) ___________|        |
 *        ↑______ reset-config (10 s reset hold, downlink/wipe) __________|
 *
 * Flash persists across restarts; the configuration is marked valid only after the first cloud
 * connection, so a failure before that returns the device to provisioning with last_error set.
 * A configured device that loses its network retries for the Wi-Fi timeout, then shows the error
 * state and restarts (as Edgent's enterError does); a lost cloud connection is retried with
 * exponential backoff and jitter. Beyond the peers: a wrong Wi-Fi passphrase leaves the device in
 * the same provisioning session, ready for corrected credentials; a short press of the reset
 * button does nothing; a token the cloud refuses sends the device back to provisioning keeping its
 * Wi-Fi, and only an explicit wipe (reset hold, `downlink/wipe`) erases it.
 * Every wait runs on the injected clock, so tests move time instead of sleeping.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../shared/clock.js';
import { parseDiag } from '../shared/device-diag.js';
import { EdgentLastError } from '../shared/edgent-errors.js';
import type { Logger } from '../shared/logger.js';
import { redirectUrl } from '../shared/redirect-url.js';
import type { McuInfo } from '../shared/topics.js';
import {
  type CloudConnection,
  type CloudConnector,
  type ConnectResult,
  mqttCloudConnector,
} from './cloud-link.js';
import type { FactoryData } from './factory-data.js';
import type { Flash, FlashContents } from './flash.js';
import type { AccessPoint, SimulatedAir } from './radio.js';
import { type DatastreamSpec, TelemetryGenerator } from './telemetry.js';

export type DeviceState =
  | 'off'
  | 'wait-config'
  | 'configuring'
  | 'connecting-net'
  | 'connecting-cloud'
  | 'running'
  | 'error'
  | 'reset-config';

/** Wi-Fi status as ESP-IDF's prov-config reports it. */
export type WifiStatus =
  | { state: 'disconnected' }
  | { state: 'connecting' }
  | { state: 'connected'; ip: string; ssid: string; bssid: string; channel: number }
  | { state: 'failed'; reason: 'auth-error' | 'network-not-found' };

export interface ActivationData {
  token: string;
  brokerUrl: string;
  templateId: string;
  /**
   * The security level of the provisioning session that delivered this data (0 for Blynk.Edgent's
   * plaintext AP), reported to the gateway in info/mcu so it can enforce the product's minimum.
   */
  provisioningSecurity?: 0 | 1 | 2;
}

export interface DeviceTimings {
  /** Blynk.Edgent: give up joining Wi-Fi after 50 s. */
  wifiTimeoutMs: number;
  /** Blynk.Edgent: give up connecting to the cloud after 50 s. */
  cloudTimeoutMs: number;
  /** How long an association takes on the simulated air. */
  joinDelayMs: number;
  /** Reconnect backoff: base and cap; each wait is jittered ±50 %. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** 0 switches telemetry off. */
  telemetryIntervalMs: number;
  /** Hold the reset button this long to wipe the configuration. */
  resetHoldMs: number;
  /** Blynk.Edgent's enterError: show the error this long, then restart. */
  errorRestartMs: number;
}

export const DEFAULT_TIMINGS: DeviceTimings = {
  wifiTimeoutMs: 50_000,
  cloudTimeoutMs: 50_000,
  joinDelayMs: 300,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  telemetryIntervalMs: 10_000,
  resetHoldMs: 10_000,
  errorRestartMs: 10_000,
};

export interface SimulatedDeviceOptions {
  factory: FactoryData;
  datastreams: DatastreamSpec[];
  flash: Flash;
  air: SimulatedAir;
  clock: Clock;
  logger: Logger;
  random?: () => number;
  timings?: Partial<DeviceTimings>;
  /** How the device reaches its broker; mqtt.js over a real socket unless a test swaps it. */
  cloud?: CloudConnector;
  /**
   * Other brokers of the same gateway cluster (each node's own address, where no load balancer
   * stands in front). When the broker in use cannot be reached (its node died), the device tries
   * the next one, in turn, with the usual backoff; the token works on every node.
   */
  fallbackBrokers?: readonly string[];
}

export interface DeviceEvents {
  state: [{ from: DeviceState; to: DeviceState; lastError: number }];
  /** Entered provisioning (boot without config, or back after an error): servers should be up. */
  'provisioning-open': [];
  /** Left provisioning (running): servers may close. */
  'provisioning-closed': [];
  downlink: [{ topic: string; payload: string }];
  published: [{ topic: string }];
  wiped: [{ reason: string }];
}

export interface DeviceStats {
  published: number;
  /** Times a configured device lost its cloud connection (broker drop or Wi-Fi drop) and set out to reconnect. */
  reconnects: number;
  /** Cloud connection attempts. */
  connects: number;
  /** Wi-Fi links lost while configured (flaky Wi-Fi). */
  networkDrops: number;
  /** Restarts after the error state, downlink/reboot or a power cycle. */
  restarts: number;
}

type WifiCredentials = { ssid: string; passphrase: string };

export class SimulatedDevice extends EventEmitter<DeviceEvents> {
  readonly factory: FactoryData;
  readonly timings: DeviceTimings;
  readonly stats: DeviceStats = { published: 0, reconnects: 0, connects: 0, networkDrops: 0, restarts: 0 };
  #state: DeviceState = 'off';
  #flash: FlashContents = {};
  #wifi: WifiStatus = { state: 'disconnected' };
  #joinedAp: AccessPoint | undefined;
  /** Wi-Fi credentials and activation data received in the current provisioning session. */
  #pendingWifi: WifiCredentials | undefined;
  #pendingCloud: ActivationData | undefined;
  #cloud: CloudConnection | undefined;
  #timers = new Set<TimerHandle>();
  #telemetryTimer: TimerHandle | undefined;
  #attempt = 0;
  /** Which of the brokers (the configured one, then the fallbacks) the next attempt uses. */
  #fallback = 0;
  #cloudDeadline = 0;
  #telemetry: TelemetryGenerator;
  #random: () => number;
  /** Latest value per datastream; names arrive on downlink topics, so a Map, not object keys. */
  #values = new Map<string, string>();
  #resetPressedAt: number | undefined;
  /** Bumped by every power cycle, wipe and reconfigure: callbacks of an older run do nothing. */
  #generation = 0;

  constructor(private readonly options: SimulatedDeviceOptions) {
    super();
    this.factory = options.factory;
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.#random = options.random ?? Math.random;
    this.#telemetry = new TelemetryGenerator(options.datastreams, this.#random);
  }

  get state(): DeviceState {
    return this.#state;
  }

  get lastError(): number {
    return this.#flash.lastError ?? EdgentLastError.none;
  }

  get wifiStatus(): WifiStatus {
    return this.#wifi;
  }

  get configValid(): boolean {
    return this.#flash.configValid === true;
  }

  get bootCount(): number {
    return this.#flash.bootCount ?? 0;
  }

  /** The broker URL in use: a redirect's, or the one provisioning delivered, or a fallback after it. */
  get brokerUrl(): string | undefined {
    const configured = this.#flash.redirectUrl ?? this.#flash.cloud?.brokerUrl;
    if (configured === undefined || this.#fallback === 0) return configured;
    const brokers = [configured, ...(this.options.fallbackBrokers ?? []).filter((url) => url !== configured)];
    return brokers[this.#fallback % brokers.length];
  }

  get values(): Readonly<Record<string, string>> {
    return Object.fromEntries(this.#values);
  }

  /** Power on: resume from flash, or wait for configuration. */
  async start(): Promise<void> {
    if (this.#state !== 'off') return;
    const generation = this.#generation;
    const flash = await this.options.flash.read();
    if (generation !== this.#generation) return;
    this.#flash = { ...flash, bootCount: (flash.bootCount ?? 0) + 1 };
    this.#values = new Map(Object.entries(this.#flash.values ?? {}));
    await this.#save();
    if (this.#flash.configValid && this.#flash.wifi && this.#flash.cloud) {
      this.#connectNet(this.#flash.wifi);
    } else {
      this.#enterProvisioning();
    }
  }

  /** Power off: every timer and socket closes; flash keeps what was committed. */
  async stop(): Promise<void> {
    this.#generation++;
    this.#clearTimers();
    await this.#closeCloud();
    this.#pendingWifi = undefined;
    this.#pendingCloud = undefined;
    this.#joinedAp = undefined;
    this.#wifi = { state: 'disconnected' };
    this.#setState('off');
  }

  /** A reboot, as `downlink/reboot`, the error state or a power cycle does it. */
  async reboot(): Promise<void> {
    this.stats.restarts++;
    await this.stop();
    await this.start();
  }

  // ---- the reset button ------------------------------------------------------------------

  pressResetButton(): void {
    this.#resetPressedAt = this.options.clock.now();
  }

  /** Released after a hold of resetHoldMs or more: wipe. A short press does nothing. */
  async releaseResetButton(): Promise<boolean> {
    const pressedAt = this.#resetPressedAt;
    this.#resetPressedAt = undefined;
    if (pressedAt === undefined || this.options.clock.now() - pressedAt < this.timings.resetHoldMs)
      return false;
    await this.wipe('reset button held');
    return true;
  }

  /** Factory reset: forget Wi-Fi and cloud configuration, return to provisioning. */
  async wipe(reason: string): Promise<void> {
    this.#generation++;
    this.#clearTimers();
    await this.#closeCloud();
    this.#setState('reset-config');
    this.#pendingWifi = undefined;
    this.#pendingCloud = undefined;
    this.#flash = { bootCount: this.#flash.bootCount ?? 1 };
    this.#values = new Map();
    await this.options.flash.erase();
    this.options.logger.info({ reason }, 'configuration wiped');
    this.emit('wiped', { reason });
    this.#enterProvisioning();
  }

  /** The Wi-Fi link drops (flaky router, interference): a configured device rejoins. */
  async loseNetwork(): Promise<void> {
    if (this.#state !== 'running' && this.#state !== 'connecting-cloud') return;
    const wifi = this.#flash.wifi;
    this.#generation++;
    this.#clearTimers();
    await this.#closeCloud();
    this.stats.networkDrops++;
    this.stats.reconnects++;
    this.options.logger.info('Wi-Fi link lost');
    if (this.#flash.configValid && wifi) this.#connectNet(wifi);
    else this.#enterProvisioning();
  }

  // ---- the provisioning service calls these (prov-config, prov-scan, prov-ctrl, activation) ----

  /** A provisioning client opened a secure session. */
  sessionOpened(): void {
    if (this.#state === 'wait-config') this.#setState('configuring');
  }

  scanNetworks(): AccessPoint[] {
    return this.options.air.scan();
  }

  setWifiConfig(ssid: string, passphrase: string): void {
    this.#pendingWifi = { ssid, passphrase };
    if (this.#wifi.state === 'failed') this.#wifi = { state: 'disconnected' };
  }

  /** The tether-activation endpoint: keep the token for the cloud connection. */
  activate(data: ActivationData): { hardwareId: string } {
    if (!/^[A-Za-z0-9_-]{32}$/.test(data.token) || !/^mqtts?:\/\/|^wss?:\/\//.test(data.brokerUrl)) {
      this.#setLastError(EdgentLastError.config);
      throw new Error('invalid activation data: a 32-character token and an mqtt:// broker URL are needed');
    }
    if (data.templateId !== this.factory.templateId) {
      // The firmware reports its own template in info/mcu; the gateway refuses a mismatch with a reason.
      this.options.logger.warn(
        { expected: this.factory.templateId, got: data.templateId },
        'template differs',
      );
    }
    this.#pendingCloud = data;
    return { hardwareId: this.factory.hardwareId };
  }

  /** prov-config apply: join the network; the outcome shows in wifiStatus. */
  applyWifiConfig(): void {
    const wifi = this.#pendingWifi;
    if (!wifi) {
      this.#setLastError(EdgentLastError.config);
      this.#wifi = { state: 'failed', reason: 'network-not-found' };
      return;
    }
    // A new apply supersedes a join still in progress (the person corrected the passphrase).
    this.#generation++;
    this.#clearTimers();
    this.#connectNet(wifi);
  }

  /** prov-ctrl reset: forget the credentials of this session, stay in provisioning. */
  resetProvisioning(): void {
    this.#pendingWifi = undefined;
    this.#wifi = { state: 'disconnected' };
    if (this.#state === 'connecting-net' || this.#state === 'configuring') {
      this.#generation++;
      this.#clearTimers();
      this.#setState('wait-config');
    }
  }

  /** prov-ctrl reprovision / downlink/reconfigure: back into provisioning without a reset button. */
  async reconfigure(): Promise<void> {
    this.#generation++;
    this.#clearTimers();
    await this.#closeCloud();
    this.#flash = { ...this.#flash, configValid: false };
    await this.#save();
    this.#enterProvisioning();
  }

  /** One round of telemetry now (also what the schedule calls). */
  publishTelemetry(): void {
    if (this.#state !== 'running' || !this.#cloud?.connected) return;
    for (const { name, payload } of this.#telemetry.next()) {
      this.#values.set(name, payload);
      this.#publish(`ds/${name}`, payload);
    }
  }

  // ---- internals --------------------------------------------------------------------------

  /** A failed attempt keeps its Wi-Fi status, so the companion still near the device can read why. */
  #enterProvisioning(wifiStatus: WifiStatus = { state: 'disconnected' }): void {
    this.#wifi = wifiStatus;
    this.#joinedAp = undefined;
    this.#setState('wait-config');
    this.emit('provisioning-open');
  }

  #connectNet(wifi: WifiCredentials): void {
    const generation = this.#generation;
    this.#setState('connecting-net');
    this.#wifi = { state: 'connecting' };
    this.#joinedAp = undefined;
    const deadline = this.options.clock.now() + this.timings.wifiTimeoutMs;
    const attempt = () => {
      if (generation !== this.#generation) return;
      const result = this.options.air.join(wifi.ssid, wifi.passphrase);
      if (result.ok) {
        this.#joinedAp = result.ap;
        this.#wifi = {
          state: 'connected',
          ip: result.ip,
          ssid: wifi.ssid,
          bssid: result.ap.bssid ?? '02:00:00:00:00:01',
          channel: result.ap.channel ?? 6,
        };
        void this.#onNetUp(wifi, generation);
        return;
      }
      // Unconfigured, a wrong passphrase or a missing network is final for this attempt: report
      // it and wait in provisioning for corrected credentials. A weak or flaky link is retried
      // until the Wi-Fi timeout. A configured device retries everything until the timeout (its
      // router may be rebooting), then shows the error and restarts.
      const final = result.reason === 'auth-failed' || result.reason === 'not-found';
      const timedOut = this.options.clock.now() >= deadline;
      if (this.#flash.configValid) {
        if (timedOut) this.#errorThenRestart(`Wi-Fi: ${result.reason}`);
        else this.#after(Math.max(this.timings.joinDelayMs, 1_000), attempt);
        return;
      }
      if (final || timedOut) {
        this.#wifi = {
          state: 'failed',
          reason: result.reason === 'auth-failed' ? 'auth-error' : 'network-not-found',
        };
        this.#setLastError(EdgentLastError.network);
        this.#failBeforeValid(`Wi-Fi: ${result.reason}`);
        return;
      }
      this.#after(this.timings.joinDelayMs, attempt);
    };
    this.#after(this.timings.joinDelayMs, attempt);
  }

  async #onNetUp(wifi: WifiCredentials, generation: number): Promise<void> {
    const fresh = this.#pendingCloud;
    const cloud = fresh ?? this.#flash.cloud;
    if (!cloud) {
      this.#setLastError(EdgentLastError.config);
      this.#failBeforeValid('no cloud configuration (activation data never arrived)');
      return;
    }
    // Commit what the session delivered; it is marked valid after the first cloud connection.
    // New activation data replaces any broker a redirect pointed the old configuration to.
    const { redirectUrl: _replaced, ...kept } = this.#flash;
    this.#flash = fresh ? { ...kept, wifi, cloud } : { ...this.#flash, wifi, cloud };
    await this.#save();
    if (generation !== this.#generation) return;
    this.#attempt = 0;
    this.#cloudDeadline = this.options.clock.now() + this.timings.cloudTimeoutMs;
    await this.#connectCloud();
  }

  async #connectCloud(): Promise<void> {
    const generation = this.#generation;
    const cloudConfig = this.#flash.cloud;
    if (!cloudConfig) return;
    this.#setState('connecting-cloud');
    await this.#closeCloud();
    this.stats.connects++;
    // Before the configuration is valid the whole cloud step has one deadline (Edgent's 50 s).
    const connectTimeoutMs = this.#flash.configValid
      ? this.timings.cloudTimeoutMs
      : Math.max(1, this.#cloudDeadline - this.options.clock.now());
    const result = await this.#attemptCloud(cloudConfig.token, connectTimeoutMs, generation);
    if (generation !== this.#generation) return;
    if (result.ok) {
      await this.#onCloudUp();
      return;
    }
    await this.#closeCloud();
    if (result.kind === 'refused') {
      this.options.logger.warn({ returnCode: result.returnCode }, 'cloud refused the token');
      this.#setLastError(EdgentLastError.token);
      if (this.#flash.configValid) {
        // Revoked, re-provisioned or expired: the token will not start working. Back to
        // provisioning for a new one, keeping the Wi-Fi; only an explicit wipe erases.
        this.#flash = { ...this.#flash, configValid: false };
        await this.#save();
      }
      this.#failBeforeValid('token refused');
      return;
    }
    this.options.logger.info({ message: result.message, broker: this.brokerUrl }, 'cloud unreachable');
    if (this.options.fallbackBrokers?.length) this.#fallback++;
    if (this.#flash.configValid) {
      this.#scheduleReconnect();
      return;
    }
    if (this.options.clock.now() < this.#cloudDeadline) {
      // Still inside Edgent's cloud timeout: try again soon, never past the deadline.
      const wait = Math.min(this.#nextBackoff(), this.#cloudDeadline - this.options.clock.now());
      this.#after(wait, () => void this.#connectCloud());
      return;
    }
    this.#setLastError(EdgentLastError.cloud);
    this.#failBeforeValid(`cloud unreachable: ${result.message}`);
  }

  /** One connection attempt; a network without a route gets no answer until the timeout. */
  #attemptCloud(token: string, connectTimeoutMs: number, generation: number): Promise<ConnectResult> {
    if (this.#joinedAp?.internet === false) {
      return new Promise((resolve) =>
        this.#after(connectTimeoutMs, () =>
          resolve({ ok: false, kind: 'unreachable', message: 'no route to the broker' }),
        ),
      );
    }
    const connection = (this.options.cloud ?? mqttCloudConnector)({
      brokerUrl: this.brokerUrl ?? '',
      token,
      // A fresh random client id per connection: one derived from the MAC could be guessed, and
      // the gateway keys sessions on the token anyway (Blynk allows any id, even an empty one).
      clientId: `sim-${randomBytes(8).toString('hex')}`,
      connectTimeoutMs,
      onMessage: (topic, payload) => {
        if (generation === this.#generation && this.#cloud === connection)
          void this.#onDownlink(topic, payload.toString('utf8'));
      },
      onLost: (reason) => {
        if (generation !== this.#generation || this.#cloud !== connection) return;
        this.options.logger.info({ reason }, 'cloud connection lost');
        this.#stopTelemetry();
        this.stats.reconnects++;
        this.#scheduleReconnect();
      },
    });
    this.#cloud = connection;
    return connection.connect();
  }

  async #onCloudUp(): Promise<void> {
    const firstTime = !this.#flash.configValid;
    this.#attempt = 0;
    this.#pendingWifi = undefined;
    this.#pendingCloud = undefined;
    this.#flash = { ...this.#flash, configValid: true, lastError: EdgentLastError.none };
    await this.#save();
    this.#setState('running');
    if (firstTime) this.emit('provisioning-closed');
    // Blynk: info/mcu on every connect.
    const { ver, build, type } = this.factory.firmware;
    this.#publish(
      'info/mcu',
      JSON.stringify({
        tmpl: this.factory.templateId,
        ver,
        build,
        type,
        rxbuff: 1024,
        hwid: this.factory.hardwareId,
        ...(this.#flash.cloud?.provisioningSecurity === undefined
          ? {}
          : { provsec: this.#flash.cloud.provisioningSecurity }),
      } satisfies McuInfo),
    );
    this.#startTelemetry();
  }

  #startTelemetry(): void {
    this.#stopTelemetry();
    if (this.timings.telemetryIntervalMs <= 0) return;
    this.#telemetryTimer = this.options.clock.setInterval(
      () => this.publishTelemetry(),
      this.timings.telemetryIntervalMs,
    );
  }

  #stopTelemetry(): void {
    this.options.clock.clearInterval(this.#telemetryTimer);
    this.#telemetryTimer = undefined;
  }

  #publish(topic: string, payload: string, qos: 0 | 1 = 0): void {
    if (!this.#cloud?.connected) return;
    this.#cloud.publish(topic, payload, qos);
    this.stats.published++;
    this.emit('published', { topic });
  }

  async #onDownlink(topic: string, payload: string): Promise<void> {
    this.emit('downlink', { topic, payload });
    if (topic.startsWith('downlink/ds/')) {
      const name = topic.slice('downlink/ds/'.length);
      this.#values.set(name, payload);
      this.#flash = { ...this.#flash, values: Object.fromEntries(this.#values) };
      await this.#save();
      // Firmware echoes the new state so every app sees what the device really holds.
      this.#publish(`ds/${name}`, payload);
      return;
    }
    switch (topic) {
      case 'downlink/reboot':
        await this.reboot();
        return;
      case 'downlink/reconfigure':
        await this.reconfigure();
        return;
      case 'downlink/wipe':
        // The gateway deleted the device: its token is void; forget everything.
        await this.wipe('the gateway deleted this device');
        return;
      case 'downlink/redirect': {
        // Read as Blynk's samples read it (urlparse: scheme, host, explicit port); anything they
        // could not follow is ignored here too.
        let url: string;
        try {
          url = redirectUrl(payload);
        } catch {
          this.options.logger.warn({ url: payload.slice(0, 120) }, 'ignored a redirect to an unusable URL');
          return;
        }
        this.#flash = { ...this.#flash, redirectUrl: url };
        await this.#save();
        this.#generation++;
        this.#clearTimers();
        this.#attempt = 0;
        await this.#connectCloud();
        return;
      }
      case 'downlink/diag': {
        // Advice about something it sent (shared/device-diag.ts): logged, never a reason to wipe.
        const diag = parseDiag(payload);
        if (diag) this.options.logger.info({ code: diag.code, message: diag.message }, 'gateway diag');
        return;
      }
      case 'downlink/ping':
        return; // QoS 1: the MQTT client's PUBACK is the answer
    }
  }

  #scheduleReconnect(): void {
    this.#setState('connecting-cloud');
    this.#after(this.#nextBackoff(), () => void this.#connectCloud());
  }

  /** Exponential backoff with ±50 % jitter, so a fleet does not reconnect in lockstep. */
  #nextBackoff(): number {
    const { backoffBaseMs, backoffMaxMs } = this.timings;
    const exp = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(this.#attempt, 16));
    this.#attempt++;
    return Math.round(exp * (0.5 + this.#random()));
  }

  /** Before the first cloud connection every failure returns to provisioning. */
  #failBeforeValid(reason: string): void {
    this.options.logger.info({ reason, lastError: this.lastError }, 'configuration failed');
    this.#setState('error');
    this.#enterProvisioning(this.#wifi.state === 'failed' ? this.#wifi : { state: 'disconnected' });
  }

  /** Edgent's enterError for a configured device: show the error, then restart from flash. */
  #errorThenRestart(reason: string): void {
    this.options.logger.info({ reason }, 'error: restarting');
    this.#wifi = { state: 'disconnected' };
    this.#setState('error');
    this.#after(this.timings.errorRestartMs, () => void this.reboot());
  }

  async #closeCloud(): Promise<void> {
    this.#stopTelemetry();
    const cloud = this.#cloud;
    this.#cloud = undefined;
    await cloud?.close();
  }

  #setLastError(code: number): void {
    this.#flash = { ...this.#flash, lastError: code };
    void this.#save();
  }

  #setState(to: DeviceState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.emit('state', { from, to, lastError: this.lastError });
  }

  /** A timer of the current run: stop, wipe and reconfigure clear it; an older run's never fires. */
  #after(ms: number, fn: () => void): void {
    const generation = this.#generation;
    const handle = this.options.clock.setTimeout(() => {
      this.#timers.delete(handle);
      if (generation === this.#generation) fn();
    }, ms);
    this.#timers.add(handle);
  }

  #clearTimers(): void {
    for (const timer of this.#timers) this.options.clock.clearTimeout(timer);
    this.#timers.clear();
    this.#stopTelemetry();
  }

  #save(): Promise<void> {
    return this.options.flash.write(this.#flash);
  }
}
