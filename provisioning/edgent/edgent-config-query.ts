/**
 * The /config query string, both ways, with one set of rules: the device side parses with them,
 * the companion checks with them before sending. Limits come from Edgent's ConfigStore (wifiSSID
 * and cloudToken 34 bytes, wifiPass 64, cloudHost 34) and from 802.11 (an SSID is at most 32 bytes).
 */
import { TetherError } from '../../shared/errors.js';
import type { EdgentConfig, EdgentStaticIp } from './edgent-types.js';

const TOKEN = /^[-_a-zA-Z0-9]{32}$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** The fields of Edgent's /config query this side reads; the others are ignored, as Edgent does. */
export const EDGENT_QUERY_FIELDS = [
  'ssid',
  'ssidManual',
  'pass',
  'blynk',
  'host',
  'port',
  'port_ssl',
  'save',
  'ip',
  'mask',
  'gw',
  'dns',
  'dns2',
] as const;
const KNOWN: ReadonlySet<string> = new Set(EDGENT_QUERY_FIELDS);
const MAX_QUERY = 2048;

const invalid = (message: string, field?: string): TetherError =>
  new TetherError('VALIDATION_FAILED', message, field === undefined ? {} : { details: { field } });

function parsePort(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw invalid(`"${field}" must be a port number from 1 to 65535.`, field);
  }
  return Number(value);
}

function parseIp(value: string | undefined, field: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!IPV4.test(value)) throw invalid(`"${field}" must be an IPv4 address.`, field);
  return value;
}

/** Validate a config (companion side, and the last step of parsing). */
export function validateEdgentConfig(config: EdgentConfig): EdgentConfig {
  if (config.ssid.length === 0)
    throw invalid('A Wi-Fi network name (ssid or ssidManual) is required.', 'ssid');
  if (Buffer.byteLength(config.ssid) > 32) throw invalid('A Wi-Fi network name is at most 32 bytes.', 'ssid');
  if (Buffer.byteLength(config.passphrase) > 64)
    throw invalid('A Wi-Fi password is at most 64 bytes.', 'pass');
  if (!TOKEN.test(config.token)) {
    throw invalid(
      'The device token ("blynk") must be 32 characters of letters, digits, "-" or "_".',
      'blynk',
    );
  }
  if (config.host !== undefined && !HOST.test(config.host)) {
    throw invalid('"host" must be a host name or IPv4 address of at most 63 characters.', 'host');
  }
  for (const [field, port] of [
    ['port', config.port],
    ['port_ssl', config.portSsl],
  ] as const) {
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw invalid(`"${field}" must be a port number from 1 to 65535.`, field);
    }
  }
  if (config.staticIp) {
    for (const field of ['ip', 'mask', 'gw', 'dns', 'dns2'] as const) {
      const value = config.staticIp[field];
      if (value !== undefined && !IPV4.test(value))
        throw invalid(`"${field}" must be an IPv4 address.`, field);
    }
  }
  return config;
}

/**
 * Parse the raw query string of GET /config (without the "?"). Malformed input is a
 * VALIDATION_FAILED with a message a person can read, never an exception of another kind.
 */
export function parseEdgentConfigQuery(rawQuery: string): EdgentConfig {
  if (rawQuery.length > MAX_QUERY) throw invalid(`The query string is longer than ${MAX_QUERY} characters.`);
  // URLSearchParams would pass a stray "%" through; Edgent's urlDecode would garble it. Say so instead.
  if (/%(?![0-9a-fA-F]{2})/.test(rawQuery)) throw invalid('The query string has a malformed %-escape.');
  const params = new URLSearchParams(rawQuery);
  const values = new Map<string, string>();
  for (const [key, value] of params) {
    if (!KNOWN.has(key)) continue; // Edgent ignores what it does not know; so do we
    if (values.has(key)) throw invalid(`"${key}" is given more than once.`, key);
    if (value.includes('\uFFFD')) throw invalid(`"${key}" is not valid UTF-8.`, key);
    if (hasControlCharacter(value)) throw invalid(`"${key}" contains control characters.`, key);
    values.set(key, value);
  }
  const get = (key: string) => values.get(key);
  const save = get('save');
  if (save !== undefined && save !== '' && !/^-?\d+$/.test(save))
    throw invalid('"save" must be 0 or 1.', 'save');

  const config: EdgentConfig = {
    // ConfigMode.h: a non-empty ssidManual wins over the picked ssid.
    ssid: get('ssidManual') || get('ssid') || '',
    passphrase: get('pass') ?? '',
    token: get('blynk') ?? '',
    save: save !== undefined && save !== '' && Number(save) !== 0,
  };
  const host = get('host');
  if (host) config.host = host;
  const port = parsePort(get('port'), 'port');
  if (port !== undefined) config.port = port;
  const portSsl = parsePort(get('port_ssl'), 'port_ssl');
  if (portSsl !== undefined) config.portSsl = portSsl;
  const ip = parseIp(get('ip'), 'ip');
  if (ip !== undefined) {
    const staticIp: EdgentStaticIp = { ip };
    for (const field of ['mask', 'gw', 'dns', 'dns2'] as const) {
      const value = parseIp(get(field), field);
      if (value !== undefined) staticIp[field] = value;
    }
    config.staticIp = staticIp;
  }
  return validateEdgentConfig(config);
}

/** The query string the companion sends (percent-encoded; no secrets are logged from it). */
export function buildEdgentConfigQuery(config: EdgentConfig): string {
  validateEdgentConfig(config);
  const pairs: [string, string][] = [
    ['ssid', config.ssid],
    ['pass', config.passphrase],
    ['blynk', config.token],
  ];
  if (config.host !== undefined) pairs.push(['host', config.host]);
  if (config.port !== undefined) pairs.push(['port', String(config.port)]);
  if (config.portSsl !== undefined) pairs.push(['port_ssl', String(config.portSsl)]);
  if (config.staticIp) {
    for (const field of ['ip', 'mask', 'gw', 'dns', 'dns2'] as const) {
      const value = config.staticIp[field];
      if (value !== undefined) pairs.push([field, value]);
    }
  }
  pairs.push(['save', config.save ? '1' : '0']);
  return pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
}

/** Control characters would be stored verbatim in the device's fixed-size config fields. */
const hasControlCharacter = (value: string): boolean =>
  [...value].some((c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 || code === 0x7f;
  });
