/**
 * Blynk.Edgent legacy provisioning (open access point, plaintext HTTP), as the Blynk library's
 * Edgent examples implement it (blynk-library examples/Blynk.Edgent/Edgent_ESP32: ConfigMode.h,
 * ConfigStore.h): the JSON shapes on the wire and the last_error codes, and what each code means
 * to a person, as a stable TetherError.
 */
import {
  type EdgentFailureCode,
  EdgentLastError,
  type EdgentLastErrorCode,
  isEdgentLastErrorCode,
} from '../../shared/edgent-errors.js';
import { TetherError } from '../../shared/errors.js';

export { type EdgentFailureCode, EdgentLastError, type EdgentLastErrorCode, isEdgentLastErrorCode };

/** GET /board_info.json, as Edgent sends it; `cfg_*` are Tether's additions (ignored by Blynk apps). */
export interface EdgentBoardInfoJson {
  board: string;
  tmpl_id: string;
  fw_type: string;
  fw_ver: string;
  /** The device's own access point name. */
  ssid: string;
  bssid: string;
  mac: string;
  last_error: number;
  wifi_scan: boolean;
  static_ip: boolean;
  /** Tether: how many /config requests this boot has accepted. */
  cfg_attempt?: number;
  /** Tether: where the latest of them stands. */
  cfg_state?: EdgentConfigState;
}

export type EdgentConfigState = 'idle' | 'applying' | 'applied' | 'failed';

/** One entry of GET /wifi_scan.json. */
export interface EdgentWifiNetworkJson {
  ssid: string;
  bssid: string;
  rssi: number;
  /** "OPEN", "WEP", "WPA", "WPA2", "WPA+WPA2", "WPA2-EAP", "WPA3", "WPA2+WPA3", "WAPI", "unknown" */
  sec: string;
  ch: number;
}

/** The status answer of /config, /reset and /reboot. */
export interface EdgentStatusJson {
  status: 'ok' | 'error';
  msg: string;
}

/** What the firmware knows about itself (the device side's view of board_info). */
export interface EdgentBoardDescription {
  board: string;
  templateId: string;
  firmwareType: string;
  firmwareVersion: string;
  apSsid: string;
  apBssid: string;
  mac: string;
  lastError: EdgentLastErrorCode;
  /** Whether /config accepts ip/mask/gw/dns (default true, as Edgent for ESP32). */
  staticIp?: boolean;
}

export interface EdgentWifiNetwork {
  ssid: string;
  bssid: string;
  rssi: number;
  security: string;
  channel: number;
}

export interface EdgentStaticIp {
  ip: string;
  mask?: string;
  gw?: string;
  dns?: string;
  dns2?: string;
}

/** A validated /config request. */
export interface EdgentConfig {
  ssid: string;
  passphrase: string;
  token: string;
  host?: string;
  /** `port` (plain MQTT/TCP, older Edgent) */
  port?: number;
  /** `port_ssl` (TLS, Edgent for ESP32) */
  portSsl?: number;
  /** `save=1`: store the config as valid at once, before the first cloud connection. */
  save: boolean;
  staticIp?: EdgentStaticIp;
}

export type EdgentApplyResult = { ok: true } | { ok: false; lastError: EdgentFailureCode; message?: string };

/** What the firmware-sim implements to serve Edgent provisioning. */
export interface EdgentDeviceHandler {
  boardInfo(): EdgentBoardDescription | Promise<EdgentBoardDescription>;
  scanWifi(): Promise<EdgentWifiNetwork[]>;
  /** Join Wi-Fi and reach the cloud with this config; the result is also the device's new last_error. */
  applyConfig(config: EdgentConfig): Promise<EdgentApplyResult>;
  /** GET /reset: forget the configuration (MODE_RESET_CONFIG). */
  resetConfig(): Promise<void>;
  /** GET /reboot: restart (after the answer has been sent). */
  reboot(): Promise<void>;
}

export interface EdgentErrorContext {
  /** The SSID the companion configured. */
  ssid?: string;
  /** SSIDs the device saw in its last scan: tells "wrong password" from "not in range" for 701. */
  scannedSsids?: readonly string[];
}

/**
 * A device's last_error as a TetherError a person can act on; undefined for 0 (no error).
 * Edgent folds "wrong password" and "network not found" into 701; the scan tells them apart.
 */
export function edgentErrorToTetherError(
  lastError: number,
  context: EdgentErrorContext = {},
): TetherError | undefined {
  const details = { edgentError: lastError, ...(context.ssid === undefined ? {} : { ssid: context.ssid }) };
  switch (lastError) {
    case EdgentLastError.none:
      return undefined;
    case EdgentLastError.config:
      return new TetherError(
        'VALIDATION_FAILED',
        'The device rejected the configuration (Edgent error 700). Check the token and any static IP settings.',
        { details },
      );
    case EdgentLastError.network: {
      const inRange = context.ssid !== undefined && context.scannedSsids?.includes(context.ssid);
      if (context.scannedSsids !== undefined && context.ssid !== undefined && !inRange) {
        return new TetherError(
          'WIFI_NETWORK_NOT_FOUND',
          `The device cannot see the Wi-Fi network "${context.ssid}" (Edgent error 701). Move it closer or pick another network.`,
          { details },
        );
      }
      return new TetherError(
        'WIFI_AUTH_FAILED',
        `The device could not join the Wi-Fi network${context.ssid ? ` "${context.ssid}"` : ''} (Edgent error 701). Check the password and send it again.`,
        { details },
      );
    }
    case EdgentLastError.cloud:
      return new TetherError(
        'GATEWAY_UNREACHABLE',
        'The device joined Wi-Fi but could not reach the server (Edgent error 702). Check the host and port, and that this network allows the connection.',
        { details },
      );
    case EdgentLastError.token:
      return new TetherError(
        'TOKEN_INVALID',
        'The server refused the device token (Edgent error 703). Start a new activation to get a fresh token.',
        { details },
      );
    case EdgentLastError.internal:
      return new TetherError('INTERNAL', 'The device reported an internal failure (Edgent error 704).', {
        details,
      });
    default:
      return new TetherError('PROTOCOL_ERROR', `The device reported an unknown last_error ${lastError}.`, {
        details,
      });
  }
}
