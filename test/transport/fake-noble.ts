import { EventEmitter } from 'node:events';
import { compactUuid, endpointCharacteristics } from '../../provisioning/transport/ble-gatt-layout.js';
import type {
  NobleCharacteristicLike,
  NobleDescriptorLike,
  NobleLike,
  NoblePeripheralLike,
} from '../../provisioning/transport/ble-noble.js';
import type { EndpointHandler } from '../../provisioning/transport/transport.js';

/**
 * A stand-in for noble with the shape of @stoprocent/noble's API (compact UUIDs, a 0x2901
 * descriptor per characteristic, write-then-read), backed by an EndpointHandler, so the noble
 * adapter's own logic runs here without a radio.
 */
export class FakeNoble extends EventEmitter implements NobleLike {
  readonly peripherals: FakePeripheral[] = [];
  scanning = false;
  stopped = false;
  #state: string;

  constructor(state = 'poweredOn') {
    super();
    this.#state = state;
  }

  get state(): string {
    return this.#state;
  }

  setState(state: string): void {
    this.#state = state;
    this.emit('stateChange', state);
  }

  async startScanningAsync(serviceUuids: string[] = []): Promise<void> {
    this.scanning = true;
    setImmediate(() => {
      for (const p of this.peripherals) {
        if (serviceUuids.length === 0 || serviceUuids.includes(p.serviceUuid)) this.emit('discover', p);
      }
    });
  }

  async stopScanningAsync(): Promise<void> {
    this.scanning = false;
  }

  stop(): void {
    this.stopped = true;
  }
}

export class FakePeripheral extends EventEmitter implements NoblePeripheralLike {
  readonly id: string;
  readonly address: string;
  readonly rssi: number;
  readonly serviceUuid: string;
  readonly advertisement: { localName?: string; serviceUuids?: string[] };
  state = 'disconnected';
  #session = 0;
  #handler: EndpointHandler;
  #characteristics: FakeCharacteristic[];

  constructor(options: {
    handler: EndpointHandler;
    name: string;
    address: string;
    rssi: number;
    serviceUuid: string;
  }) {
    super();
    this.#handler = options.handler;
    this.address = options.address;
    this.id = options.address.replaceAll(':', '');
    this.rssi = options.rssi;
    this.serviceUuid = compactUuid(options.serviceUuid);
    this.advertisement = { localName: options.name, serviceUuids: [this.serviceUuid] };
    this.#characteristics = endpointCharacteristics(options.serviceUuid, options.handler.endpoints).map(
      (c) => new FakeCharacteristic(this, compactUuid(c.uuid), c.userDescription),
    );
  }

  get sessionId(): string {
    return `${this.id}#${this.#session}`;
  }

  async connectAsync(): Promise<void> {
    this.#session++;
    this.state = 'connected';
  }

  async disconnectAsync(): Promise<void> {
    if (this.state !== 'connected') return;
    this.state = 'disconnected';
    this.#handler.closeSession(this.sessionId);
    this.emit('disconnect', 0x16);
  }

  /** The device drops the link. */
  drop(): void {
    if (this.state !== 'connected') return;
    this.state = 'disconnected';
    this.#handler.closeSession(this.sessionId);
    this.emit('disconnect', 0x13);
  }

  async discoverSomeServicesAndCharacteristicsAsync(): Promise<{
    characteristics: NobleCharacteristicLike[];
  }> {
    return { characteristics: this.#characteristics };
  }

  async handle(endpoint: string, request: Uint8Array): Promise<Uint8Array> {
    if (this.state !== 'connected') throw new Error('not connected');
    return this.#handler.handle(endpoint, request, this.sessionId);
  }
}

class FakeCharacteristic implements NobleCharacteristicLike {
  #value: Buffer = Buffer.alloc(0);

  constructor(
    readonly peripheral: FakePeripheral,
    readonly uuid: string,
    readonly endpoint: string,
  ) {}

  async writeAsync(data: Buffer): Promise<void> {
    try {
      this.#value = Buffer.from(await this.peripheral.handle(this.endpoint, data));
    } catch {
      // noble reports a refused write as a plain Error carrying the ATT error, nothing more
      throw new Error('ATT error 0x0e (unlikely error)');
    }
  }

  async readAsync(): Promise<Buffer> {
    if (this.peripheral.state !== 'connected') throw new Error('not connected');
    return this.#value;
  }

  async discoverDescriptorsAsync(): Promise<NobleDescriptorLike[]> {
    return [
      { uuid: '2900', readValueAsync: async () => Buffer.of(0) },
      { uuid: '2901', readValueAsync: async () => Buffer.from(this.endpoint) },
    ];
  }
}
