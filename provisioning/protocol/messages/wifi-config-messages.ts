/** prov-config messages (esp-idf wifi_config.proto): get status, set config, apply config. */
import { TetherError } from '../../../shared/errors.js';
import {
  bytesField,
  type Decoded,
  decodeMessage,
  encodeMessage,
  messageField,
  numberField,
  stringField,
  withoutDefaults,
} from './proto-schema.js';
import {
  authModeCode,
  authModeFrom,
  bssidFromString,
  bssidToString,
  fromBytes,
  toBytes,
  WIFI_FAIL_REASONS,
  WIFI_STATION_STATES,
  type WifiAuthMode,
  type WifiFailReason,
} from './wifi-types.js';

/** What the device reports about its station interface. */
export type WifiStatus =
  | {
      state: 'connected';
      ip4Address: string;
      ssid: string;
      /** 'aa:bb:cc:dd:ee:ff' */
      bssid: string;
      channel: number;
      authMode: WifiAuthMode | 'unknown';
    }
  | {
      state: 'connecting' /** set after a failed attempt while the device still retries */;
      attemptsRemaining?: number;
    }
  | { state: 'disconnected' }
  | { state: 'failed'; reason: WifiFailReason | 'unknown' };

export interface WifiCredentials {
  ssid: string;
  passphrase: string;
  /** 'aa:bb:cc:dd:ee:ff' to pin one access point */
  bssid?: string;
  channel?: number;
}

export type WifiConfigRequest =
  | { kind: 'get-status' }
  | { kind: 'set-config'; ssid: Uint8Array; passphrase: Uint8Array; bssid: Uint8Array; channel: number }
  | { kind: 'apply' };

export type WifiConfigResponse =
  | { kind: 'get-status'; status: number; wifi: WifiStatus }
  | { kind: 'set-config'; status: number }
  | { kind: 'apply'; status: number };

// wifi_config.proto: WiFiConfigMsgType (command n, response n + 1) and the oneof members.
const MSG = { 'get-status': 0, 'set-config': 2, apply: 4 } as const;
const CMD_MEMBER = {
  'get-status': 'cmd_get_status',
  'set-config': 'cmd_set_config',
  apply: 'cmd_apply_config',
} as const;
const RESP_MEMBER = {
  'get-status': 'resp_get_status',
  'set-config': 'resp_set_config',
  apply: 'resp_apply_config',
} as const;
type ConfigKind = keyof typeof MSG;
const kindOfMsg = (msg: number): ConfigKind | undefined =>
  (Object.keys(MSG) as ConfigKind[]).find((kind) => MSG[kind] === msg);

export function setConfigRequest(credentials: WifiCredentials): WifiConfigRequest {
  return {
    kind: 'set-config',
    ssid: toBytes(credentials.ssid),
    passphrase: toBytes(credentials.passphrase),
    bssid: bssidFromString(credentials.bssid ?? ''),
    channel: credentials.channel ?? 0,
  };
}

export function encodeWifiConfigRequest(request: WifiConfigRequest): Uint8Array {
  const body =
    request.kind === 'set-config'
      ? withoutDefaults({
          ssid: request.ssid,
          passphrase: request.passphrase,
          bssid: request.bssid,
          channel: request.channel,
        })
      : {};
  // esp_prov sets the (empty) get-status member but leaves apply's unset; match it byte for byte.
  return encodeMessage('WifiConfigPayload', {
    ...withoutDefaults({ msg: MSG[request.kind] }),
    ...(request.kind === 'apply' ? {} : { [CMD_MEMBER[request.kind]]: body }),
  });
}

export function decodeWifiConfigRequest(bytes: Uint8Array): WifiConfigRequest {
  const payload = decodeMessage('WifiConfigPayload', bytes, 'Wi-Fi config request');
  const kind = kindOfMsg(numberField(payload, 'msg'));
  if (!kind) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `Unknown Wi-Fi config command ${numberField(payload, 'msg')}.`,
    );
  }
  if (kind !== 'set-config') return { kind };
  const body = messageField(payload, 'cmd_set_config');
  if (!body && payload.payload !== undefined) {
    throw new TetherError('VALIDATION_FAILED', 'A set-config command without its credentials.');
  }
  return {
    kind,
    ssid: bytesField(body, 'ssid'),
    passphrase: bytesField(body, 'passphrase'),
    bssid: bytesField(body, 'bssid'),
    channel: numberField(body, 'channel'),
  };
}

function encodeStatus(wifi: WifiStatus): Record<string, unknown> {
  const state = WIFI_STATION_STATES.indexOf(wifi.state);
  switch (wifi.state) {
    case 'connected':
      return {
        ...withoutDefaults({ sta_state: state }),
        connected: withoutDefaults({
          ip4_addr: wifi.ip4Address,
          auth_mode: wifi.authMode === 'unknown' ? 0 : authModeCode(wifi.authMode),
          ssid: toBytes(wifi.ssid),
          bssid: bssidFromString(wifi.bssid),
          channel: wifi.channel,
        }),
      };
    case 'connecting':
      return wifi.attemptsRemaining === undefined
        ? { sta_state: state }
        : {
            sta_state: state,
            attempt_failed: withoutDefaults({ attempts_remaining: wifi.attemptsRemaining }),
          };
    case 'disconnected':
      return { sta_state: state };
    case 'failed':
      // The oneof member is sent even for AuthError (0): esp_prov reads fail_reason to tell the person.
      return { sta_state: state, fail_reason: wifi.reason === 'network-not-found' ? 1 : 0 };
  }
}

function decodeStatus(body: Decoded | undefined): WifiStatus {
  const state = WIFI_STATION_STATES[numberField(body, 'sta_state')];
  switch (state) {
    case 'connected': {
      const connected = messageField(body, 'connected');
      return {
        state,
        ip4Address: stringField(connected, 'ip4_addr'),
        ssid: fromBytes(bytesField(connected, 'ssid')),
        bssid: bssidToString(bytesField(connected, 'bssid')),
        channel: numberField(connected, 'channel'),
        authMode: authModeFrom(numberField(connected, 'auth_mode')),
      };
    }
    case 'connecting': {
      const failed = messageField(body, 'attempt_failed');
      return failed ? { state, attemptsRemaining: numberField(failed, 'attempts_remaining') } : { state };
    }
    case 'failed':
      return { state, reason: WIFI_FAIL_REASONS[numberField(body, 'fail_reason')] ?? 'unknown' };
    default:
      return { state: 'disconnected' };
  }
}

export function encodeWifiConfigResponse(response: WifiConfigResponse): Uint8Array {
  const body: Record<string, unknown> =
    response.kind === 'get-status'
      ? { ...withoutDefaults({ status: response.status }), ...encodeStatus(response.wifi) }
      : withoutDefaults({ status: response.status });
  if (response.kind === 'get-status' && body.sta_state === 0) delete body.sta_state;
  return encodeMessage('WifiConfigPayload', {
    msg: MSG[response.kind] + 1,
    [RESP_MEMBER[response.kind]]: body,
  });
}

export function decodeWifiConfigResponse(bytes: Uint8Array): WifiConfigResponse {
  const payload = decodeMessage('WifiConfigPayload', bytes, 'Wi-Fi config response');
  const kind = kindOfMsg(numberField(payload, 'msg') - 1);
  if (!kind) {
    throw new TetherError('PROTOCOL_ERROR', `Unknown Wi-Fi config response ${numberField(payload, 'msg')}.`);
  }
  const body = messageField(payload, RESP_MEMBER[kind]);
  const status = numberField(body, 'status');
  return kind === 'get-status' ? { kind, status, wifi: decodeStatus(body) } : { kind, status };
}
