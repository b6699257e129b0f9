/**
 * The in-memory transport: a ProvisioningLink bound straight to a device's EndpointHandler, one
 * transport session per link. Real code, for tests and for the simulator; no radio involved.
 * Device-side refusals surface as the HTTP and BLE transports surface them: a PROTOCOL_ERROR with
 * the device's reason as the cause.
 */
import { isTetherError, TetherError } from '../../shared/errors.js';
import type {
  DiscoveredDevice,
  DiscoverOptions,
  EndpointHandler,
  ProvisioningLink,
  ProvisioningTransport,
} from './transport.js';

export class MemoryLink implements ProvisioningLink {
  readonly kind = 'memory' as const;
  readonly sessionId: string;
  readonly #handler: EndpointHandler;
  #closed = false;

  constructor(handler: EndpointHandler, sessionId: string = globalThis.crypto.randomUUID()) {
    this.#handler = handler;
    this.sessionId = sessionId;
  }

  async exchange(endpoint: string, request: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) throw new TetherError('DEVICE_UNREACHABLE', 'The link to the device is closed.');
    if (!this.#handler.endpoints.includes(endpoint)) {
      // As a SoftAP device answers 404 and a BLE device has no such characteristic.
      throw new TetherError('PROTOCOL_ERROR', `The device has no "${endpoint}" endpoint.`, {
        details: { endpoint, deviceCode: 'NOT_FOUND' },
      });
    }
    try {
      // Copies both ways: neither side may keep a view of the other's buffers.
      const answer = await this.#handler.handle(endpoint, Uint8Array.from(request), this.sessionId);
      return Uint8Array.from(answer);
    } catch (error) {
      const reason = isTetherError(error) ? error.message : 'internal error';
      throw new TetherError('PROTOCOL_ERROR', `The device refused the request on ${endpoint}: ${reason}`, {
        cause: error,
        details: { endpoint, deviceCode: isTetherError(error) ? error.code : 'INTERNAL' },
      });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler.closeSession(this.sessionId);
  }
}

export function createMemoryLink(handler: EndpointHandler): MemoryLink {
  return new MemoryLink(handler);
}

/** A set of in-memory devices that can be discovered and connected to by address. */
export class MemoryTransport implements ProvisioningTransport {
  readonly kind = 'memory' as const;
  readonly #devices = new Map<string, { name: string; handler: EndpointHandler }>();

  add(address: string, name: string, handler: EndpointHandler): void {
    this.#devices.set(address, { name, handler });
  }

  remove(address: string): void {
    this.#devices.delete(address);
  }

  async discover(options: DiscoverOptions): Promise<DiscoveredDevice[]> {
    return [...this.#devices]
      .filter(([, device]) => !options.namePrefix || device.name.startsWith(options.namePrefix))
      .map(([address, device]) => ({ name: device.name, transport: 'memory', address }));
  }

  async connect(address: string): Promise<ProvisioningLink> {
    const device = this.#devices.get(address);
    if (!device)
      throw new TetherError('DEVICE_UNREACHABLE', `No device at ${address}.`, { details: { address } });
    return new MemoryLink(device.handler);
  }
}
