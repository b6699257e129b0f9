/**
 * The gateway's typed event bus. The broker, the device service and the HTTP push streams meet
 * here instead of calling each other.
 */
import { EventEmitter } from 'node:events';
import type { DatastreamValue, Device } from './store/types.js';

export interface GatewayEvents {
  /** A pending device connected with its token and named the right template. */
  'device.activated': [{ device: Device }];
  /** A device's provisioning failed at the gateway: wrong template, expired token. */
  'device.activation-failed': [{ deviceId: string; code: string; message: string }];
  'device.online': [{ device: Device }];
  'device.offline': [{ device: Device }];
  'device.value': [{ device: Device; name: string; value: DatastreamValue; at: number }];
  'device.changed': [{ device: Device }];
  'device.deleted': [{ device: Device }];
  /** A device published `event/<code>` (Blynk events: alerts, logs). */
  'device.event': [{ device: Device; code: string; description: string; at: number }];
  /** What a person may see changed (a share granted or revoked): open streams re-check at once. */
  'access.changed': [{ userId: string }];
}

export class EventBus {
  readonly #emitter = new EventEmitter();

  constructor() {
    // Each push-stream subscriber adds a listener; the default warning at 10 is noise here.
    this.#emitter.setMaxListeners(0);
  }

  emit<K extends keyof GatewayEvents>(event: K, ...args: GatewayEvents[K]): void {
    this.#emitter.emit(event, ...args);
  }

  on<K extends keyof GatewayEvents>(event: K, listener: (...args: GatewayEvents[K]) => void): () => void {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    return () => this.#emitter.off(event, listener as (...args: unknown[]) => void);
  }

  listenerCount(event: keyof GatewayEvents): number {
    return this.#emitter.listenerCount(event);
  }
}
