/**
 * The topic map of Blynk's device MQTT API (blynk.cloud device MQTT API), as a device sees it, and
 * the internal namespace the broker maps each device into. A device never sees a device id: it
 * publishes `ds/temp`, the broker routes `d/<deviceId>/ds/temp`; the gateway publishes
 * `d/<deviceId>/downlink/ds/temp`, the device receives `downlink/ds/temp`.
 */

export type Uplink =
  | { kind: 'info-mcu' }
  | { kind: 'ds'; name: string }
  | { kind: 'ds-erase'; name: string }
  | { kind: 'ds-timestamped-batch'; name: string }
  | { kind: 'ds-prop'; name: string; property: string }
  | { kind: 'ds-prop-erase'; name: string; property: string }
  | { kind: 'batch-ds' }
  | { kind: 'event'; code: string }
  | { kind: 'meta'; field: string }
  | { kind: 'get-ds' }
  | { kind: 'get-meta' }
  | { kind: 'get-ds-all' }
  | { kind: 'get-utc' }
  | { kind: 'get-loc' };

export type UplinkKind = Uplink['kind'];

/**
 * Datastream and metadata names as Blynk accepts them: "Set Temperature", "Serial Number",
 * "Температура". Up to 64 characters; none of MQTT's separators and wildcards (`/ + #`), no
 * comma (get/ds and get/meta list names with commas), no control or invisible format
 * characters (NUL, escapes, bidi marks), no space at either end, and not dots only.
 */
export const NAME_PATTERN = '^(?=[^\\s])(?!\\.+$)[^\\p{C}/+#,]{1,64}(?<=[^\\s])$';
const NAME = new RegExp(NAME_PATTERN, 'u');

/** A datastream or metadata name a device or a person may use. */
export const isName = (value: string | undefined): value is string => value !== undefined && NAME.test(value);

/** Event codes and widget property names: identifiers (Blynk: `temp_is_high`, `isDisabled`). */
const SEGMENT = /^[A-Za-z0-9_\-.:]{1,64}$/;
const DOTS = /^\.+$/;
const segment = (value: string | undefined): value is string =>
  value !== undefined && SEGMENT.test(value) && !DOTS.test(value);

/** An event code (`event/<code>`) or widget property name. */
export const isEventCode = segment;

/** Parse a device's uplink topic; null for anything the API does not define (deny by default). */
export function parseUplink(topic: string): Uplink | null {
  switch (topic) {
    case 'info/mcu':
      return { kind: 'info-mcu' };
    case 'batch_ds':
      return { kind: 'batch-ds' };
    case 'get/ds':
      return { kind: 'get-ds' };
    case 'get/ds/all':
      return { kind: 'get-ds-all' };
    case 'get/meta':
      return { kind: 'get-meta' };
    case 'get/utc/all/json':
      return { kind: 'get-utc' };
    case 'get/loc/all':
      return { kind: 'get-loc' };
  }
  const parts = topic.split('/');
  const [head, name, third, fourth, fifth] = parts;
  if (head === 'ds' && isName(name)) {
    if (parts.length === 2) return { kind: 'ds', name };
    if (parts.length === 3 && third === 'erase') return { kind: 'ds-erase', name };
    if (parts.length === 3 && third === 'timestamped_batch') return { kind: 'ds-timestamped-batch', name };
    if (third !== 'prop' || !segment(fourth)) return null;
    if (parts.length === 4) return { kind: 'ds-prop', name, property: fourth };
    if (parts.length === 5 && fifth === 'erase') return { kind: 'ds-prop-erase', name, property: fourth };
    return null;
  }
  if (parts.length !== 2) return null;
  if (head === 'event' && segment(name)) return { kind: 'event', code: name };
  if (head === 'meta' && isName(name)) return { kind: 'meta', field: name };
  return null;
}

export const DOWNLINK_PREFIX = 'downlink/';
/** The one subscription filter a device needs; a device may subscribe only at or below it. */
export const DOWNLINK_FILTER = 'downlink/#';

/** Downlink topics, as the device sees them. */
export const downlink = {
  ds: (name: string) => `downlink/ds/${name}`,
  meta: (field: string) => `downlink/meta/${field}`,
  reconfigure: 'downlink/reconfigure',
  reboot: 'downlink/reboot',
  ping: 'downlink/ping',
  redirect: 'downlink/redirect',
  diag: 'downlink/diag',
  utc: 'downlink/utc/all/json',
  loc: 'downlink/loc/all',
  /**
   * Beyond Blynk: the device was deleted at the gateway; it should erase its token and Wi-Fi
   * credentials and return to factory state. Sent just before the connection is dropped.
   */
  wipe: 'downlink/wipe',
} as const;

/** A device may subscribe to `downlink/#` or any filter below `downlink/`, nothing else. */
export function isAllowedDeviceSubscription(filter: string): boolean {
  if (filter === DOWNLINK_FILTER) return true;
  if (!filter.startsWith(DOWNLINK_PREFIX) || filter.length > 256) return false;
  const rest = filter.slice(DOWNLINK_PREFIX.length).split('/');
  return rest.every((part, i) => part === '+' || (part === '#' && i === rest.length - 1) || isName(part));
}

/**
 * Whether a topic filter matches a topic (MQTT 3.1.1 §4.7): `+` is one level, a trailing `#` any
 * number of them, the parent level included (`a/#` matches `a`).
 */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i];
    if (level === '#') return true;
    if (i >= topicLevels.length || (level !== '+' && level !== topicLevels[i])) return false;
  }
  return filterLevels.length === topicLevels.length;
}

/** The broker's internal namespace. */
const INTERNAL_PREFIX = 'd/';

export const internalTopic = (deviceId: string, deviceTopic: string): string =>
  `${INTERNAL_PREFIX}${deviceId}/${deviceTopic}`;

/** Strip the internal prefix of a device's own namespace; null if the topic is not in it. */
export function deviceTopicOf(deviceId: string, internal: string): string | null {
  const prefix = `${INTERNAL_PREFIX}${deviceId}/`;
  return internal.startsWith(prefix) ? internal.slice(prefix.length) : null;
}

/** The Blynk `info/mcu` payload (beyond Blynk: `hwid`, `provsec`). */
export interface McuInfo {
  tmpl?: string;
  ver?: string;
  build?: string;
  type?: string;
  /** The device's MQTT receive buffer in bytes: no downlink may be larger. */
  rxbuff?: number;
  /** Tether: a stable hardware id (MAC, serial). */
  hwid?: string;
  /**
   * Tether: the security level (0, 1, 2) of the provisioning session that delivered the token.
   * Stock Blynk firmware sends none; the gateway then records the device as "security unknown".
   */
  provsec?: number;
  [key: string]: unknown;
}
