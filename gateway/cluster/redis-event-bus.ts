/**
 * The event bus of a cluster: every event reaches this node's listeners at once, as on one node,
 * and every other node's listeners through one Redis channel. The events raised for each device
 * message (values, device events) go to Redis only when a listener on another node asked for
 * that device or its org (redis-interest.ts): telemetry nobody watches elsewhere stays here. Events raised in the same turn of
 * the event loop travel as one message (a burst of telemetry is one PUBLISH, not one per value).
 * What crosses the wire is small: device events name the device by its DeviceRef (id, org,
 * owner, last seen) plus the changed values; `device.activated` and `device.changed`, which carry
 * the whole record, are re-read from the shared store by the node that receives them, so a
 * token hash or a claim-code hash never travels through Redis.
 */
import { type Clock, SystemClock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import {
  type DeviceRef,
  deviceRef,
  type EventBus,
  type EventListener,
  type GatewayEventName,
  type GatewayEvents,
  type Interest,
  LocalEventBus,
  NARROW_EVENTS,
} from '../events.js';
import type { Part } from '../part.js';
import type { Device } from '../store/types.js';
import { RedisInterests } from './redis-interest.js';
import { KEY_PREFIX, type RedisLink } from './redis-link.js';

export const EVENTS_CHANNEL = `${KEY_PREFIX}events`;

/** One event as it travels: its name and its payload, device records reduced to refs. */
type WireEvent = { e: GatewayEventName; a: Record<string, unknown> };

export interface RedisEventBusOptions {
  link: RedisLink;
  /** This node's id: a node skips its own messages (its listeners heard them already). */
  nodeId: string;
  /** Reads a device from the shared store, for the events that carry the whole record. */
  readDevice: (deviceId: string) => Promise<Device | undefined>;
  logger: Logger;
  /** Default: the wall clock. */
  clock?: Clock;
  /** A node silent this long is dead, and so is its interest (default 15 s). */
  nodeTimeoutMs?: number;
}

const WHOLE_RECORD: ReadonlySet<GatewayEventName> = new Set(['device.activated', 'device.changed']);
const EVENT_NAMES: ReadonlySet<string> = new Set<GatewayEventName>([
  'device.activated',
  'device.activation-failed',
  'device.online',
  'device.offline',
  'device.value',
  'device.changed',
  'device.deleted',
  'device.event',
  'access.changed',
]);

export class RedisEventBus implements EventBus, Part {
  readonly name = 'event-bus';
  /** Every event, wherever it happened. */
  readonly #all: LocalEventBus;
  /** Only the events raised on this node. */
  readonly #here: LocalEventBus;
  readonly #options: RedisEventBusOptions;
  readonly #interests: RedisInterests;
  #outbox: WireEvent[] = [];
  #flush: NodeJS.Immediate | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;

  constructor(options: RedisEventBusOptions) {
    this.#options = options;
    this.#all = new LocalEventBus(options.logger);
    this.#here = new LocalEventBus(options.logger);
    this.#interests = new RedisInterests({
      link: options.link,
      nodeId: options.nodeId,
      clock: options.clock ?? new SystemClock(),
      logger: options.logger,
      nodeTimeoutMs: options.nodeTimeoutMs ?? 15_000,
    });
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#options.link.subscribe(EVENTS_CHANNEL, (message) =>
      this.#receive(message),
    );
    await this.#interests.start();
  }

  async stop(): Promise<void> {
    this.#send();
    await this.#interests.stop();
    await this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  interest(): Interest {
    return this.#interests.interest();
  }

  emit<K extends GatewayEventName>(event: K, ...args: GatewayEvents[K]): void {
    this.#all.emit(event, ...args);
    this.#here.emit(event, ...args);
    if (NARROW_EVENTS.has(event)) {
      const { device } = args[0] as { device: DeviceRef };
      if (!this.#interests.wanted(device)) return;
    }
    this.#outbox.push({ e: event, a: toWire(event, args[0] as Record<string, unknown>) });
    this.#flush ??= setImmediate(() => this.#send());
  }

  on<K extends GatewayEventName>(
    event: K,
    listener: EventListener<K>,
    onError?: (error: unknown) => void,
  ): () => void {
    return this.#all.on(event, listener, onError);
  }

  onLocal<K extends GatewayEventName>(event: K, listener: EventListener<K>): () => void {
    return this.#here.on(event, listener);
  }

  listenerCount(event: GatewayEventName): number {
    return this.#all.listenerCount(event);
  }

  #send(): void {
    if (this.#flush) clearImmediate(this.#flush);
    this.#flush = undefined;
    if (this.#outbox.length === 0) return;
    const events = this.#outbox;
    this.#outbox = [];
    this.#options.link.publish(EVENTS_CHANNEL, JSON.stringify({ n: this.#options.nodeId, e: events }));
  }

  #receive(message: Buffer): void {
    const batch = JSON.parse(message.toString('utf8')) as { n?: unknown; e?: unknown };
    if (batch.n === this.#options.nodeId || !Array.isArray(batch.e)) return;
    for (const item of batch.e as unknown[]) {
      const { e, a } = (item ?? {}) as Partial<WireEvent>;
      if (typeof e !== 'string' || !EVENT_NAMES.has(e) || typeof a !== 'object' || a === null) continue;
      if (WHOLE_RECORD.has(e)) void this.#deliverRecord(e, a);
      else this.#all.emit(e, a as never);
    }
  }

  /** activated / changed: the record as the shared store has it now (gone: nothing to say). */
  async #deliverRecord(event: GatewayEventName, args: Record<string, unknown>): Promise<void> {
    const ref = args.device as DeviceRef | undefined;
    if (typeof ref?.id !== 'string') return;
    try {
      const device = await this.#options.readDevice(ref.id);
      if (device) this.#all.emit(event, { ...args, device } as never);
    } catch (error) {
      this.#options.logger.warn({ err: error, event, deviceId: ref.id }, 'cluster event dropped');
    }
  }
}

/** The payload as it travels: a device record becomes its ref. */
function toWire(event: GatewayEventName, args: Record<string, unknown>): Record<string, unknown> {
  const device = args.device as DeviceRef | undefined;
  if (!device) return args;
  return { ...args, device: WHOLE_RECORD.has(event) ? { id: device.id } : deviceRef(device) };
}
