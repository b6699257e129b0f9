/**
 * The gateway's typed event bus. The broker, the device service and the HTTP push streams meet
 * here instead of calling each other. A listener that throws fails alone: the error goes to that
 * subscriber's onError (a push stream ends itself), never to the emitter (the device whose uplink
 * raised the event) nor to the other listeners.
 *
 * Two implementations: this process alone (LocalEventBus), and a cluster's, which also carries
 * each event to the other nodes through Redis (gateway/cluster/redis-event-bus.ts). Events carry
 * ids and the changed values: a device event names the device by a DeviceRef (what access checks
 * need), and only activated/changed carry the whole record, which another node reads from the
 * shared store.
 */
import { EventEmitter } from 'node:events';
import { toTetherError } from '../shared/errors.js';
import { type Logger, silentLogger } from '../shared/logger.js';
import type { DatastreamValue, Device } from './store/types.js';

/** What a listener needs to know whose device an event is about (policy.canViewDevice's target). */
export type DeviceRef = Pick<Device, 'id' | 'orgId' | 'ownerId' | 'lastSeenAt'>;

export const deviceRef = ({ id, orgId, ownerId, lastSeenAt }: DeviceRef): DeviceRef => ({
  id,
  orgId,
  ownerId,
  lastSeenAt,
});

export interface GatewayEvents {
  /** A pending device connected with its token and named the right template. */
  'device.activated': [{ device: Device }];
  /** A device's provisioning failed at the gateway: wrong template, expired token. */
  'device.activation-failed': [{ deviceId: string; code: string; message: string }];
  'device.online': [{ device: DeviceRef }];
  'device.offline': [{ device: DeviceRef }];
  'device.value': [{ device: DeviceRef; name: string; value: DatastreamValue; at: number }];
  'device.changed': [{ device: Device }];
  'device.deleted': [{ device: DeviceRef }];
  /** A device published `event/<code>` (Blynk events: alerts, logs). */
  'device.event': [{ device: DeviceRef; code: string; description: string; at: number }];
  /** What a person may see changed (a share granted or revoked): open streams re-check at once. */
  'access.changed': [{ userId: string }];
}

export type GatewayEventName = keyof GatewayEvents;
export type EventListener<K extends GatewayEventName> = (...args: GatewayEvents[K]) => void;

/**
 * The events raised for every message a device sends: in a cluster they cross to another node
 * only when a listener there asked for that device or org (Interest), so values nobody watches
 * stay on the node that received them. Every other event reaches every node.
 */
export const NARROW_EVENTS: ReadonlySet<GatewayEventName> = new Set(['device.value', 'device.event']);

/** Interest in one device's narrow events, and in those of every device of an org. */
export const deviceInterest = (deviceId: string): string => `d:${deviceId}`;
export const orgInterest = (orgId: string): string => `o:${orgId}`;

/** The keys a narrow event is wanted by: its device, and its device's org. */
export const interestKeys = (device: Pick<DeviceRef, 'id' | 'orgId'>): [string, string] => [
  deviceInterest(device.id),
  orgInterest(device.orgId),
];

/**
 * What one listener on this node (a push stream) wants to hear of from other nodes: devices
 * (`d:<id>`) and orgs' devices (`o:<orgId>`). One node: nothing to do.
 */
export interface Interest {
  /** Replaces the keys; resolves once every node that can raise the events knows. */
  want(keys: Iterable<string>): Promise<void>;
  release(): void;
}

export interface EventBus {
  /** A listener's interest in narrow events raised on other nodes (NARROW_EVENTS). */
  interest(): Interest;
  /** Delivers to this node's listeners at once (synchronously), and to the other nodes' soon after. */
  emit<K extends GatewayEventName>(event: K, ...args: GatewayEvents[K]): void;
  /** Subscribe to the event wherever in the cluster it happens; `onError` runs when this listener throws. */
  on<K extends GatewayEventName>(
    event: K,
    listener: EventListener<K>,
    onError?: (error: unknown) => void,
  ): () => void;
  /** Subscribe to the event only where it happens on this node (per-node counters, such as metrics). */
  onLocal<K extends GatewayEventName>(event: K, listener: EventListener<K>): () => void;
  listenerCount(event: GatewayEventName): number;
}

export class LocalEventBus implements EventBus {
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

  onLocal<K extends GatewayEventName>(event: K, listener: EventListener<K>): () => void {
    return this.on(event, listener);
  }

  listenerCount(event: keyof GatewayEvents): number {
    return this.#emitter.listenerCount(event);
  }

  /** One node hears every event it raises. */
  interest(): Interest {
    return { want: async () => undefined, release: () => undefined };
  }
}
