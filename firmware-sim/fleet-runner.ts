/**
 * Runs a fleet of simulated devices in this thread: powers each one on, provisions it through the
 * real companion code path (`activateDevice`: gateway session, protocomm over SoftAP HTTP or the
 * in-memory link, security 0/1/2, Wi-Fi, the gateway's confirmation), keeps the activated ones
 * online publishing telemetry, plays the scenario's resets and Wi-Fi drops, and reports one result
 * per device. FleetPool (fleet-pool.ts) splits a fleet into several of these across worker threads.
 *
 * Devices stay powered off until their turn to be provisioned, as boxes on a bench: only the
 * activations in flight have a provisioning service (and an HTTP server) open at once.
 */
import { join } from 'node:path';
import { activateDevice } from '../provisioning/companion/activation-flow.js';
import { MemoryTransport } from '../provisioning/transport/memory-link.js';
import { SoftApHttpTransport } from '../provisioning/transport/softap-http.js';
import type { ProvisioningTransport } from '../provisioning/transport/transport.js';
import { type Clock, SystemClock, type TimerHandle } from '../shared/clock.js';
import { isTetherError, TetherError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { CloudConnector } from './cloud-link.js';
import { DeviceHost } from './device-host.js';
import {
  deviceSecurity,
  type FactoryData,
  FLEET_MAX_DEVICES,
  fleetMacAddress,
  makeFactoryData,
} from './factory-data.js';
import { FileFlash, type Flash, type FlashContents, MemoryFlash } from './flash.js';
import type { DeviceBehaviour, FleetScenario } from './fleet-scenario.js';
import { assignBehaviours } from './fleet-scenario.js';
import type { FleetDeviceResult } from './fleet-summary.js';
import { type AccessPoint, SimulatedAir } from './radio.js';
import { SimulatedDevice } from './simulated-device.js';
import { type DatastreamSpec, seededRandom } from './telemetry.js';

/** The lab network every fleet device can see. */
export const FLEET_AP = { ssid: 'fleet-lab', passphrase: 'fleet-lab-passphrase' } as const;

/** A person the fleet provisions devices as: anything with the companion's gateway calls. */
export interface FleetUser {
  email: string;
  gateway: Parameters<typeof activateDevice>[1];
}

export interface FleetProgress {
  total: number;
  /** Provisioning finished (either way), or booted when not provisioning. */
  done: number;
  activated: number;
  failed: number;
  online: number;
  published: number;
}

export interface FleetRunnerOptions {
  count: number;
  /** Index of this shard's first device in the whole fleet (names and seeds follow it). */
  indexOffset?: number;
  /** Size of the whole fleet (behaviours are assigned over all of it). Default count. */
  fleetSize?: number;
  templateId: string;
  hotspotPrefix?: string;
  datastreams: DatastreamSpec[];
  scenario: FleetScenario;
  /** Provision through the companion as these users, round robin by device index; none: boot only. */
  users?: FleetUser[];
  /** One flash file per device here; in memory when absent. */
  flashDir?: string;
  /**
   * What a device's (in-memory) flash holds at power-on: devices provisioned in an earlier life
   * resume from it and connect at once. Used to bring thousands of devices online without a
   * companion each (bench: memory per connected device).
   */
  initialFlash?: (index: number, factory: FactoryData) => FlashContents | undefined;
  logger: Logger;
  clock?: Clock;
  /** For tests: how devices reach the cloud (default mqtt.js). */
  cloud?: CloudConnector;
}

interface FleetDevice {
  index: number;
  behaviour: DeviceBehaviour;
  factory: FactoryData;
  device: SimulatedDevice;
  host: DeviceHost | undefined;
  result: FleetDeviceResult;
  random: () => number;
  /** Provisioning finished, either way (or booted, when the run does not provision). */
  done: boolean;
}

export class FleetRunner {
  readonly #devices: FleetDevice[] = [];
  readonly #timers = new Set<TimerHandle>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #memory = new MemoryTransport();
  readonly #clock: Clock;
  #stopping = false;
  #provisioningMs = 0;
  /** Ends the running phase's wait early (finish()). */
  #wake: (() => void) | undefined;

  constructor(private readonly options: FleetRunnerOptions) {
    this.#clock = options.clock ?? new SystemClock();
  }

  get results(): FleetDeviceResult[] {
    return this.#devices.map((d) => this.#snapshot(d));
  }

  get provisioningMs(): number {
    return this.#provisioningMs;
  }

  progress(): FleetProgress {
    let done = 0;
    let activated = 0;
    let failed = 0;
    let online = 0;
    let published = 0;
    for (const d of this.#devices) {
      if (d.result.outcome === 'active') activated++;
      if (d.result.outcome === 'failed') failed++;
      if (d.done) done++;
      if (d.device.state === 'running') online++;
      published += d.device.stats.published;
    }
    return { total: this.#devices.length, done, activated, failed, online, published };
  }

  /**
   * Build the devices, provision them (or boot them from flash), then stay online for the
   * scenario's duration. Resolves when the run is over; stop() ends it early.
   */
  async run(): Promise<FleetDeviceResult[]> {
    this.#build();
    const started = Date.now();
    if (this.options.users?.length) await this.#provisionAll();
    else await this.#bootAll();
    this.#provisioningMs = Date.now() - started;
    await this.#stayOnline();
    await this.stop();
    return this.results;
  }

  /** Power every device off and close every server, timer and connection. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const timer of this.#timers) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#pending]);
    for (const d of this.#devices) this.#snapshot(d);
    await Promise.all(
      this.#devices.map(async (d) => {
        if (d.host) await d.host.stop();
        else await d.device.stop();
      }),
    );
  }

  // ---- building ---------------------------------------------------------------------------

  #build(): void {
    const { count, scenario, templateId, datastreams } = this.options;
    const offset = this.options.indexOffset ?? 0;
    const fleetSize = this.options.fleetSize ?? count;
    if (fleetSize > FLEET_MAX_DEVICES || offset + count > FLEET_MAX_DEVICES) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `A fleet holds at most ${FLEET_MAX_DEVICES} devices; run several with different seeds.`,
      );
    }
    // Behaviours are dealt over the whole fleet, so a shard's devices match a single-thread run.
    const behaviours = assignBehaviours(fleetSize, scenario.mix, seededRandom(scenario.seed));
    for (let i = 0; i < count; i++) {
      const index = offset + i;
      const random = seededRandom(mix32(scenario.seed, index));
      const behaviour = behaviours[index] ?? 'normal';
      const factory = makeFactoryData({
        templateId,
        hotspotPrefix: this.options.hotspotPrefix ?? 'FLEET',
        random,
        mac: fleetMacAddress(scenario.seed, index),
      });
      const ap: AccessPoint = {
        ...FLEET_AP,
        rssi: -50 - Math.floor(random() * 30),
        ...(behaviour === 'flaky-wifi' ? { dropRate: 0.5 } : {}),
        ...(behaviour === 'never-connect' ? { internet: false } : {}),
      };
      const preset = this.options.initialFlash?.(index, factory);
      const flash: Flash = this.options.flashDir
        ? new FileFlash(join(this.options.flashDir, `${String(index).padStart(6, '0')}-${factory.name}.json`))
        : new MemoryFlash(preset);
      const device = new SimulatedDevice({
        factory,
        datastreams,
        flash,
        air: new SimulatedAir([ap], random),
        clock: this.#clock,
        logger: this.options.logger.child({ device: factory.name }),
        random,
        ...(this.options.cloud ? { cloud: this.options.cloud } : {}),
        timings: {
          cloudTimeoutMs: scenario.cloudTimeoutSeconds * 1000,
          wifiTimeoutMs: scenario.wifiTimeoutSeconds * 1000,
          joinDelayMs: scenario.joinDelayMs,
          telemetryIntervalMs: scenario.publishIntervalSeconds * 1000,
          resetHoldMs: Math.min(10_000, scenario.resetHoldSeconds * 1000),
        },
      });
      const entry: FleetDevice = {
        index,
        behaviour,
        factory,
        device,
        host: undefined,
        random,
        done: false,
        result: {
          index,
          name: factory.name,
          hardwareId: factory.hardwareId,
          behaviour,
          outcome: 'not-provisioned',
          lastError: 0,
          finalState: 'off',
          published: 0,
          reconnects: 0,
          networkDrops: 0,
          wiped: false,
        },
      };
      device.on('wiped', () => {
        entry.result.wiped = true;
      });
      this.#devices.push(entry);
    }
  }

  /** Power on: the device boots and opens its provisioning service on the scenario's transport. */
  async #powerOn(d: FleetDevice, provisioningService: boolean): Promise<void> {
    const softAp = this.options.scenario.transport === 'softap' && provisioningService;
    d.host = new DeviceHost({
      device: d.device,
      security: provisioningService
        ? await deviceSecurity(d.factory, this.options.scenario.security)
        : { version: 0 },
      clock: this.#clock,
      logger: this.options.logger.child({ device: d.factory.name, module: 'provisioning' }),
      softAp: softAp ? { host: '127.0.0.1', port: 0 } : false,
      ble: false,
      // The companion reads its last status at once; no need to keep a fleet's servers around.
      provisioningGraceMs: 500,
    });
    await d.host.start();
    if (!softAp) this.#memory.add(d.factory.name, d.factory.name, d.host.endpoints);
  }

  // ---- provisioning -----------------------------------------------------------------------

  async #provisionAll(): Promise<void> {
    let next = 0;
    const lanes = Math.min(this.options.scenario.concurrency, this.#devices.length);
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (!this.#stopping && next < this.#devices.length) {
          const d = this.#devices[next++]!;
          await this.#provision(d);
        }
      }),
    );
  }

  async #provision(d: FleetDevice): Promise<void> {
    const users = this.options.users!;
    const user = users[d.index % users.length]!;
    const { scenario, templateId } = this.options;
    d.result.userEmail = user.email;
    await this.#powerOn(d, true);
    const transport: ProvisioningTransport =
      scenario.transport === 'softap' ? new SoftApHttpTransport() : this.#memory;
    const address = scenario.transport === 'softap' ? d.host!.softApAddress! : d.factory.name;
    const correct = { ssid: FLEET_AP.ssid, passphrase: FLEET_AP.passphrase };
    const first =
      d.behaviour === 'wrong-password' || d.behaviour === 'wrong-password-uncorrected'
        ? { ...correct, passphrase: 'not-the-passphrase' }
        : d.behaviour === 'network-not-found'
          ? { ssid: 'fleet-lab-5g', passphrase: FLEET_AP.passphrase }
          : correct;
    let corrected = false;
    // Note the gateway's device id as soon as the session exists, so a failure still names it.
    const gateway: FleetUser['gateway'] = {
      createProvisioningSession: async (template, name) => {
        const session = await user.gateway.createProvisioningSession(template, name);
        d.result.deviceId = session.deviceId;
        return session;
      },
      waitForActivation: (deviceId, options) => user.gateway.waitForActivation(deviceId, options),
    };
    const started = Date.now();
    let stepStarted = started;
    try {
      const result = await activateDevice(transport, gateway, {
        templateId,
        address,
        pop: d.factory.pop,
        wifi: first,
        deviceName: d.factory.name,
        minSecurity: scenario.security,
        // The companion gives the device its cloud timeout and a little more before it gives up.
        cloudTimeoutMs: scenario.cloudTimeoutSeconds * 1000 + 2_000,
        wifiTimeoutMs: scenario.wifiTimeoutSeconds * 1000 + 5_000,
        wifiPollMs: 100,
        onStep: (step, status) => {
          if (status === 'start') {
            stepStarted = Date.now();
            return;
          }
          d.result.stepsMs = { ...d.result.stepsMs, [step]: Date.now() - stepStarted };
        },
        onWifiFailed: async () => {
          if (d.behaviour !== 'wrong-password' || corrected) return undefined;
          corrected = true; // the person types it again, right this time
          return correct;
        },
      });
      d.result.outcome = 'active';
      d.result.deviceId = result.deviceId;
      d.result.latencyMs = Date.now() - started;
      this.#afterActivation(d);
    } catch (error) {
      d.result.outcome = 'failed';
      d.result.code = isTetherError(error) ? error.code : 'INTERNAL';
      const step = isTetherError(error) ? error.details?.step : undefined;
      if (typeof step === 'string') d.result.step = step;
      d.result.lastError = d.device.lastError;
      if (!isTetherError(error) || error.code === 'INTERNAL')
        this.options.logger.warn({ err: error, device: d.factory.name }, 'activation failed unexpectedly');
      // The person gives up on this one and unplugs it, and its session goes back: a pending
      // device with a live token must not linger at the gateway (nor count against the plan).
      await d.host?.stop();
      this.#memory.remove(d.factory.name);
      if (d.result.deviceId) await this.#giveBack(user, d.result.deviceId);
    }
    d.result.lastError = d.device.lastError || d.result.lastError;
    d.done = true;
  }

  async #giveBack(user: FleetUser, deviceId: string): Promise<void> {
    try {
      await user.gateway.cancelProvisioningSession?.(deviceId);
    } catch (error) {
      // Already given back by the companion flow (NOT_FOUND) is the usual case.
      if (!isTetherError(error) || error.code !== 'NOT_FOUND')
        this.options.logger.warn({ err: error, deviceId }, 'could not give the provisioning session back');
    }
  }

  async #bootAll(): Promise<void> {
    const lanes = Math.min(this.options.scenario.concurrency, this.#devices.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (!this.#stopping && next < this.#devices.length) {
          const d = this.#devices[next++]!;
          await this.#powerOn(d, false);
          // Paced as a lane: the next device powers on once this one is up (or settled), so
          // thousands of devices do not hit the broker in one burst.
          await settled(d.device, this.#clock, this.options.scenario.cloudTimeoutSeconds * 1000);
          d.done = true;
          if (d.device.state === 'running') d.result.outcome = 'active';
          this.#afterActivation(d);
        }
      }),
    );
  }

  // ---- the running phase --------------------------------------------------------------------

  /** Schedule this device's resets and Wi-Fi drops inside the run's duration. */
  #afterActivation(d: FleetDevice): void {
    const durationMs = Math.min(this.options.scenario.durationSeconds * 1000, 2 ** 31 - 1);
    const within = () => Math.floor(d.random() * Math.max(1, Math.min(durationMs * 0.5, 600_000)));
    if (d.behaviour === 'flaky-wifi') {
      for (let i = 0; i < 2; i++) this.#later(within(), () => d.device.loseNetwork());
    }
    if (d.behaviour === 'reset') {
      this.#later(within(), async () => {
        d.device.pressResetButton();
        // A little past the threshold: timers may fire a millisecond early by Date.now().
        await this.#clock.sleep(this.options.scenario.resetHoldSeconds * 1000 + 25);
        await d.device.releaseResetButton();
      });
    }
  }

  #later(ms: number, work: () => Promise<unknown>): void {
    const handle = this.#clock.setTimeout(() => {
      this.#timers.delete(handle);
      if (this.#stopping) return;
      const job = work().catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'scenario step failed'),
      );
      this.#pending.add(job);
      void job.finally(() => this.#pending.delete(job));
    }, ms);
    this.#timers.add(handle);
  }

  async #stayOnline(): Promise<void> {
    // setTimeout holds at most 2^31 − 1 ms (≈ 24.8 days); a longer run is "until finish()".
    const durationMs = Math.min(this.options.scenario.durationSeconds * 1000, 2 ** 31 - 1);
    if (durationMs > 0 && !this.#stopping) {
      await new Promise<void>((resolve) => {
        const handle = this.#clock.setTimeout(() => {
          this.#timers.delete(handle);
          resolve();
        }, durationMs);
        this.#timers.add(handle);
        this.#wake = resolve;
      });
    }
    // Scenario steps already under way (a 10 s reset hold) finish before the summary.
    for (const timer of this.#timers) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#pending]);
  }

  /** End the running phase now (Ctrl-C): the summary is still printed. */
  finish(): void {
    this.#stopping = true;
    this.#wake?.();
  }

  #snapshot(d: FleetDevice): FleetDeviceResult {
    const { stats, state } = d.device;
    if (state !== 'off') d.result.finalState = state;
    d.result.published = stats.published;
    d.result.reconnects = stats.reconnects;
    d.result.networkDrops = stats.networkDrops;
    return { ...d.result };
  }
}

/** Resolves when the device runs or waits for configuration, or after timeoutMs. */
function settled(device: SimulatedDevice, clock: Clock, timeoutMs: number): Promise<void> {
  const done = () => device.state === 'running' || device.state === 'wait-config' || device.state === 'off';
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      clock.clearTimeout(timer);
      device.off('state', onState);
      resolve();
    };
    const onState = () => {
      if (done()) finish();
    };
    const timer = clock.setTimeout(finish, timeoutMs);
    device.on('state', onState);
  });
}

/** A seed per device from the run's seed and the device index (splitmix-style mixing). */
function mix32(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
