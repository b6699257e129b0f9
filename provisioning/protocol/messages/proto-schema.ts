/**
 * The wire schema of ESP-IDF unified provisioning ("protocomm"), written for Tether.
 *
 * Field numbers, wire types and enum values follow the public protocol that Espressif's devices
 * and esp_prov speak (esp-idf components/protocomm/proto and components/wifi_provisioning/proto,
 * v5.x), so the bytes match; the text and names here are our own. Tether's additions are marked
 * "tether:" and use field numbers ≥ 1000, which proto3 parsers (protobuf-c on the device, Python
 * protobuf in esp_prov) skip as unknown fields.
 */
import protobuf from 'protobufjs';
import { TetherError } from '../../../shared/errors.js';
import { ownValue } from '../../../shared/own-keys.js';
import { type DecodedMessage, ProtoCodec } from './proto-codec.js';

const SCHEMA = `
syntax = "proto3";
package tether.prov;

// protocomm status of an answer (protocomm constants)
enum Status {
  Success = 0; InvalidSecScheme = 1; InvalidProto = 2; TooManySessions = 3;
  InvalidArgument = 4; InternalError = 5; CryptoError = 6; InvalidSession = 7;
}

// ---- security 0 -------------------------------------------------------------------------------
message Sec0Cmd {}
message Sec0Resp { Status status = 1; }
message Sec0Payload {
  uint32 msg = 1;                       // 0 command, 1 response
  oneof payload { Sec0Cmd sc = 20; Sec0Resp sr = 21; }
}

// ---- security 1: X25519 + PoP + AES-256-CTR ---------------------------------------------------
message Sec1Cmd0 { bytes client_pubkey = 1; }
message Sec1Resp0 { Status status = 1; bytes device_pubkey = 2; bytes device_random = 3; }
message Sec1Cmd1 { bytes client_verify_data = 2; }
message Sec1Resp1 { Status status = 1; bytes device_verify_data = 3; }
message Sec1Payload {
  uint32 msg = 1;                       // 0 cmd0, 1 resp0, 2 cmd1, 3 resp1
  oneof payload { Sec1Cmd0 sc0 = 20; Sec1Resp0 sr0 = 21; Sec1Cmd1 sc1 = 22; Sec1Resp1 sr1 = 23; }
}

// ---- security 2: SRP6a + AES-256-GCM ----------------------------------------------------------
message Sec2Cmd0 { bytes client_username = 1; bytes client_pubkey = 2; }
message Sec2Resp0 { Status status = 1; bytes device_pubkey = 2; bytes device_salt = 3; }
message Sec2Cmd1 { bytes client_proof = 1; }
message Sec2Resp1 { Status status = 1; bytes device_proof = 2; bytes device_nonce = 3; }
message Sec2Payload {
  uint32 msg = 1;                       // 0 cmd0, 1 resp0, 2 cmd1, 3 resp1
  oneof payload { Sec2Cmd0 sc0 = 20; Sec2Resp0 sr0 = 21; Sec2Cmd1 sc1 = 22; Sec2Resp1 sr1 = 23; }
}

// ---- prov-session ---------------------------------------------------------------------------
message SessionData {
  uint32 sec_ver = 2;
  oneof proto { Sec0Payload sec0 = 10; Sec1Payload sec1 = 11; Sec2Payload sec2 = 12; }
  // tether: a locked-out device says when the next attempt is allowed, and a refused proof says
  // how many attempts are left before the lockout.
  uint32 tether_retry_after_ms = 1001;
  uint32 tether_attempts_remaining = 1002;
}

// ---- prov-config ----------------------------------------------------------------------------
message WifiAttemptFailed { uint32 attempts_remaining = 1; }
message WifiConnectedState {
  string ip4_addr = 1; uint32 auth_mode = 2; bytes ssid = 3; bytes bssid = 4; int32 channel = 5;
}
message CmdGetStatus {}
message RespGetStatus {
  Status status = 1;
  uint32 sta_state = 2;                 // 0 connected, 1 connecting, 2 disconnected, 3 failed
  oneof state {
    uint32 fail_reason = 10;            // 0 auth error, 1 network not found
    WifiConnectedState connected = 11;
    WifiAttemptFailed attempt_failed = 12;
  }
}
message CmdSetConfig { bytes ssid = 1; bytes passphrase = 2; bytes bssid = 3; int32 channel = 4; }
message RespSetConfig { Status status = 1; }
message CmdApplyConfig {}
message RespApplyConfig { Status status = 1; }
message WifiConfigPayload {
  uint32 msg = 1;                       // cmd n, response n + 1: get-status 0, set 2, apply 4
  oneof payload {
    CmdGetStatus cmd_get_status = 10; RespGetStatus resp_get_status = 11;
    CmdSetConfig cmd_set_config = 12; RespSetConfig resp_set_config = 13;
    CmdApplyConfig cmd_apply_config = 14; RespApplyConfig resp_apply_config = 15;
  }
}

// ---- prov-scan ------------------------------------------------------------------------------
message CmdScanStart { bool blocking = 1; bool passive = 2; uint32 group_channels = 3; uint32 period_ms = 4; }
message RespScanStart {}
message CmdScanStatus {}
message RespScanStatus { bool scan_finished = 1; uint32 result_count = 2; }
message CmdScanResult { uint32 start_index = 1; uint32 count = 2; }
message WifiScanEntry { bytes ssid = 1; uint32 channel = 2; int32 rssi = 3; bytes bssid = 4; uint32 auth = 5; }
message RespScanResult { repeated WifiScanEntry entries = 1; }
message WifiScanPayload {
  uint32 msg = 1;                       // start 0, status 2, result 4; response n + 1
  Status status = 2;
  oneof payload {
    CmdScanStart cmd_scan_start = 10; RespScanStart resp_scan_start = 11;
    CmdScanStatus cmd_scan_status = 12; RespScanStatus resp_scan_status = 13;
    CmdScanResult cmd_scan_result = 14; RespScanResult resp_scan_result = 15;
  }
}

// ---- prov-ctrl ------------------------------------------------------------------------------
message CmdCtrlReset {}
message RespCtrlReset {}
message CmdCtrlReprov {}
message RespCtrlReprov {}
message WifiCtrlPayload {
  uint32 msg = 1;                       // reset 1 (resp 2), reprovision 3 (resp 4); 0 is reserved
  Status status = 2;
  oneof payload {
    CmdCtrlReset cmd_ctrl_reset = 11; RespCtrlReset resp_ctrl_reset = 12;
    CmdCtrlReprov cmd_ctrl_reprov = 13; RespCtrlReprov resp_ctrl_reprov = 14;
  }
}

// ---- tether-activation (Tether's own endpoint) -----------------------------------------------
message ActivationRequest { string token = 1; string broker_url = 2; string template_id = 3; }
message ActivationResponse { uint32 status = 1; string hardware_id = 2; string message = 3; }
`;

export type MessageName =
  | 'SessionData'
  | 'WifiConfigPayload'
  | 'WifiScanPayload'
  | 'WifiCtrlPayload'
  | 'ActivationRequest'
  | 'ActivationResponse';

/**
 * The parsed schema, walked by ProtoCodec: no generated code, so the same codec runs under the web
 * console's Content-Security-Policy. Parsing takes about a millisecond, once at load.
 */
const codec = new ProtoCodec(protobuf.parse(SCHEMA, { keepCase: true }).root);

/**
 * Encode a plain object. Callers pass only fields that differ from their proto3 default (and the
 * chosen oneof member, even when it holds a default), so the bytes equal protobuf-c's and Python's.
 */
export function encodeMessage(name: MessageName, value: object): Uint8Array {
  return codec.encode(`tether.prov.${name}`, value);
}

/**
 * A decoded message as a plain object: bytes as Uint8Array, enums as numbers, and under each
 * oneof's name the name of its chosen member.
 */
export type Decoded = DecodedMessage;

/** Decode, turning any wire error into a PROTOCOL_ERROR that names what was being read. */
export function decodeMessage(name: MessageName, bytes: Uint8Array, what: string): Decoded {
  try {
    return codec.decode(`tether.prov.${name}`, bytes);
  } catch (error) {
    throw new TetherError('PROTOCOL_ERROR', `Could not read the ${what}: the message is malformed.`, {
      cause: error,
      details: { message: name },
    });
  }
}

/** Drop proto3 defaults (0, false, empty bytes or string, undefined) so they are not put on the wire. */
export function withoutDefaults<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(
      ([, field]) =>
        field !== undefined &&
        field !== 0 &&
        field !== false &&
        field !== '' &&
        !(field instanceof Uint8Array && field.length === 0),
    ),
  ) as Partial<T>;
}

/** Read a field of a decoded message as bytes (empty when absent). */
export const bytesField = (message: Decoded | undefined, key: string): Uint8Array => {
  const value = ownValue(message, key);
  return value instanceof Uint8Array ? value : new Uint8Array(0);
};

/** Read a field of a decoded message as a number (0 when absent). */
export const numberField = (message: Decoded | undefined, key: string): number => {
  const value = ownValue(message, key);
  return typeof value === 'number' ? value : 0;
};

/** Read a field of a decoded message as a string ('' when absent). */
export const stringField = (message: Decoded | undefined, key: string): string => {
  const value = ownValue(message, key);
  return typeof value === 'string' ? value : '';
};

/** Read a nested message of a decoded message (undefined when absent). */
export const messageField = (message: Decoded | undefined, key: string): Decoded | undefined => {
  const value = ownValue(message, key);
  return value !== null && typeof value === 'object' && !(value instanceof Uint8Array)
    ? (value as Decoded)
    : undefined;
};
