/**
 * Blynk's virtual pins, V0 to V255: Blynk's HTTPS API and its scripts address a datastream by its
 * pin (`v1`, `V1`), where the MQTT API uses its name. A template may give each datastream one.
 */
import { TetherError } from '../../shared/errors.js';
import type { Datastream } from '../store/types.js';

/** "V0".."V255", either case, no leading zeros. */
export const VIRTUAL_PIN_PATTERN = '^[Vv](?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])$';
const VIRTUAL_PIN = new RegExp(VIRTUAL_PIN_PATTERN);

export const isVirtualPin = (text: string): boolean => VIRTUAL_PIN.test(text);

/** A template's datastreams with their pins written as Blynk does ("V1"); two alike are refused. */
export function normalizePins(datastreams: readonly Datastream[]): Datastream[] {
  const seen = new Map<string, string>();
  return datastreams.map((ds) => {
    if (ds.pin === undefined) return ds;
    if (!isVirtualPin(ds.pin)) {
      throw new TetherError('VALIDATION_FAILED', `Datastream ${ds.name}: pin must be V0 to V255.`);
    }
    const pin = ds.pin.toUpperCase();
    const other = seen.get(pin);
    if (other !== undefined) {
      throw new TetherError('VALIDATION_FAILED', `Datastreams ${other} and ${ds.name} both use pin ${pin}.`);
    }
    seen.set(pin, ds.name);
    return { ...ds, pin };
  });
}

/** The datastream a pin (any case) names, if the template gives one that pin. */
export const datastreamOfPin = (datastreams: readonly Datastream[], pin: string): Datastream | undefined =>
  datastreams.find((ds) => ds.pin !== undefined && ds.pin === pin.toUpperCase());
