import { endpointCharacteristics } from '../../provisioning/transport/ble-gatt-layout.js';
import type {
  WebBluetoothDeviceLike,
  WebBluetoothLike,
  WebGattCharacteristicLike,
  WebGattServerLike,
} from '../../provisioning/transport/ble-web.js';
import type { EndpointHandler } from '../../provisioning/transport/transport.js';

/**
 * A stand-in for navigator.bluetooth with the shape of the Web Bluetooth API (a chooser that picks
 * one device, a GATT server, a 0x2901 user description per characteristic, write-then-read),
 * backed by an EndpointHandler, so the Web Bluetooth adapter's own logic runs here without a browser.
 */
export class FakeWebBluetooth implements WebBluetoothLike {
  readonly devices: FakeWebDevice[] = [];
  /** What the person does in the chooser: pick the first device offered, or cancel. */
  chooser: 'pick' | 'cancel' = 'pick';
  lastRequest: Parameters<WebBluetoothLike['requestDevice']>[0] | undefined;

  async requestDevice(
    options: Parameters<WebBluetoothLike['requestDevice']>[0],
  ): Promise<WebBluetoothDeviceLike> {
    this.lastRequest = options;
    const offered = this.devices.find((d) =>
      options.filters.some((f) =>
        'services' in f ? f.services.includes(d.serviceUuid) : (d.name ?? '').startsWith(f.namePrefix),
      ),
    );
    if (this.chooser === 'cancel' || !offered) {
      throw Object.assign(new Error('User cancelled the requestDevice() chooser.'), {
        name: 'NotFoundError',
      });
    }
    return offered;
  }
}

export class FakeWebDevice extends EventTarget implements WebBluetoothDeviceLike {
  readonly id: string;
  readonly name: string | undefined;
  readonly serviceUuid: string;
  readonly gatt: FakeGattServer;

  constructor(options: { handler: EndpointHandler; id: string; name?: string; serviceUuid: string }) {
    super();
    this.id = options.id;
    this.name = options.name;
    this.serviceUuid = options.serviceUuid;
    this.gatt = new FakeGattServer(this, options.handler);
  }

  override addEventListener(type: 'gattserverdisconnected', listener: () => void): void {
    super.addEventListener(type, listener);
  }

  override removeEventListener(type: 'gattserverdisconnected', listener: () => void): void {
    super.removeEventListener(type, listener);
  }
}

class FakeGattServer implements WebGattServerLike {
  connected = false;
  #session = 0;

  constructor(
    readonly device: FakeWebDevice,
    readonly handler: EndpointHandler,
  ) {}

  get sessionId(): string {
    return `${this.device.id}#${this.#session}`;
  }

  async connect(): Promise<WebGattServerLike> {
    this.#session++;
    this.connected = true;
    return this;
  }

  async getPrimaryService(uuid: string) {
    if (uuid !== this.device.serviceUuid) {
      throw Object.assign(new Error('No Services matching UUID found in Device.'), { name: 'NotFoundError' });
    }
    const characteristics = endpointCharacteristics(uuid, this.handler.endpoints).map(
      (c) => new FakeCharacteristic(this, c.uuid, c.userDescription),
    );
    return { getCharacteristics: async () => characteristics };
  }

  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    this.handler.closeSession(this.sessionId);
    this.device.dispatchEvent(new Event('gattserverdisconnected'));
  }
}

class FakeCharacteristic implements WebGattCharacteristicLike {
  #value: Uint8Array = new Uint8Array(0);

  constructor(
    readonly server: FakeGattServer,
    readonly uuid: string,
    readonly endpoint: string,
  ) {}

  async getDescriptor(uuid: string) {
    if (uuid !== '00002901-0000-1000-8000-00805f9b34fb') throw new Error('NotFoundError');
    return { readValue: async () => new DataView(new TextEncoder().encode(this.endpoint).buffer) };
  }

  async writeValueWithResponse(value: Uint8Array<ArrayBuffer>): Promise<void> {
    if (!this.server.connected)
      throw Object.assign(new Error('GATT Server is disconnected.'), { name: 'NetworkError' });
    try {
      this.#value = await this.server.handler.handle(this.endpoint, value, this.server.sessionId);
    } catch {
      // the browser reports a refused write as a NotSupportedError naming the ATT error, nothing more
      throw Object.assign(new Error('GATT operation failed for unknown reason.'), {
        name: 'NotSupportedError',
      });
    }
  }

  async readValue(): Promise<DataView> {
    if (!this.server.connected)
      throw Object.assign(new Error('GATT Server is disconnected.'), { name: 'NetworkError' });
    // A view into a larger buffer, as browsers may hand out.
    const padded = new Uint8Array(this.#value.length + 8);
    padded.set(this.#value, 4);
    return new DataView(padded.buffer, 4, this.#value.length);
  }
}
