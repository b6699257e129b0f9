/**
 * Known-answer bytes for every protocomm message Tether sends or reads. The expected hex was
 * produced by Python protobuf 4.21 from Espressif's own schema (esp-idf v5.5.5 *_pb2.py), building
 * each message the way esp_prov (requests) or the esp-idf device code (responses) does.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeActivationRequest,
  decodeActivationResponse,
  encodeActivationRequest,
  encodeActivationResponse,
} from '../../provisioning/protocol/messages/activation-messages.js';
import {
  decodeSessionData,
  encodeSessionData,
  type SessionMessage,
} from '../../provisioning/protocol/messages/session-messages.js';
import {
  decodeWifiConfigRequest,
  decodeWifiConfigResponse,
  encodeWifiConfigRequest,
  encodeWifiConfigResponse,
  setConfigRequest,
  type WifiConfigResponse,
} from '../../provisioning/protocol/messages/wifi-config-messages.js';
import {
  decodeWifiCtrlRequest,
  decodeWifiCtrlResponse,
  encodeWifiCtrlRequest,
  encodeWifiCtrlResponse,
} from '../../provisioning/protocol/messages/wifi-ctrl-messages.js';
import {
  DEFAULT_SCAN_OPTIONS,
  decodeWifiScanRequest,
  decodeWifiScanResponse,
  encodeWifiScanRequest,
  encodeWifiScanResponse,
  type WifiScanRequest,
  type WifiScanResponse,
} from '../../provisioning/protocol/messages/wifi-scan-messages.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const unhex = (value: string) => Uint8Array.from(Buffer.from(value, 'hex'));
const k32 = Uint8Array.from({ length: 32 }, (_, i) => i);
const r16 = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);
const K32_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

describe('prov-session SessionData', () => {
  const cases: Array<[string, SessionMessage, string]> = [
    ['sec0 command (esp_prov)', { secVer: 0, kind: 'cmd' }, '5203a20100'],
    ['sec0 response (device)', { secVer: 0, kind: 'resp', status: 0 }, '52050801aa0100'],
    ['sec1 command 0', { secVer: 1, kind: 'cmd0', clientPubkey: k32 }, `10015a25a201220a20${K32_HEX}`],
    [
      'sec1 response 0',
      { secVer: 1, kind: 'resp0', status: 0, devicePubkey: k32, deviceRandom: r16 },
      `10015a390801aa0134122${'0'}${K32_HEX}1a106465666768696a6b6c6d6e6f70717273`,
    ],
    [
      'sec1 command 1',
      { secVer: 1, kind: 'cmd1', clientVerifyData: k32 },
      `10015a270802b201221220${K32_HEX}`,
    ],
    [
      'sec1 response 1',
      { secVer: 1, kind: 'resp1', status: 0, deviceVerifyData: k32 },
      `10015a270803ba01221a20${K32_HEX}`,
    ],
    [
      'sec2 command 0',
      {
        secVer: 2,
        kind: 'cmd0',
        clientUsername: new TextEncoder().encode('wifiprov'),
        clientPubkey: unhex('01020304'),
      },
      '10026213a201100a087769666970726f76120401020304',
    ],
    [
      'sec2 response 0',
      { secVer: 2, kind: 'resp0', status: 0, devicePubkey: unhex('0506'), deviceSalt: unhex('0708') },
      '1002620d0801aa0108120205061a020708',
    ],
    ['sec2 command 1', { secVer: 2, kind: 'cmd1', clientProof: unhex('09') }, '100262080802b201030a0109'],
    [
      'sec2 response 1',
      { secVer: 2, kind: 'resp1', status: 0, deviceProof: unhex('0a'), deviceNonce: new Uint8Array(12) },
      '100262160803ba011112010a1a0c000000000000000000000000',
    ],
  ];

  it.each(cases)('%s encodes to the esp-idf bytes and decodes back', (_name, message, expected) => {
    expect(hex(encodeSessionData(message))).toBe(expected);
    expect(decodeSessionData(unhex(expected))).toEqual(message);
  });

  it('carries the lockout extension in fields Espressif parsers skip', () => {
    const locked: SessionMessage = {
      secVer: 2,
      kind: 'resp0',
      status: 3,
      devicePubkey: new Uint8Array(0),
      deviceSalt: new Uint8Array(0),
      retryAfterMs: 300_000,
    };
    const bytes = encodeSessionData(locked);
    // sec_ver 2, sec2 {msg 1, sr0 {status 3}}, then field 1001 = 300000. Python protobuf with
    // Espressif's schema parses these bytes as resp0 with status 3 and ignores field 1001.
    expect(hex(bytes)).toBe('100262070801aa01020803c83ee0a712');
    expect(decodeSessionData(bytes)).toEqual(locked);
  });

  it('refuses garbage with PROTOCOL_ERROR', () => {
    expect(() => decodeSessionData(unhex('ffffffff'))).toThrow(
      expect.objectContaining({ code: 'PROTOCOL_ERROR' }),
    );
    expect(() => decodeSessionData(unhex('1009'))).toThrow(/Unknown security scheme 9/);
    expect(() => decodeSessionData(unhex('1001'))).toThrow(/no security 1 payload/);
  });
});

describe('prov-config WiFiConfigPayload', () => {
  it('requests match esp_prov', () => {
    expect(hex(encodeWifiConfigRequest({ kind: 'get-status' }))).toBe('5200');
    const set = setConfigRequest({ ssid: 'home', passphrase: 'correct horse' });
    expect(hex(encodeWifiConfigRequest(set))).toBe('080262150a04686f6d65120d636f727265637420686f727365');
    expect(hex(encodeWifiConfigRequest({ kind: 'apply' }))).toBe('0804');
    expect(decodeWifiConfigRequest(unhex('080262150a04686f6d65120d636f727265637420686f727365'))).toEqual(set);
    expect(decodeWifiConfigRequest(unhex('5200'))).toEqual({ kind: 'get-status' });
    expect(decodeWifiConfigRequest(unhex('0804'))).toEqual({ kind: 'apply' });
  });

  const responses: Array<[string, WifiConfigResponse, string]> = [
    [
      'failed: auth error',
      { kind: 'get-status', status: 0, wifi: { state: 'failed', reason: 'auth-error' } },
      '08015a0410035000',
    ],
    [
      'failed: network not found',
      { kind: 'get-status', status: 0, wifi: { state: 'failed', reason: 'network-not-found' } },
      '08015a0410035001',
    ],
    [
      'connected',
      {
        kind: 'get-status',
        status: 0,
        wifi: {
          state: 'connected',
          ip4Address: '192.168.1.42',
          authMode: 'wpa2-psk',
          ssid: 'home',
          bssid: '02:00:00:00:00:01',
          channel: 6,
        },
      },
      '08015a225a200a0c3139322e3136382e312e343210031a04686f6d6522060200000000012806',
    ],
    [
      'connecting after a failed attempt',
      { kind: 'get-status', status: 0, wifi: { state: 'connecting', attemptsRemaining: 2 } },
      '08015a06100162020802',
    ],
    ['set-config ok', { kind: 'set-config', status: 0 }, '08036a00'],
    ['apply refused', { kind: 'apply', status: 4 }, '08057a020804'],
  ];

  it.each(responses)('response %s matches the esp-idf bytes', (_name, response, expected) => {
    expect(hex(encodeWifiConfigResponse(response))).toBe(expected);
    expect(decodeWifiConfigResponse(unhex(expected))).toEqual(response);
  });
});

describe('prov-scan WiFiScanPayload', () => {
  const requests: Array<[string, WifiScanRequest, string]> = [
    [
      'start (esp_prov SoftAP defaults)',
      { kind: 'start', options: DEFAULT_SCAN_OPTIONS },
      '5206080118052078',
    ],
    ['status', { kind: 'status' }, '0802'],
    ['result page', { kind: 'result', startIndex: 4, count: 4 }, '0804720408041004'],
  ];
  it.each(requests)('request %s matches esp_prov', (_name, request, expected) => {
    expect(hex(encodeWifiScanRequest(request))).toBe(expected);
    expect(decodeWifiScanRequest(unhex(expected))).toEqual(request);
  });

  const responses: Array<[string, WifiScanResponse, string]> = [
    ['status', { kind: 'status', status: 0, scan: { finished: true, resultCount: 7 } }, '08036a0408011007'],
    [
      'result (negative RSSI as a 10-byte varint)',
      {
        kind: 'result',
        status: 0,
        networks: [{ ssid: 'home', channel: 1, rssi: -40, bssid: '02:00:00:00:00:01', authMode: 'wpa2-psk' }],
      },
      '08057a1f0a1d0a04686f6d65100118d8ffffffffffffffff0122060200000000012803',
    ],
  ];
  it.each(responses)('response %s matches the esp-idf bytes', (_name, response, expected) => {
    expect(hex(encodeWifiScanResponse(response))).toBe(expected);
    expect(decodeWifiScanResponse(unhex(expected))).toEqual(response);
  });
});

describe('prov-ctrl WiFiCtrlPayload', () => {
  it('matches esp_prov and the device', () => {
    expect(hex(encodeWifiCtrlRequest('reset'))).toBe('0801');
    expect(hex(encodeWifiCtrlRequest('reprovision'))).toBe('0803');
    expect(decodeWifiCtrlRequest(unhex('0803'))).toBe('reprovision');
    expect(hex(encodeWifiCtrlResponse('reset', 0))).toBe('08026200');
    expect(decodeWifiCtrlResponse(unhex('08026200'))).toEqual({ kind: 'reset', status: 0 });
    expect(() => decodeWifiCtrlRequest(unhex('0800'))).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });
});

describe('tether-activation', () => {
  it('round-trips with fixed bytes', () => {
    const request = { token: 'tok', brokerUrl: 'mqtt://gw', templateId: 'TMPL1' };
    const bytes = encodeActivationRequest(request);
    expect(hex(bytes)).toBe('0a03746f6b12096d7174743a2f2f67771a05544d504c31');
    expect(decodeActivationRequest(bytes)).toEqual(request);
    const ok = encodeActivationResponse({ status: 'ok', hardwareId: 'hw1' });
    expect(hex(ok)).toBe('1203687731');
    expect(decodeActivationResponse(ok)).toEqual({ status: 'ok', hardwareId: 'hw1' });
    const refused = { status: 'template-mismatch' as const, hardwareId: '', message: 'no' };
    expect(decodeActivationResponse(encodeActivationResponse(refused))).toEqual(refused);
    expect(() => decodeActivationResponse(unhex('0863'))).toThrow(/Unknown activation status 99/);
  });
});
