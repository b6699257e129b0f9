/**
 * BLE through the browser's Web Bluetooth API: what the web console provisions with. The same
 * protocomm GATT layout as the noble adapter (one characteristic per endpoint, named by its 0x2901
 * user description); a request is a write with response, its answer the value read back, exactly as
 * esp_prov and the Espressif apps do. The browser does the ATT long writes and reads itself.
 *
 * Web Bluetooth shows its own device chooser and only from a person's gesture (a click), so
 * discovery is `choose()`: it returns the one device the person picked. It also needs a secure
 * context (HTTPS, or the console on localhost). The browser API is typed here only as far as it is
 * used, so this module needs no DOM types and tests can drive it with a fake.
 */
import { type Clock, SystemClock } from '../../shared/clock.js';
import { isTetherError, TetherError } from '../../shared/errors.js';
import { ATT_MAX_MTU, ATT_MAX_VALUE_LENGTH, planWrite } from './ble-att-chunking.js';
import {
  ESP_PROV_EXAMPLE_SERVICE_UUID,
  type GattCharacteristicInfo,
  mapEndpointsByUserDescription,
  normalizeUuid,
} from './ble-gatt-layout.js';
import type {
  DiscoveredDevice,
  DiscoverOptions,
  ProvisioningLink,
  ProvisioningTransport,
} from './transport.js';
import { withTimeout } from './with-timeout.js';

/** navigator.bluetooth, as far as provisioning uses it. */
export interface WebBluetoothLike {
  requestDevice(options: {
    filters: ({ services: string[] } | { namePrefix: string })[];
    optionalServices: string[];
  }): Promise<WebBluetoothDeviceLike>;
}

export interface WebBluetoothDeviceLike {
  readonly id: string;
  readonly name?: string | undefined;
  readonly gatt?: { connect(): Promise<WebGattServerLike> } | undefined;
  addEventListener(type: 'gattserverdisconnected', listener: () => void): void;
  removeEventListener(type: 'gattserverdisconnected', listener: () => void): void;
}

export interface WebGattServerLike {
  readonly connected: boolean;
  getPrimaryService(uuid: string): Promise<{ getCharacteristics(): Promise<WebGattCharacteristicLike[]> }>;
  disconnect(): void;
}

export interface WebGattCharacteristicLike {
  readonly uuid: string;
  getDescriptor(uuid: string): Promise<{ readValue(): Promise<DataView> }>;
  writeValueWithResponse(value: Uint8Array<ArrayBuffer>): Promise<void>;
  readValue(): Promise<DataView>;
}

export interface WebBluetoothTransportOptions {
  bluetooth: WebBluetoothLike;
  /** The product's provisioning service. Default: the one in Espressif's examples. */
  serviceUuid?: string;
  clock?: Clock;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Largest message; default 512 bytes, the most one characteristic value holds (ATT). */
  maxValueLength?: number;
}

/** The full form of the Characteristic User Description UUID, as Web Bluetooth takes it. */
const USER_DESCRIPTION = '00002901-0000-1000-8000-00805f9b34fb';
const utf8 = new TextDecoder();

export class WebBluetoothTransport implements ProvisioningTransport {
  readonly kind = 'ble' as const;
  readonly #options: WebBluetoothTransportOptions;
  readonly #serviceUuid: string;
  readonly #clock: Clock;
  readonly #chosen = new Map<string, WebBluetoothDeviceLike>();

  constructor(options: WebBluetoothTransportOptions) {
    this.#options = options;
    this.#serviceUuid = normalizeUuid(options.serviceUuid ?? ESP_PROV_EXAMPLE_SERVICE_UUID);
    this.#clock = options.clock ?? new SystemClock();
  }

  /**
   * The browser's chooser, listing devices that advertise the provisioning service or a name with
   * this prefix. Call it from a click handler. Rejects DEVICE_UNREACHABLE when the person picks none.
   */
  async choose(namePrefix?: string): Promise<DiscoveredDevice> {
    let device: WebBluetoothDeviceLike;
    try {
      device = await this.#options.bluetooth.requestDevice({
        filters: [{ services: [this.#serviceUuid] }, ...(namePrefix ? [{ namePrefix }] : [])],
        optionalServices: [this.#serviceUuid],
      });
    } catch (error) {
      throw chooserError(error);
    }
    this.#chosen.set(device.id, device);
    return { name: device.name || 'Unnamed device', transport: 'ble', address: device.id };
  }

  /** One device: the one the person picks in the chooser (the timeout is the browser's business). */
  async discover(options: DiscoverOptions): Promise<DiscoveredDevice[]> {
    return [await this.choose(options.namePrefix)];
  }

  /** Connects to a device chosen before, by its address (the browser's id for it). */
  async connect(address: string): Promise<WebBluetoothLink> {
    const device = this.#chosen.get(address);
    const name = device?.name || 'the device';
    if (!device?.gatt) {
      throw new TetherError('DEVICE_UNREACHABLE', 'Choose the device in the Bluetooth list first.', {
        details: { address },
      });
    }
    let server: WebGattServerLike;
    try {
      server = await withTimeout(
        device.gatt.connect(),
        this.#options.connectTimeoutMs ?? 20_000,
        `connect to ${name}`,
        this.#clock,
      );
    } catch (error) {
      throw isTetherError(error)
        ? error
        : new TetherError(
            'DEVICE_UNREACHABLE',
            `Could not connect to ${name}. Keep it close, in provisioning mode, and try again.`,
            { cause: error },
          );
    }
    try {
      const service = await server.getPrimaryService(this.#serviceUuid);
      const infos: (GattCharacteristicInfo & { characteristic: WebGattCharacteristicLike })[] = [];
      for (const characteristic of await service.getCharacteristics()) {
        const info: GattCharacteristicInfo & { characteristic: WebGattCharacteristicLike } = {
          uuid: characteristic.uuid,
          characteristic,
        };
        const description = await characteristic.getDescriptor(USER_DESCRIPTION).then(
          (d) => d.readValue(),
          () => undefined, // a characteristic without a name is not an endpoint
        );
        if (description) info.userDescription = utf8.decode(description);
        infos.push(info);
      }
      const endpoints = new Map<string, WebGattCharacteristicLike>();
      for (const [endpoint, uuid] of mapEndpointsByUserDescription(infos)) {
        endpoints.set(endpoint, infos.find((i) => normalizeUuid(i.uuid) === uuid)!.characteristic);
      }
      if (endpoints.size === 0) {
        throw new TetherError('PROTOCOL_ERROR', `${name} has no provisioning endpoints.`);
      }
      return new WebBluetoothLink(device, server, endpoints, this.#clock, {
        requestTimeoutMs: this.#options.requestTimeoutMs ?? 30_000,
        maxValueLength: this.#options.maxValueLength ?? ATT_MAX_VALUE_LENGTH,
      });
    } catch (error) {
      server.disconnect();
      throw isTetherError(error)
        ? error
        : new TetherError(
            'PROTOCOL_ERROR',
            `${name} does not offer the provisioning service this product uses.`,
            { cause: error, details: { serviceUuid: this.#serviceUuid } },
          );
    }
  }
}

function chooserError(error: unknown): TetherError {
  const name = (error as { name?: string } | undefined)?.name;
  if (name === 'NotFoundError') {
    return new TetherError(
      'DEVICE_UNREACHABLE',
      'No device was chosen. Put the device in provisioning mode, keep it close, and try again.',
      { cause: error },
    );
  }
  if (name === 'SecurityError' || name === 'NotAllowedError') {
    return new TetherError(
      'NO_BLUETOOTH_ADAPTER',
      'The browser did not allow Bluetooth here: it needs the console on HTTPS or localhost, and a click to start.',
      { cause: error },
    );
  }
  return new TetherError(
    'NO_BLUETOOTH_ADAPTER',
    'Bluetooth is not available: check that it is switched on and that this browser supports Web Bluetooth.',
    { cause: error },
  );
}

/** One GATT connection through Web Bluetooth; exchanges run one at a time, as GATT allows. */
export class WebBluetoothLink implements ProvisioningLink {
  readonly kind = 'ble' as const;
  readonly #device: WebBluetoothDeviceLike;
  readonly #server: WebGattServerLike;
  readonly #endpoints: Map<string, WebGattCharacteristicLike>;
  readonly #clock: Clock;
  readonly #requestTimeoutMs: number;
  readonly #maxValueLength: number;
  readonly #onDisconnect = () => {
    this.#disconnected = true;
  };
  #disconnected = false;
  #closedByUs = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    device: WebBluetoothDeviceLike,
    server: WebGattServerLike,
    endpoints: Map<string, WebGattCharacteristicLike>,
    clock: Clock,
    limits: { requestTimeoutMs: number; maxValueLength: number },
  ) {
    this.#device = device;
    this.#server = server;
    this.#endpoints = endpoints;
    this.#clock = clock;
    this.#requestTimeoutMs = limits.requestTimeoutMs;
    this.#maxValueLength = limits.maxValueLength;
    device.addEventListener('gattserverdisconnected', this.#onDisconnect);
  }

  get endpoints(): string[] {
    return [...this.#endpoints.keys()];
  }

  exchange(endpoint: string, request: Uint8Array): Promise<Uint8Array> {
    const run = this.#queue.then(() => this.#exchange(endpoint, request));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #exchange(endpoint: string, request: Uint8Array): Promise<Uint8Array> {
    const name = this.#device.name || 'The device';
    if (this.#closedByUs || this.#disconnected || !this.#server.connected) {
      throw new TetherError(
        'DEVICE_UNREACHABLE',
        this.#closedByUs ? `The Bluetooth link to ${name} is closed.` : `${name} disconnected.`,
      );
    }
    const characteristic = this.#endpoints.get(endpoint);
    if (!characteristic) {
      throw new TetherError('PROTOCOL_ERROR', `The device has no "${endpoint}" endpoint.`, {
        details: { endpoint, endpoints: this.endpoints },
      });
    }
    planWrite(request, ATT_MAX_MTU, this.#maxValueLength); // the size check; the browser chunks
    try {
      const answer = await withTimeout(
        (async () => {
          await characteristic.writeValueWithResponse(new Uint8Array(request));
          return characteristic.readValue();
        })(),
        this.#requestTimeoutMs,
        `exchange ${endpoint}`,
        this.#clock,
      );
      return new Uint8Array(answer.buffer.slice(answer.byteOffset, answer.byteOffset + answer.byteLength));
    } catch (error) {
      if (this.#disconnected)
        throw new TetherError('DEVICE_UNREACHABLE', `${name} disconnected.`, { cause: error });
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
    this.#device.removeEventListener('gattserverdisconnected', this.#onDisconnect);
    this.#server.disconnect();
  }
}
