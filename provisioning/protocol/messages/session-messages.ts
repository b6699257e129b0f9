/**
 * prov-session messages (esp-idf protocomm session.proto + sec0/1/2.proto) as typed values.
 * One SessionData carries one step of one security scheme's handshake.
 */
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

export type SecurityVersion = 0 | 1 | 2;

/** Tether's additions to SessionData (unknown fields to Espressif's parsers). */
export interface SessionExtras {
  /** The device is locked out after too many wrong PoPs: milliseconds until it accepts a new session. */
  retryAfterMs?: number;
  /** A proof was refused: attempts left before the lockout. */
  attemptsRemaining?: number;
}

export type Sec0Message = { secVer: 0; kind: 'cmd' } | { secVer: 0; kind: 'resp'; status: number };

export type Sec1Message =
  | { secVer: 1; kind: 'cmd0'; clientPubkey: Uint8Array }
  | { secVer: 1; kind: 'resp0'; status: number; devicePubkey: Uint8Array; deviceRandom: Uint8Array }
  | { secVer: 1; kind: 'cmd1'; clientVerifyData: Uint8Array }
  | { secVer: 1; kind: 'resp1'; status: number; deviceVerifyData: Uint8Array };

export type Sec2Message =
  | { secVer: 2; kind: 'cmd0'; clientUsername: Uint8Array; clientPubkey: Uint8Array }
  | { secVer: 2; kind: 'resp0'; status: number; devicePubkey: Uint8Array; deviceSalt: Uint8Array }
  | { secVer: 2; kind: 'cmd1'; clientProof: Uint8Array }
  | { secVer: 2; kind: 'resp1'; status: number; deviceProof: Uint8Array; deviceNonce: Uint8Array };

export type SessionMessage = (Sec0Message | Sec1Message | Sec2Message) & SessionExtras;

// sec1.proto / sec2.proto: msg numbers and oneof member names, in the same order.
const KINDS = ['cmd0', 'resp0', 'cmd1', 'resp1'] as const;
const MEMBERS = ['sc0', 'sr0', 'sc1', 'sr1'] as const;

function extras(message: SessionExtras): Record<string, number | undefined> {
  return {
    tether_retry_after_ms: message.retryAfterMs,
    tether_attempts_remaining: message.attemptsRemaining,
  };
}

export function encodeSessionData(message: SessionMessage): Uint8Array {
  const top = { sec_ver: message.secVer, ...extras(message) };
  if (message.secVer === 0) {
    // security0.c answers msg=S0_Session_Response with an (empty when Success) sr member.
    const sec0 =
      message.kind === 'cmd' ? { sc: {} } : { msg: 1, sr: withoutDefaults({ status: message.status }) };
    return encodeMessage('SessionData', { ...withoutDefaults(top), sec0 });
  }
  const index = KINDS.indexOf(message.kind);
  const member = MEMBERS[index]!;
  let body: Record<string, unknown>;
  if (message.secVer === 1) {
    switch (message.kind) {
      case 'cmd0':
        body = { client_pubkey: message.clientPubkey };
        break;
      case 'resp0':
        body = {
          status: message.status,
          device_pubkey: message.devicePubkey,
          device_random: message.deviceRandom,
        };
        break;
      case 'cmd1':
        body = { client_verify_data: message.clientVerifyData };
        break;
      case 'resp1':
        body = { status: message.status, device_verify_data: message.deviceVerifyData };
        break;
    }
  } else {
    switch (message.kind) {
      case 'cmd0':
        body = { client_username: message.clientUsername, client_pubkey: message.clientPubkey };
        break;
      case 'resp0':
        body = {
          status: message.status,
          device_pubkey: message.devicePubkey,
          device_salt: message.deviceSalt,
        };
        break;
      case 'cmd1':
        body = { client_proof: message.clientProof };
        break;
      case 'resp1':
        body = {
          status: message.status,
          device_proof: message.deviceProof,
          device_nonce: message.deviceNonce,
        };
        break;
    }
  }
  const payload = { ...withoutDefaults({ msg: index }), [member]: withoutDefaults(body) };
  const key = message.secVer === 1 ? 'sec1' : 'sec2';
  return encodeMessage('SessionData', { ...withoutDefaults(top), [key]: payload });
}

export function decodeSessionData(bytes: Uint8Array): SessionMessage {
  const data = decodeMessage('SessionData', bytes, 'security handshake message');
  const secVer = numberField(data, 'sec_ver');
  const extra: SessionExtras = {};
  const retry = numberField(data, 'tether_retry_after_ms');
  const remaining = messageHas(data, 'tether_attempts_remaining')
    ? numberField(data, 'tether_attempts_remaining')
    : undefined;
  if (retry > 0) extra.retryAfterMs = retry;
  if (remaining !== undefined) extra.attemptsRemaining = remaining;

  if (secVer === 0) {
    // security0.c looks at nothing but sec_ver; the kind comes from msg (0 command, 1 response).
    const sec0 = messageField(data, 'sec0');
    if (numberField(sec0, 'msg') === 1 || messageField(sec0, 'sr')) {
      return { secVer: 0, kind: 'resp', status: numberField(messageField(sec0, 'sr'), 'status'), ...extra };
    }
    return { secVer: 0, kind: 'cmd', ...extra };
  }
  if (secVer !== 1 && secVer !== 2) {
    throw new TetherError('PROTOCOL_ERROR', `Unknown security scheme ${secVer} in the handshake message.`, {
      details: { secVer },
    });
  }
  const payload = messageField(data, secVer === 1 ? 'sec1' : 'sec2');
  if (!payload) {
    throw new TetherError(
      'PROTOCOL_ERROR',
      `The handshake message says security ${secVer} but carries no security ${secVer} payload.`,
      { details: { secVer } },
    );
  }
  const chosen = typeof payload.payload === 'string' ? MEMBERS.indexOf(payload.payload as 'sc0') : -1;
  const index = chosen >= 0 ? chosen : numberField(payload, 'msg');
  const kind = KINDS[index];
  if (kind === undefined) {
    throw new TetherError('PROTOCOL_ERROR', `Unknown security ${secVer} handshake step ${index}.`, {
      details: { secVer, step: index },
    });
  }
  const body = messageField(payload, MEMBERS[index]!);
  const status = numberField(body, 'status');
  if (secVer === 1) {
    switch (kind) {
      case 'cmd0':
        return { secVer, kind, clientPubkey: bytesField(body, 'client_pubkey'), ...extra };
      case 'resp0':
        return {
          secVer,
          kind,
          status,
          devicePubkey: bytesField(body, 'device_pubkey'),
          deviceRandom: bytesField(body, 'device_random'),
          ...extra,
        };
      case 'cmd1':
        return { secVer, kind, clientVerifyData: bytesField(body, 'client_verify_data'), ...extra };
      case 'resp1':
        return { secVer, kind, status, deviceVerifyData: bytesField(body, 'device_verify_data'), ...extra };
    }
  }
  switch (kind) {
    case 'cmd0':
      return {
        secVer: 2,
        kind,
        clientUsername: bytesField(body, 'client_username'),
        clientPubkey: bytesField(body, 'client_pubkey'),
        ...extra,
      };
    case 'resp0':
      return {
        secVer: 2,
        kind,
        status,
        devicePubkey: bytesField(body, 'device_pubkey'),
        deviceSalt: bytesField(body, 'device_salt'),
        ...extra,
      };
    case 'cmd1':
      return { secVer: 2, kind, clientProof: bytesField(body, 'client_proof'), ...extra };
    case 'resp1':
      return {
        secVer: 2,
        kind,
        status,
        deviceProof: bytesField(body, 'device_proof'),
        deviceNonce: bytesField(body, 'device_nonce'),
        ...extra,
      };
  }
}

const messageHas = (message: Decoded, key: string): boolean => Object.hasOwn(message, key);
