/**
 * What each uplink of Blynk's device MQTT API does. The broker has already authenticated the
 * device and checked the topic; this decides the meaning and answers on the device's downlink.
 */

import type { Clock } from '../../shared/clock.js';
import { isTetherError, TetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { ownValue } from '../../shared/own-keys.js';
import { downlink, type McuInfo, type Uplink } from '../../shared/topics.js';
import type { BrokerMetrics } from '../broker/broker-metrics.js';
import type { Store } from '../store/store.js';
import { formatDatastreamValue } from './datastream-values.js';
import type { DeviceService } from './device-service.js';

/** The broker's side of one device connection, as the handler needs it. */
export interface DeviceLink {
  readonly deviceId: string;
  send(deviceTopic: string, payload: string, qos?: 0 | 1): void;
  /** Close the connection after telling the device why on downlink/diag. */
  close(reason: string): void;
}

const MAX_BATCH = 64;

export class UplinkHandler {
  constructor(
    private readonly deps: {
      devices: DeviceService;
      store: Store;
      clock: Clock;
      logger: Logger;
      metrics?: Pick<BrokerMetrics, 'refused'>;
    },
  ) {}

  async handle(link: DeviceLink, uplink: Uplink, payload: Buffer): Promise<void> {
    try {
      await this.#dispatch(link, uplink, payload);
    } catch (error) {
      if (!isTetherError(error)) throw error;
      this.deps.metrics?.refused('uplink', error.code);
      link.send(downlink.diag, JSON.stringify({ code: error.code, message: error.message }));
      if (error.code === 'TEMPLATE_MISMATCH' || error.code === 'SECURITY_MISMATCH') link.close(error.message);
    }
  }

  async #dispatch(link: DeviceLink, uplink: Uplink, payload: Buffer): Promise<void> {
    const { devices, store, clock } = this.deps;
    const device = await store.devices.get(link.deviceId);
    if (!device) return link.close('device deleted');
    if (uplink.kind === 'info-mcu') {
      await devices.handleInfoMcu(link.deviceId, parseJson<McuInfo>(payload, 'info/mcu'));
      return;
    }
    if (uplink.kind === 'get-utc') {
      const now = clock.now();
      link.send(downlink.utc, JSON.stringify({ time: now, iso: new Date(now).toISOString(), tz: 'UTC' }));
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
        await devices.recordValue(link.deviceId, uplink.name, payload.toString('utf8'));
        return;
      case 'batch-ds': {
        const values = parseJson<Record<string, unknown>>(payload, 'batch_ds');
        const entries = Object.entries(values);
        if (entries.length > MAX_BATCH)
          throw new TetherError('VALIDATION_FAILED', `batch_ds: at most ${MAX_BATCH} values.`);
        // Blynk's batch_ds sends booleans as true/false: Tether keeps them as 1/0 in an int stream.
        for (const [name, value] of entries) {
          const raw = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
          await devices.recordValue(link.deviceId, name, raw);
        }
        return;
      }
      case 'get-ds':
      case 'get-ds-all': {
        const template = await store.templates.get(device.templateId);
        const defaults = new Map(
          (template?.datastreams ?? [])
            .filter((d) => d.defaultValue !== undefined)
            .map((d) => [d.name, String(d.defaultValue)]),
        );
        const names =
          uplink.kind === 'get-ds-all'
            ? [...new Set([...Object.keys(device.values), ...defaults.keys()])]
            : splitNames(payload);
        for (const name of names) {
          const entry = ownValue(device.values, name);
          // A datastream never set answers with the template's default, if it has one.
          const text = entry ? formatDatastreamValue(entry.value) : defaults.get(name);
          if (text !== undefined) link.send(downlink.ds(name), text);
        }
        return;
      }
      case 'ds-erase':
        await devices.eraseValue(link.deviceId, uplink.name);
        return;
      case 'ds-prop':
        await devices.setProperty(link.deviceId, uplink.name, uplink.property, payload.toString('utf8'));
        return;
      case 'meta':
        await devices.setMeta(link.deviceId, uplink.field, payload.toString('utf8'));
        return;
      case 'get-meta': {
        const names = splitNames(payload);
        for (const name of names) {
          const value = await devices.metaValue(device, name);
          if (value !== undefined) link.send(downlink.meta(name), value);
        }
        return;
      }
      case 'event':
        devices.recordEvent(device, uplink.code, payload.toString('utf8'));
        return;
    }
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

function parseJson<T>(payload: Buffer, topic: string): T {
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as T;
  } catch {
    throw new TetherError('VALIDATION_FAILED', `${topic}: the payload must be a JSON object.`);
  }
}
