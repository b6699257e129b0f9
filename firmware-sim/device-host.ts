/**
 * Hosts one simulated device with its radios: while the device is in provisioning it serves the
 * protocomm endpoints over SoftAP HTTP on loopback (standing in for 192.168.4.1:80) and advertises
 * on the simulated BLE medium; once it runs, both close (after a grace period, as ESP-IDF keeps
 * the service up long enough for the companion to read the final status).
 */

import { EdgentConfigServer } from '../provisioning/edgent/edgent-config-server.js';
import type { ProtocommDevice } from '../provisioning/protocol/protocomm-device.js';
import type { DeviceSecurityConfig } from '../provisioning/protocol/security/security-factory.js';
import { SimBlePeripheral } from '../provisioning/transport/sim-ble-peripheral.js';
import { SoftApHttpServer } from '../provisioning/transport/softap-http-server.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { createEdgentDeviceHandler } from './edgent-device-handler.js';
import { type QrPayload, qrPayload } from './factory-data.js';
import { createProvisioningEndpoints } from './provisioning-endpoints.js';
import type { SimulatedDevice } from './simulated-device.js';

export interface DeviceHostOptions {
  device: SimulatedDevice;
  security: DeviceSecurityConfig;
  clock: Clock;
  logger: Logger;
  /** SoftAP over HTTP on loopback; false to switch it off. Port 0 picks a free port once. */
  softAp?: { host?: string; port?: number } | false;
  /** Advertise on the simulated BLE medium; false (default) to switch it off. */
  ble?: { mediumDir?: string; rssi?: number } | false;
  /** Also serve Blynk.Edgent legacy provisioning (open AP, plaintext HTTP) on loopback. */
  edgent?: { host?: string; port?: number } | false;
  /** Keep provisioning up this long after the device runs. Default 5 s. */
  provisioningGraceMs?: number;
  lockout?: { maxFailures?: number; lockoutMs?: number };
}

export class DeviceHost {
  readonly device: SimulatedDevice;
  readonly endpoints: ProtocommDevice;
  #softAp: SoftApHttpServer | undefined;
  #softApPort: number;
  #ble: SimBlePeripheral | undefined;
  #edgent: EdgentConfigServer | undefined;
  #edgentPort = 0;
  #graceTimer: TimerHandle | undefined;
  #open = false;
  #transition: Promise<void> = Promise.resolve();
  readonly #unsubscribe: Array<() => void> = [];

  constructor(private readonly options: DeviceHostOptions) {
    this.device = options.device;
    this.endpoints = createProvisioningEndpoints({
      device: options.device,
      security: options.security,
      clock: options.clock,
      logger: options.logger,
      ...(options.lockout ? { lockout: options.lockout } : {}),
    });
    this.#softApPort = options.softAp ? (options.softAp.port ?? 0) : 0;
  }

  /** host:port of the SoftAP HTTP service while provisioning is open. */
  get softApAddress(): string | undefined {
    if (!this.#softAp) return undefined;
    const { host, port } = this.#softAp.address;
    return `${host}:${port}`;
  }

  /** host:port of the Blynk.Edgent config server while provisioning is open. */
  get edgentAddress(): string | undefined {
    return this.#edgent?.address;
  }

  get bleAddress(): string | undefined {
    return this.#ble?.address;
  }

  qrPayload(): QrPayload {
    const security = this.options.security.version;
    return qrPayload(
      this.device.factory,
      this.options.ble && !this.options.softAp ? 'ble' : 'softap',
      security,
    );
  }

  async start(): Promise<void> {
    const onOpen = () => this.#queue(() => this.#openProvisioning());
    const onClosed = () => {
      this.options.clock.clearTimeout(this.#graceTimer);
      this.#graceTimer = this.options.clock.setTimeout(
        () => this.#queue(() => this.#closeProvisioning()),
        this.options.provisioningGraceMs ?? 5_000,
      );
    };
    this.device.on('provisioning-open', onOpen);
    this.device.on('provisioning-closed', onClosed);
    this.#unsubscribe.push(
      () => this.device.off('provisioning-open', onOpen),
      () => this.device.off('provisioning-closed', onClosed),
    );
    await this.device.start();
    await this.#transition;
  }

  async stop(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    this.options.clock.clearTimeout(this.#graceTimer);
    await this.device.stop();
    await this.#queue(() => this.#closeProvisioning());
  }

  /** Resolves when the provisioning servers have finished opening or closing. */
  settled(): Promise<void> {
    return this.#transition;
  }

  #queue(work: () => Promise<void>): Promise<void> {
    this.#transition = this.#transition.then(work).catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'provisioning service failed');
    });
    return this.#transition;
  }

  async #openProvisioning(): Promise<void> {
    this.options.clock.clearTimeout(this.#graceTimer);
    if (this.#open) return;
    this.#open = true;
    const { softAp, ble, edgent, logger } = this.options;
    if (edgent) {
      this.#edgent = new EdgentConfigServer({
        handler: createEdgentDeviceHandler(this.device),
        host: edgent.host ?? '127.0.0.1',
        port: this.#edgentPort || (edgent.port ?? 0),
        logger,
      });
      await this.#edgent.start();
      this.#edgentPort = Number(this.#edgent.address.split(':').pop());
    }
    if (softAp) {
      this.#softAp = new SoftApHttpServer({
        handler: this.endpoints,
        host: softAp.host ?? '127.0.0.1',
        port: this.#softApPort,
        logger,
      });
      const { port } = await this.#softAp.start();
      this.#softApPort = port; // reopen on the same "192.168.4.1"
    }
    if (ble) {
      this.#ble = new SimBlePeripheral({
        handler: this.endpoints,
        name: this.device.factory.name,
        ...(ble.mediumDir ? { mediumDir: ble.mediumDir } : {}),
        ...(ble.rssi !== undefined ? { rssi: ble.rssi } : {}),
        logger,
      });
      await this.#ble.start();
    }
  }

  async #closeProvisioning(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    await this.#softAp?.stop();
    await this.#ble?.stop();
    await this.#edgent?.stop();
    this.#edgent = undefined;
    this.#softAp = undefined;
    this.#ble = undefined;
  }
}
