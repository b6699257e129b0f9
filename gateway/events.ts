/**
 * The gateway's typed event bus. The broker, the device service and the HTTP push streams meet
 * here instead of calling each other. A listener that throws fails alone: the error goes to that
 * subscriber's onError (a push stream ends itself), never to the emitter (the device whose uplink
 * raised the event) nor to the other listeners.
 */
import { EventEmitter } from 'node:events';
import { toTetherError } from '../shared/errors.js';
import { type Logger, silentLogger } from '../shared/logger.js';
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
  readonly #logger: Logger;

  constructor(logger: Logger = silentLogger()) {
    this.#logger = logger;
    // Each push-stream subscriber adds a listener; the default warning at 10 is noise here.
    this.#emitter.setMaxListeners(0);
  }

  emit<K extends keyof GatewayEvents>(event: K, ...args: GatewayEvents[K]): void {
    this.#emitter.emit(event, ...args);
  }

  /** Subscribe; `onError` runs (after the failure is logged) when this listener throws. */
  on<K extends keyof GatewayEvents>(
    event: K,
    listener: (...args: GatewayEvents[K]) => void,
    onError?: (error: unknown) => void,
  ): () => void {
    const guarded = (...args: unknown[]) => {
      try {
        (listener as (...args: unknown[]) => void)(...args);
      } catch (error) {
        this.#logger.error({ err: error, code: toTetherError(error).code, event }, 'event listener failed');
        try {
          onError?.(error);
        } catch (failure) {
          this.#logger.error({ err: failure, event }, 'event listener cleanup failed');
        }
      }
    };
    this.#emitter.on(event, guarded);
    return () => this.#emitter.off(event, guarded);
  }

  listenerCount(event: keyof GatewayEvents): number {
    return this.#emitter.listenerCount(event);
  }
}
