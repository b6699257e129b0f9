/**
 * BLE provisioning through a real Bluetooth adapter, with @stoprocent/noble (the maintained fork of
 * noble: prebuilt N-API binaries, its own TypeScript types, HCI/macOS/Windows bindings, releases
 * through 2026; @abandonware/noble throws EAFNOSUPPORT on import where there is no Bluetooth).
 *
 * noble is an optional dependency and is imported here only, lazily, on the first discover() or
 * connect(): everything else builds and runs on a machine with no radio. Every way of failing to
 * get a powered-on adapter becomes TetherError('NO_BLUETOOTH_ADAPTER') with what to do about it.
 *
 * noble's bindings do the ATT long write (Prepare/Execute Write) and Read Blob themselves, so an
 * exchange is one write and one read here; planWrite() only checks the 512-byte attribute limit.
 */
import { readdir } from 'node:fs/promises';
import { type Clock, SystemClock, type TimerHandle } from '../../shared/clock.js';
import { isTetherError, TetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { ATT_MAX_MTU, ATT_MAX_VALUE_LENGTH, planWrite } from './ble-att-chunking.js';
import {
  compactUuid,
  type GattCharacteristicInfo,
  mapEndpointsByUserDescription,
  normalizeUuid,
  USER_DESCRIPTION_DESCRIPTOR_UUID,
} from './ble-gatt-layout.js';
import type {
  DiscoveredDevice,
  DiscoverOptions,
  ProvisioningLink,
  ProvisioningTransport,
} from './transport.js';
import { withTimeout } from './with-timeout.js';

/** The package this adapter loads; a variable so the compiler never requires it to be installed. */
export const NOBLE_PACKAGE = '@stoprocent/noble';

// The parts of noble this adapter uses, typed structurally: no compile-time dependency on the
// optional package, and tests can pass a fake.
export interface NobleDescriptorLike {
  readonly uuid: string;
  readValueAsync(): Promise<Buffer>;
}

export interface NobleCharacteristicLike {
  readonly uuid: string;
  readAsync(): Promise<Buffer>;
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
  discoverDescriptorsAsync(): Promise<NobleDescriptorLike[]>;
}

export interface NoblePeripheralLike {
  readonly id: string;
  readonly address: string;
  readonly rssi: number;
  readonly state: string;
  readonly advertisement: { localName?: string; serviceUuids?: string[] };
  connectAsync(): Promise<void>;
  disconnectAsync(): Promise<void>;
  discoverSomeServicesAndCharacteristicsAsync(
    serviceUuids: string[],
    characteristicUuids: string[],
  ): Promise<{ characteristics: NobleCharacteristicLike[] }>;
  once(event: 'disconnect', listener: (reason?: unknown) => void): unknown;
  removeListener(event: 'disconnect', listener: (reason?: unknown) => void): unknown;
}

export interface NobleLike {
  readonly state: string;
  on(event: 'stateChange', listener: (state: string) => void): unknown;
  on(event: 'discover', listener: (peripheral: NoblePeripheralLike) => void): unknown;
  removeListener(event: 'stateChange', listener: (state: string) => void): unknown;
  removeListener(event: 'discover', listener: (peripheral: NoblePeripheralLike) => void): unknown;
  startScanningAsync(serviceUuids?: string[], allowDuplicates?: boolean): Promise<void>;
  stopScanningAsync(): Promise<void>;
  stop?(): void;
}

export interface NobleBleTransportOptions {
  /** The product's provisioning service: scans and GATT discovery look for it (default: any service). */
  serviceUuid?: string;
  /** How long to wait for the adapter to report poweredOn (default 5 s). */
  powerOnTimeoutMs?: number;
  /** How long connect() may scan for a device it has not seen yet (default 10 s). */
  scanTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** The longest message one characteristic carries (default 512, ATT's limit). */
  maxValueLength?: number;
  /** One write-then-read exchange (default 30 s: a device's Wi-Fi scan takes seconds). */
  requestTimeoutMs?: number;
  /**
   * On Linux, look for an hci device in /sys/class/bluetooth before loading noble (default true):
   * a clear answer at once instead of a native binding's warning.
   */
  checkAdapterPresence?: boolean;
  /** Where /sys/class/bluetooth is (tests point it elsewhere). */
  sysBluetoothDir?: string;
  /** Replaces the dynamic import (tests pass a fake noble). */
  loadNoble?: () => Promise<NobleLike>;
  clock?: Clock;
  logger?: Logger;
}

const noAdapter = (message: string, cause?: unknown): TetherError =>
  new TetherError('NO_BLUETOOTH_ADAPTER', message, cause === undefined ? {} : { cause });

const ALTERNATIVE = 'Provision over SoftAP (Wi-Fi) instead, or use a machine with Bluetooth LE.';

/** Load noble through a dynamic import; any failure is NO_BLUETOOTH_ADAPTER. */
export async function importNoble(): Promise<NobleLike> {
  let mod: { default?: unknown };
  try {
    const specifier = NOBLE_PACKAGE;
    mod = (await import(specifier)) as { default?: unknown };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw noAdapter(
      code === 'ERR_MODULE_NOT_FOUND'
        ? `Bluetooth support is not installed (npm install ${NOBLE_PACKAGE}). ${ALTERNATIVE}`
        : `The Bluetooth library could not start (${code ?? (error as Error).message}). ${ALTERNATIVE}`,
      error,
    );
  }
  const noble = (mod.default ?? mod) as NobleLike;
  if (typeof noble?.startScanningAsync !== 'function') {
    throw noAdapter(`${NOBLE_PACKAGE} did not load as expected. ${ALTERNATIVE}`);
  }
  return noble;
}

/** Linux: is any hci adapter present? undefined where we cannot tell (other OSes, env overrides). */
export async function linuxAdapterPresent(sysDir = '/sys/class/bluetooth'): Promise<boolean | undefined> {
  if (process.platform !== 'linux') return undefined;
  // noble can drive a USB or UART controller directly, with no kernel adapter.
  const env = process.env;
  if (env.BLUETOOTH_HCI_SOCKET_USB_VID || env.BLUETOOTH_HCI_SOCKET_UART_PORT || env.NOBLE_BINDINGS)
    return undefined;
  try {
    return (await readdir(sysDir)).some((name) => name.startsWith('hci'));
  } catch {
    return false;
  }
}

/** Wait for poweredOn; the states that cannot become it fail at once. */
export function waitForPoweredOn(noble: NobleLike, timeoutMs: number, clock: Clock): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: TimerHandle | undefined;
    const finish = (error?: TetherError) => {
      clock.clearTimeout(timer);
      noble.removeListener('stateChange', onState);
      if (error) reject(error);
      else resolve();
    };
    const onState = (state: string): void => {
      if (state === 'poweredOn') finish();
      else if (state === 'unsupported') {
        finish(
          noAdapter(`This machine has no Bluetooth LE adapter (noble reports "unsupported"). ${ALTERNATIVE}`),
        );
      } else if (state === 'unauthorized') {
        finish(
          noAdapter(
            'Not allowed to use the Bluetooth adapter. On Linux grant Node raw-socket access ' +
              '(sudo setcap cap_net_raw+eip $(readlink -f $(which node))); on macOS allow Bluetooth for the terminal.',
          ),
        );
      }
    };
    let state: string;
    try {
      // Reading state starts noble's bindings synchronously, so a binding that throws throws here.
      state = noble.state;
    } catch (error) {
      reject(noAdapter(`The Bluetooth adapter could not be opened. ${ALTERNATIVE}`, error));
      return;
    }
    timer = clock.setTimeout(
      () =>
        finish(
          noAdapter(
            state === 'poweredOff' || noble.state === 'poweredOff'
              ? 'Bluetooth is turned off; turn it on and try again.'
              : `The Bluetooth adapter did not power on within ${timeoutMs} ms. ${ALTERNATIVE}`,
          ),
        ),
      timeoutMs,
    );
    noble.on('stateChange', onState);
    onState(state);
  });
}

const describePeripheral = (p: NoblePeripheralLike): string =>
  p.advertisement?.localName || p.address || p.id;
const peripheralAddress = (p: NoblePeripheralLike): string =>
  p.address && p.address !== 'unknown' ? p.address : p.id;

export class NobleBleTransport implements ProvisioningTransport {
  readonly kind = 'ble' as const;
  readonly #options: NobleBleTransportOptions;
  readonly #clock: Clock;
  readonly #seen = new Map<string, NoblePeripheralLike>();
  #noble: Promise<NobleLike> | undefined;

  constructor(options: NobleBleTransportOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? new SystemClock();
  }

  /** The powered-on adapter, loaded on first use; a failure is not cached, so a retry tries again. */
  #adapter(): Promise<NobleLike> {
    this.#noble ??= this.#open().catch((error: unknown) => {
      this.#noble = undefined;
      throw isTetherError(error) ? error : noAdapter(`Bluetooth failed to start. ${ALTERNATIVE}`, error);
    });
    return this.#noble;
  }

  async #open(): Promise<NobleLike> {
    if (this.#options.checkAdapterPresence ?? true) {
      if ((await linuxAdapterPresent(this.#options.sysBluetoothDir)) === false) {
        throw noAdapter(`No Bluetooth adapter found on this machine. ${ALTERNATIVE}`);
      }
    }
    const noble = await (this.#options.loadNoble ?? importNoble)();
    try {
      await waitForPoweredOn(noble, this.#options.powerOnTimeoutMs ?? 5_000, this.#clock);
    } catch (error) {
      noble.stop?.(); // release the HCI socket so nothing keeps the process alive
      throw error;
    }
    this.#options.logger?.debug('Bluetooth adapter powered on');
    return noble;
  }

  #serviceFilter(): string[] {
    return this.#options.serviceUuid ? [compactUuid(this.#options.serviceUuid)] : [];
  }

  async #scan(timeoutMs: number, until?: (p: NoblePeripheralLike) => boolean): Promise<void> {
    const noble = await this.#adapter();
    let stopEarly: (() => void) | undefined;
    const onDiscover = (p: NoblePeripheralLike): void => {
      this.#seen.set(p.id, p);
      if (until?.(p)) stopEarly?.();
    };
    noble.on('discover', onDiscover);
    try {
      await noble.startScanningAsync(this.#serviceFilter(), true);
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(resolve, timeoutMs);
        stopEarly = () => {
          this.#clock.clearTimeout(timer);
          resolve();
        };
      });
    } finally {
      noble.removeListener('discover', onDiscover);
      await noble.stopScanningAsync().catch(() => undefined);
    }
  }

  async discover(options: DiscoverOptions): Promise<DiscoveredDevice[]> {
    this.#seen.clear();
    await this.#scan(options.timeoutMs);
    return [...this.#seen.values()]
      .filter((p) => {
        const name = p.advertisement?.localName;
        return !!name && (!options.namePrefix || name.startsWith(options.namePrefix));
      })
      .map((p) => ({
        name: p.advertisement.localName!,
        transport: 'ble' as const,
        address: peripheralAddress(p),
        rssi: p.rssi,
      }))
      .sort((a, b) => b.rssi - a.rssi || a.name.localeCompare(b.name));
  }

  /** Connect by address, noble id or exact advertised name; scans for it if not seen yet. */
  async connect(addressOrName: string): Promise<NobleBleLink> {
    const wanted = addressOrName.toLowerCase();
    const matches = (p: NoblePeripheralLike) =>
      p.id.toLowerCase() === wanted ||
      p.address?.toLowerCase() === wanted ||
      p.advertisement?.localName === addressOrName;
    let peripheral = [...this.#seen.values()].find(matches);
    if (!peripheral) {
      await this.#scan(this.#options.scanTimeoutMs ?? 10_000, matches);
      peripheral = [...this.#seen.values()].find(matches);
    }
    if (!peripheral) {
      throw new TetherError(
        'DEVICE_UNREACHABLE',
        `No Bluetooth device "${addressOrName}" found. Is it powered, nearby and in provisioning mode?`,
        { details: { address: addressOrName } },
      );
    }
    const p = peripheral;
    const name = describePeripheral(p);
    await this.#timed(
      p.connectAsync(),
      this.#options.connectTimeoutMs ?? 15_000,
      `connect to "${name}"`,
    ).catch((error: unknown) => {
      throw isTetherError(error)
        ? error
        : new TetherError('DEVICE_UNREACHABLE', `Could not connect to "${name}".`, { cause: error });
    });
    try {
      const { characteristics } = await p.discoverSomeServicesAndCharacteristicsAsync(
        this.#serviceFilter(),
        [],
      );
      const infos: (GattCharacteristicInfo & { characteristic: NobleCharacteristicLike })[] = [];
      for (const characteristic of characteristics) {
        const descriptors = await characteristic.discoverDescriptorsAsync();
        const description = descriptors.find(
          (d) => normalizeUuid(d.uuid) === USER_DESCRIPTION_DESCRIPTOR_UUID,
        );
        const info: GattCharacteristicInfo & { characteristic: NobleCharacteristicLike } = {
          uuid: characteristic.uuid,
          characteristic,
        };
        if (description) info.userDescription = (await description.readValueAsync()).toString('utf8');
        infos.push(info);
      }
      const byName = mapEndpointsByUserDescription(infos);
      const endpoints = new Map<string, NobleCharacteristicLike>();
      for (const [endpoint, uuid] of byName) {
        endpoints.set(endpoint, infos.find((i) => normalizeUuid(i.uuid) === uuid)!.characteristic);
      }
      if (endpoints.size === 0) {
        throw new TetherError('PROTOCOL_ERROR', `"${name}" has no provisioning endpoints.`);
      }
      return new NobleBleLink(p, endpoints, this.#clock, {
        requestTimeoutMs: this.#options.requestTimeoutMs ?? 30_000,
        maxValueLength: this.#options.maxValueLength ?? ATT_MAX_VALUE_LENGTH,
      });
    } catch (error) {
      await p.disconnectAsync().catch(() => undefined);
      throw isTetherError(error)
        ? error
        : new TetherError('PROTOCOL_ERROR', `Could not read the provisioning service of "${name}".`, {
            cause: error,
          });
    }
  }

  /** Release the adapter (noble's HCI socket). */
  async close(): Promise<void> {
    const pending = this.#noble;
    this.#noble = undefined;
    const noble = await pending?.catch(() => undefined);
    noble?.stop?.();
  }

  #timed<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    return withTimeout(promise, timeoutMs, what, this.#clock);
  }
}

/** One GATT connection through noble. */
export class NobleBleLink implements ProvisioningLink {
  readonly kind = 'ble' as const;
  readonly #peripheral: NoblePeripheralLike;
  readonly #endpoints: Map<string, NobleCharacteristicLike>;
  readonly #clock: Clock;
  readonly #requestTimeoutMs: number;
  readonly #maxValueLength: number;
  readonly #onDisconnect: () => void;
  #disconnected = false;
  #closedByUs = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    peripheral: NoblePeripheralLike,
    endpoints: Map<string, NobleCharacteristicLike>,
    clock: Clock,
    limits: { requestTimeoutMs: number; maxValueLength: number },
  ) {
    this.#peripheral = peripheral;
    this.#endpoints = endpoints;
    this.#clock = clock;
    this.#requestTimeoutMs = limits.requestTimeoutMs;
    this.#maxValueLength = limits.maxValueLength;
    this.#onDisconnect = () => {
      this.#disconnected = true;
    };
    peripheral.once('disconnect', this.#onDisconnect);
  }

  get endpoints(): string[] {
    return [...this.#endpoints.keys()];
  }

  get connected(): boolean {
    return !this.#disconnected && !this.#closedByUs;
  }

  exchange(endpoint: string, request: Uint8Array): Promise<Uint8Array> {
    const run = this.#queue.then(
      () => this.#exchange(endpoint, request),
      () => this.#exchange(endpoint, request),
    );
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #gone(): TetherError {
    const name = describePeripheral(this.#peripheral);
    return this.#closedByUs
      ? new TetherError('DEVICE_UNREACHABLE', `The BLE link to "${name}" is closed.`)
      : new TetherError('DEVICE_UNREACHABLE', `"${name}" disconnected.`);
  }

  async #exchange(endpoint: string, request: Uint8Array): Promise<Uint8Array> {
    if (!this.connected) throw this.#gone();
    const characteristic = this.#endpoints.get(endpoint);
    if (!characteristic) {
      throw new TetherError('PROTOCOL_ERROR', `The device has no "${endpoint}" endpoint.`, {
        details: { endpoint, endpoints: this.endpoints },
      });
    }
    planWrite(request, ATT_MAX_MTU, this.#maxValueLength); // only the size check: noble chunks by the real MTU
    try {
      const answer = await withTimeout(
        (async () => {
          await characteristic.writeAsync(Buffer.from(request), false);
          return characteristic.readAsync();
        })(),
        this.#requestTimeoutMs,
        `exchange ${endpoint}`,
        this.#clock,
      );
      return Uint8Array.from(answer);
    } catch (error) {
      if (!this.connected) throw this.#gone();
      if (isTetherError(error) && error.code === 'TIMEOUT') {
        await this.close(); // as ATT does after a transaction timeout: the bearer is unusable
        throw error;
      }
      throw new TetherError('PROTOCOL_ERROR', `The device refused the request on ${endpoint}.`, {
        cause: error,
        details: { endpoint },
      });
    }
  }

  async close(): Promise<void> {
    if (this.#closedByUs) return;
    this.#closedByUs = true;
    this.#peripheral.removeListener('disconnect', this.#onDisconnect);
    await this.#peripheral.disconnectAsync().catch(() => undefined);
  }
}
