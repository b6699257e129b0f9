/** Wi-Fi facts shared by prov-config and prov-scan (esp-idf wifi_constants.proto), in Tether's words. */
import { TetherError } from '../../../shared/errors.js';

/** WifiAuthMode, in wire order. */
export const WIFI_AUTH_MODES = [
  'open',
  'wep',
  'wpa-psk',
  'wpa2-psk',
  'wpa-wpa2-psk',
  'wpa2-enterprise',
  'wpa3-psk',
  'wpa2-wpa3-psk',
] as const;
export type WifiAuthMode = (typeof WIFI_AUTH_MODES)[number];

/** WifiStationState, in wire order. */
export const WIFI_STATION_STATES = ['connected', 'connecting', 'disconnected', 'failed'] as const;
export type WifiStationState = (typeof WIFI_STATION_STATES)[number];

/** WifiConnectFailedReason, in wire order. */
export const WIFI_FAIL_REASONS = ['auth-error', 'network-not-found'] as const;
export type WifiFailReason = (typeof WIFI_FAIL_REASONS)[number];

export const authModeCode = (mode: WifiAuthMode): number => WIFI_AUTH_MODES.indexOf(mode);
/** An auth mode from the wire; a value newer than this list reads as 'open' only if it is 0. */
export const authModeFrom = (code: number): WifiAuthMode | 'unknown' => WIFI_AUTH_MODES[code] ?? 'unknown';

const text = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: false });

export const toBytes = (value: string): Uint8Array => text.encode(value);
/** SSIDs come NUL-padded from some firmware (esp_prov strips trailing NULs too). */
export const fromBytes = (value: Uint8Array): string => utf8.decode(value).replace(/\0+$/, '');

/** 'aa:bb:cc:dd:ee:ff' from 6 bytes; '' for none. */
export function bssidToString(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** 6 bytes from 'aa:bb:cc:dd:ee:ff' (or 'aabbccddeeff'); empty for ''. */
export function bssidFromString(value: string): Uint8Array {
  if (value === '') return new Uint8Array(0);
  const hex = value.replace(/[:-]/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `"${value}" is not a BSSID: expected six hex bytes like aa:bb:cc:dd:ee:ff.`,
    );
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
