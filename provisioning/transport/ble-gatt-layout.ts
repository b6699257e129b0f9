/**
 * How an ESP-IDF provisioning device lays out its GATT service, and how a central finds the
 * endpoints in it. Pure functions: the simulated BLE medium and the noble adapter share them.
 *
 * esp-idf protocomm_ble: one 128-bit primary service; one characteristic per protocomm endpoint,
 * whose UUID is the service UUID with bytes 12–13 of its little-endian `uuid128` array replaced by
 * a 16-bit id, and whose Characteristic User Description (0x2901) is the endpoint name. Clients
 * (esp_prov, the Espressif phone apps) map endpoints by that description, never by the UUID.
 */
import { TetherError } from '../../shared/errors.js';

/** The service UUID of Espressif's examples (wifi_prov_mgr): a default, products set their own. */
export const ESP_PROV_EXAMPLE_SERVICE_UUID = '021a9004-0382-4aea-bff4-6b3f1c5adfb4';

/** The GATT descriptor that carries a characteristic's endpoint name (Bluetooth Core, Vol 3 Part G 3.3.3.2). */
export const USER_DESCRIPTION_DESCRIPTOR_UUID = '2901';

/**
 * 16-bit ids wifi_prov_mgr gives its standard endpoints. Only cosmetic: the mapping goes through
 * the user description, so other endpoints simply take the next free ids.
 */
const STANDARD_ENDPOINT_IDS: ReadonlyMap<string, number> = new Map([
  ['prov-scan', 0xff50],
  ['prov-session', 0xff51],
  ['prov-config', 0xff52],
  ['proto-ver', 0xff53],
]);
const FIRST_CUSTOM_ENDPOINT_ID = 0xff54;

export interface GattCharacteristicInfo {
  /** Canonical lower-case 128-bit UUID string, or the 16-bit short form as noble reports it. */
  uuid: string;
  /** The value of the characteristic's 0x2901 descriptor, when it has one. */
  userDescription?: string;
}

const UUID128 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Lower-case dashed form of a 128-bit UUID (noble reports them without dashes). */
export function normalizeUuid(uuid: string): string {
  const trimmed = uuid.trim().toLowerCase();
  if (!UUID128.test(trimmed)) {
    // 16- and 32-bit UUIDs stay short: noble reports them that way.
    if (/^[0-9a-f]{4}$|^[0-9a-f]{8}$/.test(trimmed)) return trimmed;
    throw new TetherError('VALIDATION_FAILED', `"${uuid}" is not a Bluetooth UUID.`);
  }
  const hex = trimmed.replaceAll('-', '');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** noble wants UUIDs as 32 hex digits without dashes. */
export const compactUuid = (uuid: string): string => normalizeUuid(uuid).replaceAll('-', '');

/**
 * The characteristic UUID for a 16-bit id inside a service. esp-idf stores uuid128 little-endian, so
 * its bytes 12 and 13 are bytes 3 and 2 of the canonical (big-endian) string form.
 */
export function characteristicUuid(serviceUuid: string, id16: number): string {
  if (!Number.isInteger(id16) || id16 < 0 || id16 > 0xffff) {
    throw new TetherError('VALIDATION_FAILED', `A 16-bit characteristic id must be 0–0xffff, got ${id16}.`);
  }
  const service = normalizeUuid(serviceUuid);
  if (service.length !== 36) {
    throw new TetherError('VALIDATION_FAILED', 'A provisioning service needs a 128-bit UUID.');
  }
  const hex = service.replaceAll('-', '');
  const replaced = hex.slice(0, 4) + id16.toString(16).padStart(4, '0') + hex.slice(8);
  return normalizeUuid(replaced);
}

/** The characteristics a device with these endpoints exposes, in esp-idf's layout. */
export function endpointCharacteristics(
  serviceUuid: string,
  endpoints: readonly string[],
): Required<GattCharacteristicInfo>[] {
  const seen = new Set<string>();
  const used = new Set<number>();
  let nextCustom = FIRST_CUSTOM_ENDPOINT_ID;
  const out: Required<GattCharacteristicInfo>[] = [];
  for (const name of endpoints) {
    if (name.length === 0 || seen.has(name)) {
      throw new TetherError('VALIDATION_FAILED', `Endpoint names must be unique and non-empty ("${name}").`);
    }
    seen.add(name);
    let id = STANDARD_ENDPOINT_IDS.get(name);
    if (id === undefined || used.has(id)) {
      while (used.has(nextCustom) || [...STANDARD_ENDPOINT_IDS.values()].includes(nextCustom)) nextCustom++;
      id = nextCustom++;
    }
    used.add(id);
    out.push({ uuid: characteristicUuid(serviceUuid, id), userDescription: name });
  }
  return out;
}

/**
 * endpoint name → characteristic UUID, read from the user descriptions the central found.
 * A characteristic without a description is skipped (a device may expose others); two
 * characteristics claiming the same endpoint is a device fault we refuse to guess around.
 */
export function mapEndpointsByUserDescription(
  characteristics: readonly GattCharacteristicInfo[],
): Map<string, string> {
  const map = new Map<string, string>();
  for (const c of characteristics) {
    const name = c.userDescription?.replace(/\0+$/, '').trim();
    if (!name) continue;
    if (map.has(name)) {
      throw new TetherError(
        'PROTOCOL_ERROR',
        `The device names two characteristics "${name}"; it is not a valid provisioning service.`,
      );
    }
    map.set(name, normalizeUuid(c.uuid));
  }
  return map;
}
