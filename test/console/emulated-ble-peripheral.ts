/**
 * A simulated device's provisioning service as a Bluetooth peripheral in Chromium, through the
 * DevTools protocol's BluetoothEmulation domain: the page's Web Bluetooth sees a device with the
 * ESP-IDF protocomm GATT layout (one characteristic per endpoint, named by a 0x2901 user
 * description), and every GATT write is handed to the device's EndpointHandler — the firmware
 * simulator's own protocomm device — whose answer the next read returns. Only the radio is emulated.
 *
 * The commands go to the browser target's session (a page session does not know the domain). The
 * peripheral is "preconnected" (known to the adapter), which is what the chooser lists; Chromium
 * shows it there by address, without its name (an advertisement would carry the name, but
 * simulateAdvertisement only answers during a scan).
 */
import type { CDPSession, Protocol } from 'puppeteer-core';
import { endpointCharacteristics, normalizeUuid } from '../../provisioning/transport/ble-gatt-layout.js';
import type { EndpointHandler } from '../../provisioning/transport/transport.js';

const USER_DESCRIPTION = '00002901-0000-1000-8000-00805f9b34fb';
/** ATT "unlikely error": what esp-idf answers when a protocomm handler fails. */
const ATT_UNLIKELY_ERROR = 0x0e;

export interface EmulatedPeripheralOptions {
  address: string;
  name: string;
  serviceUuid: string;
  handler: EndpointHandler;
}

/**
 * A fresh emulated adapter, powered on. Needed after each navigation of a page that has used Web
 * Bluetooth: Chromium then drops the emulated adapter while the domain still reads as enabled
 * ("already enabled" / "not enabled"), so it is switched off and on again, and peripherals are
 * added anew.
 */
export async function resetBluetoothEmulation(session: CDPSession): Promise<void> {
  await session.send('BluetoothEmulation.disable').catch(() => undefined);
  await session.send('BluetoothEmulation.enable', { state: 'powered-on', leSupported: true });
}

export class EmulatedBlePeripheral {
  readonly #session: CDPSession;
  readonly #options: EmulatedPeripheralOptions;
  readonly #endpoints = new Map<string, string>(); // characteristic id → endpoint
  readonly #descriptions = new Map<string, string>(); // descriptor id → endpoint
  readonly #answers = new Map<string, Uint8Array>(); // characteristic id → last answer
  #connection = 0;
  /** GATT writes handed to the device, in order (endpoint names), for the test to check. */
  readonly writes: string[] = [];

  constructor(session: CDPSession, options: EmulatedPeripheralOptions) {
    this.#session = session;
    this.#options = options;
  }

  get #sessionId(): string {
    return `${this.#options.address}#${this.#connection}`;
  }

  /** Adds the peripheral to the (fresh) emulated adapter and starts answering for it. */
  async start(): Promise<void> {
    const { address, name, serviceUuid, handler } = this.#options;
    const session = this.#session;
    this.stop();
    this.#endpoints.clear();
    this.#descriptions.clear();
    this.#answers.clear();
    session.on('BluetoothEmulation.gattOperationReceived', this.#onGatt);
    session.on('BluetoothEmulation.characteristicOperationReceived', this.#onCharacteristic);
    session.on('BluetoothEmulation.descriptorOperationReceived', this.#onDescriptor);
    const uuid = normalizeUuid(serviceUuid);
    await session.send('BluetoothEmulation.simulatePreconnectedPeripheral', {
      address,
      name,
      manufacturerData: [],
      knownServiceUuids: [uuid],
    });
    const { serviceId } = await session.send('BluetoothEmulation.addService', { address, serviceUuid: uuid });
    for (const c of endpointCharacteristics(uuid, handler.endpoints)) {
      const { characteristicId } = await session.send('BluetoothEmulation.addCharacteristic', {
        serviceId,
        characteristicUuid: c.uuid,
        properties: { read: true, write: true },
      });
      this.#endpoints.set(characteristicId, c.userDescription);
      const { descriptorId } = await session.send('BluetoothEmulation.addDescriptor', {
        characteristicId,
        descriptorUuid: USER_DESCRIPTION,
      });
      this.#descriptions.set(descriptorId, c.userDescription);
    }
  }

  stop(): void {
    this.#session.off('BluetoothEmulation.gattOperationReceived', this.#onGatt);
    this.#session.off('BluetoothEmulation.characteristicOperationReceived', this.#onCharacteristic);
    this.#session.off('BluetoothEmulation.descriptorOperationReceived', this.#onDescriptor);
    this.#options.handler.closeSession(this.#sessionId);
  }

  readonly #onGatt = (event: Protocol.BluetoothEmulation.GattOperationReceivedEvent): void => {
    if (event.address !== this.#options.address) return;
    if (event.type === 'connection') {
      this.#options.handler.closeSession(this.#sessionId);
      this.#connection++; // a new GATT connection is a new protocomm transport session
    }
    quietly(
      this.#session.send('BluetoothEmulation.simulateGATTOperationResponse', {
        address: event.address,
        type: event.type,
        code: 0,
      }),
    );
  };

  readonly #onCharacteristic = (
    event: Protocol.BluetoothEmulation.CharacteristicOperationReceivedEvent,
  ): void => {
    const endpoint = this.#endpoints.get(event.characteristicId);
    if (endpoint === undefined) return;
    const respond = (code: number, data?: Uint8Array) =>
      quietly(
        this.#session.send('BluetoothEmulation.simulateCharacteristicOperationResponse', {
          characteristicId: event.characteristicId,
          type: event.type,
          code,
          ...(data ? { data: Buffer.from(data).toString('base64') } : {}),
        }),
      );
    if (event.type === 'read') {
      respond(0, this.#answers.get(event.characteristicId) ?? new Uint8Array(0));
      return;
    }
    if (event.type !== 'write') {
      respond(0);
      return;
    }
    this.writes.push(endpoint);
    const request = new Uint8Array(Buffer.from(event.data ?? '', 'base64'));
    this.#options.handler.handle(endpoint, request, this.#sessionId).then(
      (answer) => {
        this.#answers.set(event.characteristicId, answer);
        respond(0);
      },
      () => {
        this.#answers.delete(event.characteristicId);
        respond(ATT_UNLIKELY_ERROR);
      },
    );
  };

  readonly #onDescriptor = (event: Protocol.BluetoothEmulation.DescriptorOperationReceivedEvent): void => {
    const endpoint = this.#descriptions.get(event.descriptorId);
    if (endpoint === undefined) return;
    quietly(
      this.#session.send('BluetoothEmulation.simulateDescriptorOperationResponse', {
        descriptorId: event.descriptorId,
        type: event.type,
        code: 0,
        ...(event.type === 'read' ? { data: Buffer.from(endpoint).toString('base64') } : {}),
      }),
    );
  };
}

/** The browser may have moved on (page closed): a late answer is not the test's failure. */
function quietly(answer: Promise<unknown>): void {
  answer.catch(() => undefined);
}
