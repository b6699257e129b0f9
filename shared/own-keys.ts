/**
 * Reading a record by a key that came from outside (a datastream name, a metadata field, a widget
 * property). Stored records are plain JSON objects, so `record[key]` would also find what every
 * object inherits: `constructor`, `toString`, `__proto__`. Only the record's own keys count.
 */

/** The value `record` holds under its own `key`; undefined for a missing or inherited one. */
export function ownValue<T>(
  record: Readonly<Record<string, T>> | null | undefined,
  key: string,
): T | undefined {
  return record != null && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Whether `record` holds `key` itself (not through its prototype). */
export const hasOwnKey = (record: object | null | undefined, key: string): boolean =>
  record != null && Object.hasOwn(record, key);
