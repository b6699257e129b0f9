/**
 * The device registry: token authentication for the broker, activation on `info/mcu`, latest
 * values and presence, and what people may read. High-rate changes (values, last seen) stay in
 * memory and reach the file through the store's coalesced writes.
 */
import type { Clock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import { sha256Hex } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import { hasOwnKey, ownValue } from '../../shared/own-keys.js';
import type { McuInfo } from '../../shared/topics.js';
import type { AuthenticatedActor } from '../accounts/auth-service.js';
import { can, canViewDevice } from '../accounts/policy.js';
import type { Auditor } from '../audit.js';
import { deviceRef, type EventBus } from '../events.js';
import { pages } from '../store/paging.js';
import { comparator } from '../store/query.js';
import type { FindOptions, Store, Where } from '../store/store.js';
import type { Datastream, DatastreamValue, Device, ProvisioningSecurity, Template } from '../store/types.js';
import { parseDatastreamValue } from './datastream-values.js';
import { LocalPresence, type Presence } from './presence.js';
import type { TokenCache } from './token-cache.js';
import { isWidgetProperty } from './widget-properties.js';

export type PublicDevice = Omit<Device, 'tokenHash' | 'claimCodeHash'> & { online: boolean };

export interface DeviceFilter {
  templateId?: string;
  ownerId?: string;
  status?: Device['status'];
  online?: boolean;
  activated?: boolean;
}

const MAX_TEXT = 255;
const CREATION_ORDER: FindOptions<Device>['orderBy'] = { field: 'createdAt' };
const MAX_META = 64;
/** Widget properties per device, over all its datastreams. */
const MAX_PROPS = 256;
/** Points in one timestamped batch (a 1 KB message holds far fewer). */
const MAX_POINTS = 256;
/** Activation failures remembered for companions that ask later (the oldest are forgotten first). */
const MAX_FAILURES = 10_000;
/** Blynk takes timestamped points up to a month old, or a month ahead. */
const POINT_WINDOW_MS = 31 * 24 * 3600_000;

export interface DeviceServiceDeps {
  store: Store;
  clock: Clock;
  events: EventBus;
  auditor: Auditor;
  logger: Logger;
  /** Who is online, and on which node (default: this process alone). */
  presence?: Presence;
  /** Tokens this node has seen, for a store that answers over the network (PostgreSQL). */
  tokens?: TokenCache;
  /** Device ids per store query, and rows per read, of an `online` filter (default 1000). */
  onlineBatch?: number;
}

/** The ids in arrays of at most `size`. */
function* idBatches(ids: Iterable<string>, size: number): Generator<string[]> {
  let batch: string[] = [];
  for (const id of ids) {
    batch.push(id);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

export class DeviceService {
  readonly #presence: Presence;
  /**
   * Why a pending device's activation failed last, for the companion that asks later; learnt
   * from the event bus, so a failure on any node of a cluster is known on every node.
   */
  readonly #failures = new Map<string, { code: string; message: string }>();

  readonly #onlineBatch: number;

  constructor(private readonly deps: DeviceServiceDeps) {
    this.#presence = deps.presence ?? new LocalPresence();
    this.#onlineBatch = deps.onlineBatch ?? 1000;
  }

  /** Listens for what other parts (and other nodes) report; returns the unsubscribe. */
  watch(): () => void {
    const stops = [
      this.deps.events.on('device.activation-failed', ({ deviceId, code, message }) =>
        this.#remember(deviceId, { code, message }),
      ),
      this.deps.events.on('device.activated', ({ device }) => void this.#failures.delete(device.id)),
      // A device whose node died went offline without a word from that node.
      this.#presence.onDeparted((deviceId) => void this.#announce(deviceId, false)),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }

  /**
   * The broker's CONNECT check: O(1) on the token's hash, no file I/O. Every refusal is the same
   * "bad username or password" on the wire; the reason is logged and, for a pending device,
   * reaches the waiting companion.
   */
  async authenticateToken(token: string): Promise<Device> {
    const device =
      token.length > 0 && token.length <= 128 ? await this.#byToken(sha256Hex(token)) : undefined;
    if (!device) throw new TetherError('TOKEN_INVALID', 'Unknown device token.');
    if (device.status === 'revoked')
      throw new TetherError('TOKEN_REVOKED', `Device ${device.id}: token revoked.`);
    if (
      device.status === 'pending' &&
      device.provisioningExpiresAt !== null &&
      device.provisioningExpiresAt <= this.deps.clock.now()
    ) {
      const error = new TetherError(
        'PROVISIONING_EXPIRED',
        'The provisioning session expired before the device connected. Start a new one.',
        { details: { deviceId: device.id } },
      );
      this.#fail(device.id, error);
      throw error;
    }
    return device;
  }

  /**
   * authenticateToken for the broker, which needs only the device: with a token cache, a token
   * this node has seen costs no store query (the cache says why that is safe).
   */
  async authenticateConnection(token: string): Promise<{ id: string }> {
    const tokens = this.deps.tokens;
    const hash = tokens && token.length > 0 && token.length <= 128 ? sha256Hex(token) : undefined;
    const known = hash === undefined ? undefined : tokens?.get(hash);
    if (known !== undefined) return { id: known };
    const epoch = tokens?.epoch ?? 0;
    const device = await this.authenticateToken(token);
    if (hash !== undefined && (device.status === 'active' || device.status === 'unclaimed'))
      tokens?.remember(hash, device.id, epoch);
    return device;
  }

  /** The device's token was revoked, replaced or deleted (its connections are being dropped). */
  forgetToken(deviceId: string): void {
    this.deps.tokens?.forgetDevice(deviceId);
  }

  /**
   * The device of a token hash. A lookup that raced a revoke, re-provision or delete heard by this
   * node meanwhile is asked again: the change was written before it was announced.
   */
  async #byToken(hash: string): Promise<Device | undefined> {
    const tokens = this.deps.tokens;
    for (let attempt = 0; ; attempt++) {
      const epoch = tokens?.epoch;
      const device = await this.deps.store.devices.byTokenHash(hash);
      if (tokens?.epoch === epoch || attempt === 2) return device;
    }
  }

  /**
   * `info/mcu` from a connected device. A pending device is activated when it names its
   * template; a wrong template is refused with that reason (the broker then drops the link).
   */
  async handleInfoMcu(deviceId: string, info: McuInfo): Promise<Device> {
    const { store, clock, events, auditor } = this.deps;
    const device = await this.#require(deviceId);
    const firmware = { ver: str(info.ver), build: str(info.build), type: str(info.type) };
    if (device.status !== 'pending') {
      // Firmware of another product would misread every datastream: refused, as for a pending
      // device (firmware that names no template at all is let be).
      if (info.tmpl !== undefined && info.tmpl !== device.templateId) {
        throw new TetherError(
          'TEMPLATE_MISMATCH',
          `The device reports template ${String(info.tmpl).slice(0, 40)}, but it is a device of ${device.templateId}. Flash the firmware of the right product.`,
          { details: { deviceId, expected: device.templateId } },
        );
      }
      // Devices publish info/mcu on every connection: write only what changed, so a fleet
      // reconnecting after a restart does not cost a database write per device.
      const hardwareId = str(info.hwid) ?? device.hardwareId;
      if (hardwareId === device.hardwareId && sameFirmware(device.firmware, firmware)) return device;
      return store.devices.update(device.id, { firmware, hardwareId });
    }
    if (info.tmpl !== device.templateId) {
      const error = new TetherError(
        'TEMPLATE_MISMATCH',
        `The device reports template ${String(info.tmpl ?? '(none)').slice(0, 40)}, but this provisioning session is for ${device.templateId}. Flash the firmware of the right product.`,
        { details: { deviceId, expected: device.templateId } },
      );
      this.#fail(device.id, error);
      throw error;
    }
    const security = await this.#checkProvisioningSecurity(device, info.provsec);
    const now = clock.now();
    // The activation and its audit event commit together: one fsync before the companion hears.
    const activated = await store.transaction(async (tx) => {
      const row = await tx.devices.update(device.id, {
        status: 'active',
        activatedAt: now,
        activatedBy: device.createdBy,
        hardwareId: str(info.hwid) ?? null,
        firmware,
        provisioningExpiresAt: null,
        lastSeenAt: now,
        provisioningSecurity: security,
      });
      await auditor.record(
        {
          actor: `device:${device.id}`,
          action: 'device.activated',
          targetType: 'device',
          targetId: device.id,
          orgId: device.orgId,
          details: { ownerId: row.ownerId, hardwareId: row.hardwareId, provisioningSecurity: security },
        },
        tx,
      );
      return row;
    });
    this.#failures.delete(device.id);
    this.deps.logger.info(
      { deviceId: device.id, ownerId: activated.ownerId, provisioningSecurity: security },
      security === 'unknown'
        ? 'device activated; it reported no provisioning security (security unknown)'
        : 'device activated',
    );
    events.emit('device.activated', { device: activated });
    return activated;
  }

  /**
   * The product's minimum provisioning security, enforced at the gateway: a companion that is not
   * Tether's could provision a security-0 device for a product that requires security 2. A device
   * that reports nothing (stock Blynk firmware) is let in and recorded as 'unknown'.
   */
  async #checkProvisioningSecurity(device: Device, reported: unknown): Promise<ProvisioningSecurity> {
    if (reported === undefined || reported === null) return 'unknown';
    if (reported !== 0 && reported !== 1 && reported !== 2) {
      const error = new TetherError(
        'VALIDATION_FAILED',
        'info/mcu: provsec must be the provisioning security level, 0, 1 or 2.',
        { details: { deviceId: device.id } },
      );
      this.#fail(device.id, error);
      throw error;
    }
    const template = await this.deps.store.templates.get(device.templateId);
    const minimum = template?.minSecurity ?? 2;
    if (reported < minimum) {
      const error = new TetherError(
        'SECURITY_MISMATCH',
        `The device was provisioned with security ${reported}, but product ${device.templateId} requires at least security ${minimum}. Provision it again with security ${minimum} (or lower the product's minimum).`,
        { details: { deviceId: device.id, reported, minimum } },
      );
      this.#fail(device.id, error);
      throw error;
    }
    return reported;
  }

  /** `ds/<name>`: validated against the template, then kept as the latest value. */
  async recordValue(deviceId: string, name: string, raw: string, read?: Device): Promise<DatastreamValue> {
    const { store, clock, events } = this.deps;
    // The uplink handler has just read the device: not read again per value.
    const device = read?.id === deviceId ? read : await this.#require(deviceId);
    const ds = await this.#datastream(device, name);
    const value = parseDatastreamValue(ds, raw);
    const at = clock.now();
    const updated = await store.devices.putValues(deviceId, { [name]: { value, at } }, at);
    events.emit('device.value', { device: updated, name, value, at });
    return value;
  }

  /**
   * recordValue() for the MQTT hot path, done at once where the store holds its rows in memory
   * (no promise, no await per uplink): true when the value was kept, false when the store cannot
   * answer at once and the caller takes recordValue(). The same checks, refusals and event;
   * `now`, when the caller has read the clock for this message already.
   */
  recordValueNow(device: Device, name: string, raw: string, now?: number): boolean {
    const { store, clock, events } = this.deps;
    if (!store.devices.putValuesNow || !store.templates.peek) return false;
    const ds = datastreamOf(device, store.templates.peek(device.templateId), name);
    const value = parseDatastreamValue(ds, raw);
    const at = now ?? clock.now();
    const updated = store.devices.putValuesNow(device.id, { [name]: { value, at } }, at);
    events.emit('device.value', { device: updated, name, value, at });
    return true;
  }

  /**
   * `ds/<name>/timestamped_batch`: `[[ms, value], …]`, each within a month of now (Blynk). Tether
   * keeps the latest value of each datastream, not a history: every point is checked, and the
   * newest becomes the latest value when it is newer than the one held.
   */
  async recordTimestampedBatch(deviceId: string, name: string, points: unknown): Promise<void> {
    const { store, clock, events } = this.deps;
    const device = await this.#require(deviceId);
    const ds = await this.#datastream(device, name);
    if (!Array.isArray(points) || points.length === 0 || points.length > MAX_POINTS) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `${name}/timestamped_batch: expected [[timestamp_ms, value], …] with 1 to ${MAX_POINTS} points.`,
      );
    }
    const now = clock.now();
    let newest: { value: DatastreamValue; at: number } | undefined;
    for (const [i, point] of points.entries()) {
      const [at, raw] = Array.isArray(point) && point.length === 2 ? point : [];
      if (typeof at !== 'number' || !Number.isInteger(at) || Math.abs(at - now) > POINT_WINDOW_MS) {
        throw new TetherError(
          'VALIDATION_FAILED',
          `${name}/timestamped_batch: point ${i} needs a timestamp in milliseconds within a month of now.`,
        );
      }
      const text = Array.isArray(raw) ? raw.join(',') : typeof raw === 'object' ? undefined : String(raw);
      if (text === undefined)
        throw new TetherError('VALIDATION_FAILED', `${name}/timestamped_batch: point ${i} has no value.`);
      const value = parseDatastreamValue(ds, text);
      if (!newest || at >= newest.at) newest = { value, at };
    }
    const held = ownValue(device.values, name);
    if (!newest || (held && held.at > newest.at)) return;
    const updated = await store.devices.putValues(deviceId, { [name]: newest }, now);
    events.emit('device.value', { device: updated, name, value: newest.value, at: newest.at });
  }

  /** `ds/<name>/erase`: forget the latest value. */
  async eraseValue(deviceId: string, name: string): Promise<void> {
    const device = await this.#require(deviceId);
    await this.#datastream(device, name);
    if (!hasOwnKey(device.values, name)) return;
    const updated = await this.deps.store.devices.putValues(
      deviceId,
      { [name]: null },
      this.deps.clock.now(),
    );
    this.deps.events.emit('device.changed', { device: updated });
  }

  /**
   * `ds/<name>/prop/<property>`: a widget property (label, color, min…) of a datastream the
   * template defines; one of Blynk's property names; at most MAX_PROPS per device.
   */
  async setProperty(deviceId: string, name: string, property: string, value: string): Promise<void> {
    const device = await this.#require(deviceId);
    await this.#datastream(device, name);
    if (!isWidgetProperty(property)) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `${property.slice(0, 64)} is not a widget property (label, color, min, max, isDisabled, …).`,
        { details: { datastream: name, property: property.slice(0, 64) } },
      );
    }
    if (value.length > MAX_TEXT)
      throw new TetherError('VALIDATION_FAILED', `Property ${property}: longer than ${MAX_TEXT} characters.`);
    const current = ownValue(device.props, name);
    if (!hasOwnKey(current, property) && countProps(device.props) >= MAX_PROPS) {
      throw new TetherError('VALIDATION_FAILED', `At most ${MAX_PROPS} widget properties per device.`, {
        details: { limit: MAX_PROPS },
      });
    }
    const props = { ...device.props, [name]: { ...current, [property]: value } };
    const updated = await this.deps.store.devices.update(deviceId, {
      props,
      lastSeenAt: this.deps.clock.now(),
    });
    this.deps.events.emit('device.changed', { device: updated });
  }

  /** `ds/<name>/prop/<property>/erase`: forget a widget property. */
  async eraseProperty(deviceId: string, name: string, property: string): Promise<void> {
    const device = await this.#require(deviceId);
    await this.#datastream(device, name);
    const current = ownValue(device.props, name);
    if (!current || !hasOwnKey(current, property)) return;
    const { [property]: _gone, ...kept } = current;
    const { [name]: _all, ...others } = device.props ?? {};
    const props = Object.keys(kept).length > 0 ? { ...others, [name]: kept } : others;
    const updated = await this.deps.store.devices.update(deviceId, {
      props,
      lastSeenAt: this.deps.clock.now(),
    });
    this.deps.events.emit('device.changed', { device: updated });
  }

  /** `meta/<field>`: a metadata field the device sets (serial number, hotspot name…). */
  async setMeta(deviceId: string, field: string, value: string): Promise<void> {
    const device = await this.#require(deviceId);
    if (value.length > MAX_TEXT) throw new TetherError('VALIDATION_FAILED', `Metadata ${field}: too long.`);
    if (Object.keys(device.meta ?? {}).length >= MAX_META && !hasOwnKey(device.meta, field)) {
      throw new TetherError('VALIDATION_FAILED', `At most ${MAX_META} metadata fields per device.`);
    }
    const updated = await this.deps.store.devices.update(deviceId, {
      meta: { ...device.meta, [field]: value },
      lastSeenAt: this.deps.clock.now(),
    });
    this.deps.events.emit('device.changed', { device: updated });
  }

  /** `get/meta`: the system fields Blynk answers (Device Name, Device Owner), then custom ones. */
  async metaValue(device: Device, field: string): Promise<string | undefined> {
    if (field === 'Device Name') return device.name;
    if (field === 'Device Owner') {
      return device.ownerId ? (await this.deps.store.users.get(device.ownerId))?.email : undefined;
    }
    return ownValue(device.meta, field);
  }

  /**
   * The broker holds (or no longer holds) the device's connection. Presence changes at once (the
   * broker asks isOnline() in the same tick); a departure that another node's takeover overtook
   * says nothing, since the device is still online there.
   */
  async setOnline(deviceId: string, online: boolean): Promise<void> {
    try {
      if (online) await this.#presence.arrive(deviceId);
      else if (!(await this.#presence.leave(deviceId))) return;
      await this.#announce(deviceId, online);
    } catch (error) {
      // The broker does not wait for this (a store or Redis that is away, or closing at shutdown):
      // logged, never an unhandled rejection.
      this.deps.logger.warn({ err: error, deviceId, online }, 'presence change not recorded');
    }
  }

  /** Records the last-seen time and tells the listeners; a deleted device is forgotten. */
  async #announce(deviceId: string, online: boolean): Promise<void> {
    const device = await this.deps.store.devices.get(deviceId);
    if (!device) {
      if (online) await this.#presence.leave(deviceId);
      return;
    }
    const updated = await this.deps.store.devices.putValues(deviceId, {}, this.deps.clock.now());
    this.deps.events.emit(online ? 'device.online' : 'device.offline', { device: deviceRef(updated) });
  }

  isOnline(deviceId: string): boolean {
    return this.#presence.isOnline(deviceId);
  }

  lastFailure(deviceId: string): { code: string; message: string } | undefined {
    return this.#failures.get(deviceId);
  }

  async listVisible(actor: AuthenticatedActor, filter: DeviceFilter = {}): Promise<PublicDevice[]> {
    return (await this.pageVisible(actor, filter)).devices;
  }

  /**
   * The devices the actor may see that match the filter, in creation order; one page of them
   * when `page.limit` is given, with the total. The store filters, orders and pages: nothing
   * loads every device to pick some.
   */
  async pageVisible(
    actor: AuthenticatedActor,
    filter: DeviceFilter = {},
    page: { limit?: number; offset?: number } = {},
  ): Promise<{ devices: PublicDevice[]; total: number }> {
    const where = this.#visibleWhere(actor, filter);
    if (!where) return { devices: [], total: 0 };
    const { devices } = this.deps.store;
    // Online is known to presence, not to the store: a few online ids go to the store as a list,
    // more are matched a batch at a time (#pageByPresence).
    if (filter.online !== undefined && this.#presence.size > this.#onlineBatch) {
      const { rows, total } = await this.#pageByPresence(where, filter.online, page);
      return { devices: rows.map((d) => this.toPublic(d)), total };
    }
    if (filter.online !== undefined) {
      const online = [...this.#presence.online()];
      where.id = filter.online ? { in: online } : { notIn: online };
    }
    const rows = await devices.find(where, { orderBy: CREATION_ORDER, ...page });
    const total = page.limit === undefined && !page.offset ? rows.length : await devices.count(where);
    return { devices: rows.map((d) => this.toPublic(d)), total };
  }

  /**
   * A page of the devices matching `where` that are online (or offline), with their total, when
   * more devices are online than one list may name. No statement carries more than a batch of
   * ids and no read more than a batch of rows; the work is the smaller of the two sides:
   * - as many visible devices as online ones, or fewer (a person's own devices): the visible
   *   devices are walked in creation order, a batch at a time, each asked of presence;
   * - fewer online: online=true asks the store for the online ids a batch at a time and merges
   *   the answers in creation order; online=false walks the visible devices until the page is
   *   full, skipping the online ones, and counts them a batch at a time for the total.
   */
  async #pageByPresence(
    where: Where<Device>,
    online: boolean,
    page: { limit?: number; offset?: number },
  ): Promise<{ rows: Device[]; total: number }> {
    const { devices } = this.deps.store;
    const presence = this.#presence;
    const batch = this.#onlineBatch;
    const offset = page.offset ?? 0;
    const end = page.limit === undefined ? Number.POSITIVE_INFINITY : offset + page.limit;
    const visible = await devices.count(where);
    const walkAll = visible <= presence.size;
    if (walkAll || !online) {
      const rows: Device[] = [];
      let matched = 0;
      for await (const rowsOfPage of pages(devices, where, batch, CREATION_ORDER)) {
        for (const device of rowsOfPage) {
          if (presence.isOnline(device.id) !== online) continue;
          if (matched >= offset && matched < end) rows.push(device);
          matched++;
        }
        if (!walkAll && matched >= end) break;
      }
      if (walkAll) return { rows, total: matched };
      let onlineVisible = 0;
      for (const ids of idBatches(presence.online(), batch)) {
        onlineVisible += await devices.count({ ...where, id: { in: ids } });
      }
      return { rows, total: visible - onlineVisible };
    }
    const order = comparator<Device>(CREATION_ORDER);
    let best: Device[] = [];
    let total = 0;
    for (const ids of idBatches(presence.online(), batch)) {
      const found = await devices.find({ ...where, id: { in: ids } }, { orderBy: CREATION_ORDER });
      total += found.length;
      if (found.length > 0) best = best.concat(found).sort(order).slice(0, end);
    }
    return { rows: best.slice(offset, end), total };
  }

  /** The store filter for "visible to the actor and matching": undefined when nothing can match. */
  #visibleWhere(actor: AuthenticatedActor, filter: DeviceFilter): Where<Device> | undefined {
    const orgIds = [...actor.visibleOrgIds];
    const branches: Array<Where<Device>> = [];
    // The policy's canViewDevice, as a query: org-wide, own, or shared with the actor.
    if (can(actor, 'devices.org.view')) branches.push({ orgId: { in: orgIds } });
    else if (can(actor, 'devices.own.view')) branches.push({ orgId: { in: orgIds }, ownerId: actor.userId });
    if (actor.grants && actor.grants.size > 0 && can(actor, 'devices.own.view')) {
      branches.push({ id: { in: [...actor.grants.keys()] } });
    }
    if (branches.length === 0) return undefined;
    const where: Where<Device> = { anyOf: branches };
    if (filter.templateId) where.templateId = filter.templateId;
    if (filter.ownerId) where.ownerId = filter.ownerId;
    if (filter.status) where.status = filter.status;
    if (filter.activated !== undefined) where.activatedAt = filter.activated ? { ne: null } : null;
    return where;
  }

  /** NOT_FOUND for a device the actor may not see: its existence is not revealed. */
  async getVisible(actor: AuthenticatedActor, deviceId: string): Promise<Device> {
    const device = await this.deps.store.devices.get(deviceId);
    if (!device || !canViewDevice(actor, device)) {
      throw new TetherError(
        'DEVICE_NOT_FOUND',
        `Device ${deviceId} does not exist or is not visible to you.`,
      );
    }
    return device;
  }

  toPublic({ tokenHash: _hash, claimCodeHash: _claim, ...device }: Device): PublicDevice {
    return { ...device, online: this.#presence.isOnline(device.id) };
  }

  #remember(deviceId: string, failure: { code: string; message: string }): void {
    this.#failures.delete(deviceId);
    this.#failures.set(deviceId, failure);
    if (this.#failures.size > MAX_FAILURES)
      this.#failures.delete(this.#failures.keys().next().value as string);
  }

  #fail(deviceId: string, error: TetherError): void {
    this.#remember(deviceId, { code: error.code, message: error.message });
    this.deps.logger.warn({ deviceId, code: error.code }, error.message);
    this.deps.events.emit('device.activation-failed', { deviceId, code: error.code, message: error.message });
  }

  /** The template's datastream of that name; VALIDATION_FAILED when the template has none. */
  async #datastream(device: Device, name: string): Promise<Datastream> {
    return datastreamOf(device, await this.deps.store.templates.get(device.templateId), name);
  }

  async #require(deviceId: string): Promise<Device> {
    const device = await this.deps.store.devices.get(deviceId);
    if (!device) throw new TetherError('DEVICE_NOT_FOUND', `Device ${deviceId} does not exist.`);
    return device;
  }
}

/**
 * Each template's datastreams by name, built once per template row: rows are replaced, never
 * changed, so an edited template is a new key and the old map goes with the old row.
 */
const datastreamsByTemplate = new WeakMap<Template, ReadonlyMap<string, Datastream>>();

function datastreamNamed(template: Template, name: string): Datastream | undefined {
  let byName = datastreamsByTemplate.get(template);
  if (!byName) {
    byName = new Map(template.datastreams.map((d) => [d.name, d]));
    datastreamsByTemplate.set(template, byName);
  }
  return byName.get(name);
}

/** The device's template's datastream of that name; VALIDATION_FAILED when it has none. */
function datastreamOf(device: Device, template: Template | undefined, name: string): Datastream {
  const ds = template ? datastreamNamed(template, name) : undefined;
  if (!ds) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `Datastream ${name.slice(0, 64)} is not defined by template ${device.templateId}.`,
      { details: { datastream: name.slice(0, 64) } },
    );
  }
  return ds;
}

const sameFirmware = (a: Device['firmware'], b: NonNullable<Device['firmware']>): boolean =>
  a !== null && a.ver === b.ver && a.build === b.build && a.type === b.type;

const countProps = (props: Device['props']): number => {
  let n = 0;
  for (const perStream of Object.values(props ?? {})) n += Object.keys(perStream).length;
  return n;
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length <= 128 ? v : undefined);
