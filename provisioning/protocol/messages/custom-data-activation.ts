/**
 * Activation data on ESP-IDF's standard `custom-data` endpoint, so that stock tools deliver it:
 * `esp_prov.py --custom_data '<json>'` encrypts the text with the session's security and posts it
 * to `custom-data` after the secure session and before the Wi-Fi credentials (esp-idf v5.x
 * tools/esp_prov: custom_prov.custom_data_request / custom_data_response).
 *
 * Payload (UTF-8 JSON, one object, at most 1024 bytes):
 *   {"token":"<device token>","broker":"mqtt://host:1883","template":"TMPL…"}
 * Answer when the device took it (esp_prov prints it as `CustomData response: b'…'`):
 *   {"status":"ok","hardwareId":"24:6F:28:…"}
 * A refusal is an error, not an answer: esp_prov prints every answer as success, so the device
 * fails the request instead (SoftAP: an HTTP error status), which makes esp_prov stop before it
 * sends the Wi-Fi credentials ("Error in custom data", exit status 1).
 */
import { TetherError } from '../../../shared/errors.js';
import type { ActivationRequest } from './activation-messages.js';

/** The JSON keys of the payload, in the order `tether provision token` prints them. */
const KEYS = ['token', 'broker', 'template'] as const;
export const MAX_CUSTOM_DATA_BYTES = 1024;

/** The text to pass to `esp_prov.py --custom_data`. */
export const encodeCustomDataActivation = (request: ActivationRequest): string =>
  JSON.stringify({ token: request.token, broker: request.brokerUrl, template: request.templateId });

/** The device's reading of the payload; VALIDATION_FAILED says what is wrong with it. */
export function decodeCustomDataActivation(bytes: Uint8Array): ActivationRequest {
  const fail = (why: string): never => {
    throw new TetherError(
      'VALIDATION_FAILED',
      `custom-data: ${why} Send {"token":"…","broker":"mqtt://host:port","template":"TMPL…"}.`,
    );
  };
  if (bytes.length > MAX_CUSTOM_DATA_BYTES) fail(`more than ${MAX_CUSTOM_DATA_BYTES} bytes.`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return fail('not JSON text.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a JSON object.');
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !(KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) fail(`unknown field ${JSON.stringify(unknown[0]!.slice(0, 32))}.`);
  const text = (key: (typeof KEYS)[number]): string => {
    const field = Object.hasOwn(record, key) ? record[key] : undefined;
    return typeof field === 'string' ? field : fail(`"${key}" must be a string.`);
  };
  return { token: text('token'), brokerUrl: text('broker'), templateId: text('template') };
}

export const encodeCustomDataAnswer = (hardwareId: string): Uint8Array =>
  new TextEncoder().encode(JSON.stringify({ status: 'ok', hardwareId }));
