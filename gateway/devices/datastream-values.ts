/** Checking a datastream value a device sent against its template (type and range). */
import { TetherError } from '../../shared/errors.js';
import type { Datastream, DatastreamValue } from '../store/types.js';

const MAX_STRING = 255;

/** Parse the raw MQTT payload of `ds/<name>`; throws VALIDATION_FAILED with a reason the device can log. */
export function parseDatastreamValue(ds: Datastream, raw: string): DatastreamValue {
  const fail = (why: string): never => {
    throw new TetherError('VALIDATION_FAILED', `Datastream ${ds.name}: ${why}`, {
      details: { datastream: ds.name },
    });
  };
  const text = raw.trim();
  switch (ds.type) {
    case 'int':
    case 'double': {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) return fail(`"${text.slice(0, 32)}" is not a number.`);
      if (ds.type === 'int' && !Number.isInteger(n)) return fail(`${n} is not an integer.`);
      if (ds.min !== undefined && n < ds.min) return fail(`${n} is below the minimum ${ds.min}.`);
      if (ds.max !== undefined && n > ds.max) return fail(`${n} is above the maximum ${ds.max}.`);
      return n;
    }
    case 'string':
      if (raw.length > MAX_STRING) return fail(`longer than ${MAX_STRING} characters.`);
      return raw;
    case 'enum':
      if (!ds.values?.includes(text))
        return fail(`"${text.slice(0, 32)}" is not one of ${ds.values?.join(', ')}.`);
      return text;
    case 'location': {
      // Two numbers, longitude first, NUL-separated as Blynk's multi-value payloads (a comma is
      // taken too).
      const parts = text.split(/[,\0]/).map(Number);
      const [lon, lat] = parts;
      if (
        parts.length !== 2 ||
        lon === undefined ||
        lat === undefined ||
        !Number.isFinite(lon) ||
        !Number.isFinite(lat)
      )
        return fail('expected "longitude,latitude".');
      if (Math.abs(lon) > 180 || Math.abs(lat) > 90) return fail('coordinates out of range.');
      return [lon, lat];
    }
  }
}

/** A value as a downlink carries it: multi-value items separated by NUL, as Blynk does. */
export const formatDatastreamValue = (value: DatastreamValue): string =>
  Array.isArray(value) ? value.join(MULTI_VALUE_SEPARATOR) : String(value);

/** Blynk's separator between the items of a multi-value payload (datastreams and properties). */
export const MULTI_VALUE_SEPARATOR = '\0';
