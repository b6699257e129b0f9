/**
 * What each uplink of Blynk's device MQTT API does. The broker has already authenticated the
 * device and checked the topic and the limits; this decides the meaning and answers on the
 * device's downlink. Every refusal is a coded diag on downlink/diag.
 */

import type { Clock } from '../../shared/clock.js';
import { isTetherError, TetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { ownValue } from '../../shared/own-keys.js';
import { downlink, type McuInfo, type Uplink } from '../../shared/topics.js';
import type { BrokerMetrics } from '../broker/broker-metrics.js';
import type { Store } from '../store/store.js';
import type { Device, GeoPoint } from '../store/types.js';
import { formatDatastreamValue } from './datastream-values.js';
import type { DeviceEventService } from './device-events.js';
import type { DeviceService } from './device-service.js';
import type { TimeZones } from './time-zones.js';

/** The broker's side of one device connection, as the handler needs it. */
export interface DeviceLink {
  readonly deviceId: string;
  /** Publish on the device's downlink. Throws PAYLOAD_TOO_LARGE over the device's rxbuff. */
  send(deviceTopic: string, payload: string, qos?: 0 | 1): void;
  /** Answer on downlink/diag. */
  diag(code: string, message: string): void;
  /** The receive buffer the device announced (info/mcu rxbuff): no downlink may be larger. */
  setReceiveBuffer(bytes: number | undefined): void;
  /** Close the connection; with `last`, after that diag has reached the device. */
  close(reason: string, last?: { code: string; message: string }): void;
}

const MAX_BATCH = 64;
/** Refusals after which the device is let go: it runs firmware that cannot work here. */
const CLOSING_CODES: ReadonlySet<string> = new Set(['TEMPLATE_MISMATCH', 'SECURITY_MISMATCH']);
/** rxbuff values outside this range are not a buffer size: ignored. */
const RXBUFF_MIN = 128;
const RXBUFF_MAX = 1 << 20;

export class UplinkHandler {
  constructor(
    private readonly deps: {
      devices: DeviceService;
      store: Store;
      clock: Clock;
      logger: Logger;
      metrics?: Pick<BrokerMetrics, 'refused'>;
      timeZones: TimeZones;
      deviceEvents: DeviceEventService;
    },
  ) {}

  /**
   * Handles one uplink: undefined when it was handled at once (a datastream value, with the store
   * holding its rows in memory: the telemetry hot path, no promise per message), else the promise
   * of its handling. Refusals are answered on diag either way; it rejects only for a bug. `now`:
   * the broker's clock reading for this message, when it has one (one reading per uplink).
   */
  handle(link: DeviceLink, uplink: Uplink, payload: Buffer, now?: number): Promise<void> | undefined {
    if (uplink.kind === 'ds') {
      const device = this.deps.store.devices.peek?.(link.deviceId);
      // A device gone or not activated: the general path closes or refuses.
      if (device && (device.status === 'active' || device.status === 'unclaimed')) {
        try {
          const raw = payload.toString('utf8');
          if (this.deps.devices.recordValueNow(device, uplink.name, raw, now)) return;
        } catch (error) {
          if (!isTetherError(error)) return Promise.reject(error);
          this.#refused(link, error);
          return;
        }
      }
    }
    return this.#handle(link, uplink, payload);
  }

  async #handle(link: DeviceLink, uplink: Uplink, payload: Buffer): Promise<void> {
    try {
      await this.#dispatch(link, uplink, payload);
    } catch (error) {
      if (!isTetherError(error)) throw error;
      this.#refused(link, error);
    }
  }

  /** A refusal, coded, on the device's diag; the ones firmware cannot get past close the link. */
  #refused(link: DeviceLink, error: TetherError): void {
    this.deps.metrics?.refused('uplink', error.code);
    if (CLOSING_CODES.has(error.code)) {
      link.close(error.message, { code: error.code, message: error.message });
      return;
    }
    link.diag(error.code, error.message);
  }

  async #dispatch(link: DeviceLink, uplink: Uplink, payload: Buffer): Promise<void> {
    const { devices, store } = this.deps;
    const device = await store.devices.get(link.deviceId);
    if (!device) return link.close('device deleted');
    if (uplink.kind === 'info-mcu') {
      const info = parseJson<McuInfo>(payload, 'info/mcu');
      const rxbuff = info.rxbuff;
      link.setReceiveBuffer(
        typeof rxbuff === 'number' && Number.isInteger(rxbuff) && rxbuff >= RXBUFF_MIN && rxbuff <= RXBUFF_MAX
          ? rxbuff
          : undefined,
      );
      await devices.handleInfoMcu(link.deviceId, info);
      return;
    }
    if (uplink.kind === 'get-utc') {
      const zone = await this.#timeZoneOf(device);
      link.send(downlink.utc, JSON.stringify(await this.deps.timeZones.answer(zone, this.deps.clock.now())));
      return;
    }
    if (device.status !== 'active' && device.status !== 'unclaimed') {
      throw new TetherError(
        'PERMISSION_DENIED',
        'The device is not activated yet: publish info/mcu with its template id first.',
      );
    }
    switch (uplink.kind) {
      case 'ds':
        await devices.recordValue(link.deviceId, uplink.name, payload.toString('utf8'), device);
        return;
      case 'ds-timestamped-batch':
        await devices.recordTimestampedBatch(
          link.deviceId,
          uplink.name,
          parseJsonValue(payload, uplink.name),
        );
        return;
      case 'batch-ds': {
        const values = parseJson<Record<string, unknown>>(payload, 'batch_ds');
        const entries = Object.entries(values);
        if (entries.length > MAX_BATCH)
          throw new TetherError('VALIDATION_FAILED', `batch_ds: at most ${MAX_BATCH} values.`);
        // Blynk's batch_ds sends booleans as true/false: Tether keeps them as 1/0 in an int stream.
        for (const [name, value] of entries) {
          await devices.recordValue(link.deviceId, name, batchValueText(name, value));
        }
        return;
      }
      case 'get-ds':
        return this.#answerValues(link, device, splitNames(payload), false);
      case 'get-ds-all':
        return this.#answerValues(link, device, undefined, true);
      case 'ds-erase':
        await devices.eraseValue(link.deviceId, uplink.name);
        return;
      case 'ds-prop':
        await devices.setProperty(link.deviceId, uplink.name, uplink.property, payload.toString('utf8'));
        return;
      case 'ds-prop-erase':
        await devices.eraseProperty(link.deviceId, uplink.name, uplink.property);
        return;
      case 'meta':
        await devices.setMeta(link.deviceId, uplink.field, payload.toString('utf8'));
        return;
      case 'get-meta': {
        for (const name of splitNames(payload)) {
          const value = await devices.metaValue(device, name);
          if (value !== undefined) this.#answer(link, downlink.meta(name), value);
        }
        return;
      }
      case 'get-loc': {
        const where = await this.#locationOf(device);
        if (!where) {
          throw new TetherError(
            'NOT_FOUND',
            'No location is known for this device: publish a location datastream, set its "Location" metadata, or set a location on its organization.',
          );
        }
        // Blynk: "Lat Lon GPS coordinates separated by comma".
        link.send(downlink.loc, `${where.lat},${where.lon}`);
        return;
      }
      case 'event':
        await this.deps.deviceEvents.record(device, uplink.code, payload.toString('utf8'));
        return;
    }
  }

  /**
   * get/ds (the names asked for) and get/ds/all (the datastreams whose "sync with latest server
   * value" is on): the latest value, else the template's default; names without either get
   * nothing, as Blynk.
   */
  async #answerValues(
    link: DeviceLink,
    device: Device,
    names: string[] | undefined,
    syncedOnly: boolean,
  ): Promise<void> {
    const template = await this.deps.store.templates.get(device.templateId);
    const datastreams = template?.datastreams ?? [];
    const wanted = names ?? datastreams.filter((d) => !syncedOnly || d.sync === true).map((d) => d.name);
    for (const name of wanted) {
      const ds = datastreams.find((d) => d.name === name);
      const entry = ownValue(device.values, name);
      const text = entry
        ? formatDatastreamValue(entry.value)
        : ds?.defaultValue !== undefined
          ? String(ds.defaultValue)
          : undefined;
      if (text !== undefined) this.#answer(link, downlink.ds(name), text);
    }
  }

  /** One answer of several: one that does not fit the device's buffer is skipped with a diag. */
  #answer(link: DeviceLink, topic: string, payload: string): void {
    try {
      link.send(topic, payload);
    } catch (error) {
      if (!isTetherError(error)) throw error;
      link.diag(error.code, error.message);
    }
  }

  /**
   * Where the device is: its location datastream's latest value (longitude first, as Blynk
   * stores it), else its "Location" metadata ("lat,lon"), else its organization's location.
   */
  async #locationOf(device: Device): Promise<GeoPoint | undefined> {
    return (await this.#ownLocation(device)) ?? (await this.deps.store.orgs.get(device.orgId))?.location;
  }

  async #ownLocation(device: Device): Promise<GeoPoint | undefined> {
    const template = await this.deps.store.templates.get(device.templateId);
    for (const ds of template?.datastreams ?? []) {
      if (ds.type !== 'location') continue;
      const value = ownValue(device.values, ds.name)?.value;
      if (Array.isArray(value)) return { lon: value[0], lat: value[1] };
    }
    return parseLatLon(ownValue(device.meta, 'Location'));
  }

  /**
   * Blynk's order: the zone at the device's location, then its "Time Zone" metadata, then its
   * organization's time zone, then UTC.
   */
  async #timeZoneOf(device: Device): Promise<string> {
    const { timeZones } = this.deps;
    const where = await this.#ownLocation(device);
    const atLocation = where ? await timeZones.zoneAt(where.lat, where.lon) : undefined;
    if (atLocation) return atLocation;
    const meta = ownValue(device.meta, 'Time Zone')?.trim();
    if (meta && timeZones.isZone(meta)) return meta;
    const org = await this.deps.store.orgs.get(device.orgId);
    if (org?.timezone && timeZones.isZone(org.timezone)) return org.timezone;
    return 'UTC';
  }
}

/** `get/ds` and `get/meta` payloads: names separated by commas (Blynk). */
const splitNames = (payload: Buffer): string[] =>
  payload
    .toString('utf8')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean)
    .slice(0, MAX_BATCH);

/** "lat,lon" (comma or NUL between), within range; undefined otherwise. */
function parseLatLon(text: string | undefined): GeoPoint | undefined {
  const parts = text?.split(/[,\0]/).map((p) => Number(p.trim()));
  if (parts?.length !== 2) return undefined;
  const [lat, lon] = parts as [number, number];
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180)
    return undefined;
  return { lat, lon };
}

function parseJson<T>(payload: Buffer, topic: string): T {
  const value = parseJsonValue(payload, topic);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TetherError('VALIDATION_FAILED', `${topic}: the payload must be a JSON object.`);
  return value as T;
}

function parseJsonValue(payload: Buffer, topic: string): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    throw new TetherError('VALIDATION_FAILED', `${topic}: the payload is not JSON.`);
  }
}

/**
 * One batch_ds value as the text a ds/<name> publish would carry. Only scalars and lists of them
 * are values: an object (say one whose toString is null) is refused, never stringified.
 */
function batchValueText(name: string, value: unknown): string {
  const scalar = (v: unknown): string | undefined =>
    typeof v === 'boolean'
      ? v
        ? '1'
        : '0'
      : typeof v === 'number' || typeof v === 'string'
        ? String(v)
        : undefined;
  const parts = Array.isArray(value) ? value.map(scalar) : [scalar(value)];
  if (parts.some((p) => p === undefined))
    throw new TetherError(
      'VALIDATION_FAILED',
      `batch_ds: the value of ${JSON.stringify(name.slice(0, 80))} must be a number, a string, true or false, or a list of them.`,
    );
  return parts.join(',');
}
