/** prov-scan messages (esp-idf wifi_scan.proto): start a scan, poll it, read results a page at a time. */
import { TetherError } from '../../../shared/errors.js';
import {
  bytesField,
  type Decoded,
  decodeMessage,
  encodeMessage,
  messageField,
  numberField,
  withoutDefaults,
} from './proto-schema.js';
import {
  authModeCode,
  authModeFrom,
  bssidFromString,
  bssidToString,
  fromBytes,
  toBytes,
  type WifiAuthMode,
} from './wifi-types.js';

export interface ScanOptions {
  /** Answer only once the scan has finished (esp_prov asks for this). */
  blocking?: boolean;
  passive?: boolean;
  /** Channels scanned back to back before the AP gets air time again (esp_prov: 5 on SoftAP). */
  groupChannels?: number;
  /** Dwell time per channel. */
  periodMs?: number;
}

export interface WifiNetwork {
  ssid: string;
  /** 'aa:bb:cc:dd:ee:ff' */
  bssid: string;
  channel: number;
  rssi: number;
  authMode: WifiAuthMode | 'unknown';
}

export interface ScanStatus {
  finished: boolean;
  resultCount: number;
}

export type WifiScanRequest =
  | { kind: 'start'; options: Required<ScanOptions> }
  | { kind: 'status' }
  | { kind: 'result'; startIndex: number; count: number };

export type WifiScanResponse =
  | { kind: 'start'; status: number }
  | { kind: 'status'; status: number; scan: ScanStatus }
  | { kind: 'result'; status: number; networks: WifiNetwork[] };

// wifi_scan.proto: WiFiScanMsgType (command n, response n + 1) and the oneof members.
const MSG = { start: 0, status: 2, result: 4 } as const;
const CMD_MEMBER = { start: 'cmd_scan_start', status: 'cmd_scan_status', result: 'cmd_scan_result' } as const;
const RESP_MEMBER = {
  start: 'resp_scan_start',
  status: 'resp_scan_status',
  result: 'resp_scan_result',
} as const;
type ScanKind = keyof typeof MSG;
const kindOfMsg = (msg: number): ScanKind | undefined =>
  (Object.keys(MSG) as ScanKind[]).find((kind) => MSG[kind] === msg);

/** esp_prov's scan_start_request defaults. */
export const DEFAULT_SCAN_OPTIONS: Required<ScanOptions> = {
  blocking: true,
  passive: false,
  groupChannels: 5,
  periodMs: 120,
};

export function encodeWifiScanRequest(request: WifiScanRequest): Uint8Array {
  let body: Record<string, unknown> = {};
  if (request.kind === 'start') {
    body = withoutDefaults({
      blocking: request.options.blocking,
      passive: request.options.passive,
      group_channels: request.options.groupChannels,
      period_ms: request.options.periodMs,
    });
  } else if (request.kind === 'result') {
    body = withoutDefaults({ start_index: request.startIndex, count: request.count });
  }
  // esp_prov leaves the (empty) scan-status member unset; match it byte for byte.
  return encodeMessage('WifiScanPayload', {
    ...withoutDefaults({ msg: MSG[request.kind] }),
    ...(request.kind === 'status' ? {} : { [CMD_MEMBER[request.kind]]: body }),
  });
}

export function decodeWifiScanRequest(bytes: Uint8Array): WifiScanRequest {
  const payload = decodeMessage('WifiScanPayload', bytes, 'Wi-Fi scan request');
  const kind = kindOfMsg(numberField(payload, 'msg'));
  if (!kind)
    throw new TetherError('VALIDATION_FAILED', `Unknown Wi-Fi scan command ${numberField(payload, 'msg')}.`);
  const body = messageField(payload, CMD_MEMBER[kind]);
  if (kind === 'start') {
    return {
      kind,
      options: {
        blocking: body?.blocking === true,
        passive: body?.passive === true,
        groupChannels: numberField(body, 'group_channels'),
        periodMs: numberField(body, 'period_ms'),
      },
    };
  }
  if (kind === 'result') {
    return { kind, startIndex: numberField(body, 'start_index'), count: numberField(body, 'count') };
  }
  return { kind };
}

const encodeNetwork = (network: WifiNetwork): Record<string, unknown> =>
  withoutDefaults({
    ssid: toBytes(network.ssid),
    channel: network.channel,
    rssi: network.rssi,
    bssid: bssidFromString(network.bssid),
    auth: network.authMode === 'unknown' ? 0 : authModeCode(network.authMode),
  });

const decodeNetwork = (entry: Decoded): WifiNetwork => ({
  ssid: fromBytes(bytesField(entry, 'ssid')),
  bssid: bssidToString(bytesField(entry, 'bssid')),
  channel: numberField(entry, 'channel'),
  rssi: numberField(entry, 'rssi'),
  authMode: authModeFrom(numberField(entry, 'auth')),
});

export function encodeWifiScanResponse(response: WifiScanResponse): Uint8Array {
  let body: Record<string, unknown> = {};
  if (response.kind === 'status') {
    body = withoutDefaults({
      scan_finished: response.scan.finished,
      result_count: response.scan.resultCount,
    });
  } else if (response.kind === 'result') {
    body = response.networks.length ? { entries: response.networks.map(encodeNetwork) } : {};
  }
  return encodeMessage('WifiScanPayload', {
    msg: MSG[response.kind] + 1,
    ...withoutDefaults({ status: response.status }),
    [RESP_MEMBER[response.kind]]: body,
  });
}

export function decodeWifiScanResponse(bytes: Uint8Array): WifiScanResponse {
  const payload = decodeMessage('WifiScanPayload', bytes, 'Wi-Fi scan response');
  const kind = kindOfMsg(numberField(payload, 'msg') - 1);
  if (!kind)
    throw new TetherError('PROTOCOL_ERROR', `Unknown Wi-Fi scan response ${numberField(payload, 'msg')}.`);
  const status = numberField(payload, 'status');
  const body = messageField(payload, RESP_MEMBER[kind]);
  if (kind === 'status') {
    return {
      kind,
      status,
      scan: { finished: body?.scan_finished === true, resultCount: numberField(body, 'result_count') },
    };
  }
  if (kind === 'result') {
    const entries = Array.isArray(body?.entries) ? (body.entries as Decoded[]) : [];
    return { kind, status, networks: entries.map(decodeNetwork) };
  }
  return { kind, status };
}
