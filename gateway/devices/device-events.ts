/**
 * The device event timeline (Blynk's `event/<code>`): each event a template defines is kept per
 * device, pushed to the people who see the device, and, where the definition asks, mailed to the
 * device's owner. The timeline is bounded (a count and an age per device) and the mails are
 * rate-limited per device and owner, so a chatty or hostile device grows neither the store nor an
 * inbox without limit.
 */
import type { Clock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import { isEventCode } from '../../shared/topics.js';
import type { AuthenticatedActor } from '../accounts/auth-service.js';
import type { EventBus } from '../events.js';
import type { Mailer } from '../mail/mailer.js';
import type { Store } from '../store/store.js';
import type { Device, DeviceEvent, EventDefinition } from '../store/types.js';
import type { DeviceService } from './device-service.js';

const NEWEST_FIRST = [{ field: 'at', direction: 'desc' }] as const;

/** Blynk's logEvent takes descriptions up to 300 characters. */
const MAX_DESCRIPTION = 300;
/** Control characters and bidi overrides: a description is one line, shown as it reads. */
const UNPRINTABLE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu;

export interface TimelineLimits {
  /** Events kept per device: the oldest go first. */
  keepPerDevice: number;
  /** Events older than this go. */
  maxAgeMs: number;
  /** Events a device may publish per minute (a burst of as many, then refilled). */
  eventsPerMinute: number;
  /** Notification mails per device and owner within `mailWindowMs`, at most. */
  mailsPerWindow: number;
  mailWindowMs: number;
}

export const DEFAULT_TIMELINE_LIMITS: TimelineLimits = {
  keepPerDevice: 500,
  maxAgeMs: 30 * 24 * 3600_000,
  eventsPerMinute: 10,
  mailsPerWindow: 5,
  mailWindowMs: 3600_000,
};

export class DeviceEventService {
  /** Mails sent per device and owner in the current window: `${deviceId} ${ownerId}` → times. */
  readonly #mailed = new Map<string, number[]>();
  /** Events a device may still publish this minute. */
  readonly #budget = new Map<string, { tokens: number; at: number }>();
  #seq = 0;

  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      events: EventBus;
      mailer: Pick<Mailer, 'send'>;
      devices: DeviceService;
      logger: Logger;
      /** The link a notification mail carries to the device's page. */
      deviceLink(deviceId: string): string;
      limits?: TimelineLimits;
    },
  ) {}

  get #limits(): TimelineLimits {
    return this.deps.limits ?? DEFAULT_TIMELINE_LIMITS;
  }

  /**
   * `event/<code>` from a device (or Blynk's HTTPS logEvent): refused unless its template defines
   * the code; an empty description takes the definition's.
   */
  async record(device: Device, code: string, description: string): Promise<DeviceEvent> {
    const { store, clock, events } = this.deps;
    const template = await store.templates.get(device.templateId);
    const definition = template?.events?.find((e) => e.code === code);
    if (!definition) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `Event ${code.slice(0, 64)} is not defined by template ${device.templateId}: add it to the template's events.`,
        { details: { code: code.slice(0, 64) } },
      );
    }
    const at = clock.now();
    if (!this.#take(device.id, at)) {
      throw new TetherError(
        'RATE_LIMITED',
        `More than ${this.#limits.eventsPerMinute} events a minute: this one was not recorded.`,
      );
    }
    const event: DeviceEvent = {
      id: this.#newEventId(at),
      deviceId: device.id,
      orgId: device.orgId,
      code,
      name: definition.name,
      level: definition.level ?? 'info',
      description: (
        description.replace(UNPRINTABLE, ' ').trim() ||
        definition.description ||
        definition.name
      ).slice(0, MAX_DESCRIPTION),
      at,
      notified: false,
    };
    const owner = definition.notify ? await this.#mailableOwner(device, at) : undefined;
    event.notified = owner !== undefined;
    // The new event and the ones it pushes out of the timeline, in one commit.
    const { keepPerDevice, maxAgeMs } = this.#limits;
    await store.transaction(async (tx) => {
      await tx.deviceEvents.insert(event);
      await tx.deviceEvents.deleteWhere({ deviceId: device.id, at: { lt: at - maxAgeMs } });
      const beyond = await tx.deviceEvents.find(
        { deviceId: device.id },
        { orderBy: NEWEST_FIRST, offset: keepPerDevice },
      );
      for (const old of beyond) await tx.deviceEvents.delete(old.id);
    });
    this.deps.logger.info({ deviceId: device.id, code }, 'device event');
    events.emit('device.event', { device, code, description: event.description, at });
    // Mailed after the commit and off the device's uplink chain: a slow SMTP server never holds
    // up the device.
    if (owner) void this.#mail(owner.email, device, definition, event);
    return event;
  }

  /**
   * Ids that sort as the events happened (time, then a per-process count, then randomness), so
   * events of one millisecond keep their order: the timeline orders by time, then by id.
   */
  #newEventId(at: number): string {
    this.#seq = (this.#seq + 1) % 36 ** 4;
    const time = Math.max(0, at).toString(36).padStart(9, '0');
    return `evt_${time}${this.#seq.toString(36).padStart(4, '0')}${newId('').slice(1, 9)}`;
  }

  /** Per-device event budget: a bucket of eventsPerMinute, refilled continuously. */
  #take(deviceId: string, now: number): boolean {
    const perMinute = this.#limits.eventsPerMinute;
    const bucket = this.#budget.get(deviceId) ?? { tokens: perMinute, at: now };
    const tokens = Math.min(perMinute, bucket.tokens + ((now - bucket.at) * perMinute) / 60_000);
    if (tokens < 1) {
      this.#budget.set(deviceId, { tokens, at: now });
      return false;
    }
    this.#budget.set(deviceId, { tokens: tokens - 1, at: now });
    if (this.#budget.size > 100_000) {
      for (const [id, b] of this.#budget) if (now - b.at > 60_000) this.#budget.delete(id);
    }
    return true;
  }

  /**
   * The timeline of a device the actor may see, newest first. `after` is the `next` of the previous
   * page (the id of its last event (keyset paging: events of one millisecond are never skipped or repeated);
   * `before` (ms) starts at a moment instead.
   */
  async list(
    actor: AuthenticatedActor,
    deviceId: string,
    query: { limit?: number; before?: number; after?: string } = {},
  ): Promise<{ events: DeviceEvent[]; next?: string }> {
    const device = await this.deps.devices.getVisible(actor, deviceId);
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    let after: DeviceEvent | undefined;
    if (query.after !== undefined) {
      after = await this.deps.store.deviceEvents.get(query.after);
      if (after?.deviceId !== device.id) {
        throw new TetherError(
          'VALIDATION_FAILED',
          'The page cursor is not an event of this device (or it has been trimmed since): start again from the newest page.',
        );
      }
    }
    const events = await this.deps.store.deviceEvents.find(
      { deviceId: device.id, ...(query.before !== undefined ? { at: { lt: query.before } } : {}) },
      { orderBy: NEWEST_FIRST, limit, ...(after ? { after } : {}) },
    );
    // A full page may have more behind it: `next` continues after its last event.
    return { events, ...(events.length === limit ? { next: events.at(-1)!.id } : {}) };
  }

  /** The owner to mail, when there is one and the per-device-and-owner mail budget allows. */
  async #mailableOwner(device: Device, now: number): Promise<{ id: string; email: string } | undefined> {
    if (!device.ownerId) return undefined;
    const owner = await this.deps.store.users.get(device.ownerId);
    if (owner?.status !== 'active') return undefined;
    const key = `${device.id} ${owner.id}`;
    const { mailsPerWindow, mailWindowMs } = this.#limits;
    const recent = (this.#mailed.get(key) ?? []).filter((t) => now - t < mailWindowMs);
    if (recent.length >= mailsPerWindow) {
      this.#mailed.set(key, recent);
      this.deps.logger.info({ deviceId: device.id }, 'event notification held back (mail limit)');
      return undefined;
    }
    recent.push(now);
    this.#mailed.set(key, recent);
    this.#forgetOld(now, mailWindowMs);
    return owner;
  }

  async #mail(to: string, device: Device, definition: EventDefinition, event: DeviceEvent): Promise<void> {
    const link = this.deps.deviceLink(device.id);
    try {
      await this.deps.mailer.send({
        to,
        subject: `${device.name}: ${definition.name}`,
        text: [
          `Your device ${device.name} reported ${definition.name} (${event.level}).`,
          '',
          event.description,
          '',
          `At ${new Date(event.at).toISOString()}. See the device: ${link}`,
        ].join('\n'),
        kind: 'device-event',
      });
    } catch (error) {
      this.deps.logger.warn({ err: error, deviceId: device.id }, 'event notification mail failed');
    }
  }

  /** Keep the budget map small: devices that mailed long ago are forgotten. */
  #forgetOld(now: number, windowMs: number): void {
    if (this.#mailed.size < 10_000) return;
    for (const [key, times] of this.#mailed)
      if (times.every((t) => now - t >= windowMs)) this.#mailed.delete(key);
  }
}

/** Checks a template's event definitions: codes unique and of the topic's alphabet. */
export function checkEventDefinitions(definitions: readonly EventDefinition[]): void {
  const codes = new Set<string>();
  for (const d of definitions) {
    if (!isEventCode(d.code)) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `Event code ${String(d.code).slice(0, 64)}: letters, digits, _ - . : only.`,
      );
    }
    if (codes.has(d.code)) throw new TetherError('VALIDATION_FAILED', `Event ${d.code} appears twice.`);
    codes.add(d.code);
  }
}
