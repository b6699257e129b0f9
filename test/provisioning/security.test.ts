import { createCipheriv, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeSessionData } from '../../provisioning/protocol/messages/session-messages.js';
import { GcmCounterCipher } from '../../provisioning/protocol/security/gcm-counter-cipher.js';
import { unlimitedPopGuard } from '../../provisioning/protocol/security/pop-attempt-limiter.js';
import { seededRandom } from '../../provisioning/protocol/security/random-source.js';
import {
  createClientSecuritySession,
  createDeviceSecuritySession,
} from '../../provisioning/protocol/security/security-factory.js';
import { makeSrpVerifier } from '../../provisioning/protocol/security/srp-verifier.js';
import { runHandshake } from './security-transcript.js';

const POP = 'abcd1234';
const utf8 = (value: string) => new TextEncoder().encode(value);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function pair(version: 1 | 2, clientPop = POP) {
  const credential = makeSrpVerifier(POP, undefined, { random: seededRandom('salt') });
  const device = createDeviceSecuritySession(
    version === 1 ? { version: 1, pop: POP } : { version: 2, credential },
    { guard: unlimitedPopGuard, random: seededRandom('device') },
  );
  const client = createClientSecuritySession({ version, pop: clientPop, random: seededRandom('client') });
  return { device, client, credential };
}

function digest(messages: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const message of messages) hash.update(message);
  return hash.digest('hex');
}

describe('fixed-input transcripts (seeded randomness): any change in the bytes is caught', () => {
  it('security 1', () => {
    const { device, client } = pair(1);
    const { handshake } = runHandshake(client, device);
    expect(handshake.map((m) => m.length)).toEqual([41, 61, 43, 43]);
    const request = client.encrypt(utf8('hello device'));
    expect(device.decrypt(request)).toEqual(utf8('hello device'));
    const answer = device.encrypt(utf8('hello client'));
    expect(client.decrypt(answer)).toEqual(utf8('hello client'));
    expect(hex(handshake[3]!)).toBe(
      '10015a270803ba01221a20378905ff551a8bddbba1015cea910fd7ae12d780f5bf36f92cc9cba6cb4580ed',
    );
    expect(hex(request)).toBe('557aa1d78972df6bfab1a2d9');
    expect(hex(answer)).toBe('95ece69f5275c2509109307c');
    expect(digest([...handshake, request, answer])).toBe(
      '14f78221e929c737a5a39667c0b61699cfeef3ff4d8a3519c83ab7b71fc9b052',
    );
  });

  it('security 2', () => {
    const { device, client, credential } = pair(2);
    expect(hex(credential.salt)).toBe('6d75c42104e8175ec4e761fe69948343');
    const { handshake } = runHandshake(client, device);
    expect(handshake.map((m) => m.length)).toEqual([406, 416, 75, 89]);
    const request = client.encrypt(utf8('hello device'));
    expect(device.decrypt(request)).toEqual(utf8('hello device'));
    const answer = device.encrypt(utf8('hello client'));
    expect(client.decrypt(answer)).toEqual(utf8('hello client'));
    // resp1: M2, then nonce = 8-byte session id || be32 counter starting at 1.
    const resp1 = decodeSessionData(handshake[3]!);
    if (resp1.kind !== 'resp1' || resp1.secVer !== 2) throw new Error('expected resp1');
    expect(hex(resp1.deviceNonce)).toMatch(/^[0-9a-f]{16}00000001$/);
    expect(hex(request)).toBe('97cd44de3e002b17826ca54b28606c65edbcc806e7b7abd5d977c684');
    expect(hex(answer)).toBe('c63f7db3f52faa40bb192de50caffc388454f8feafeeca5ca4dd166d');
    expect(digest([...handshake, request, answer])).toBe(
      'e265d13325d0b41f8d6b5450782bd66411106a8854b3286e33f9f98f9ba5c45e',
    );
  });
});

describe('security 1 stream', () => {
  it('both directions consume one keystream: equal plaintexts never encrypt alike', () => {
    const { device, client } = pair(1);
    runHandshake(client, device);
    const a = client.encrypt(utf8('same'));
    expect(device.decrypt(a)).toEqual(utf8('same'));
    const b = device.encrypt(utf8('same'));
    expect(hex(b)).not.toBe(hex(a));
    expect(client.decrypt(b)).toEqual(utf8('same'));
  });

  it('a wrong PoP fails the device check and the client gets POP_INVALID', () => {
    const { device, client } = pair(1, 'wrong');
    expect(() => runHandshake(client, device)).toThrow(expect.objectContaining({ code: 'POP_INVALID' }));
    expect(device.established).toBe(false);
    expect(() => device.decrypt(new Uint8Array(4))).toThrow(
      expect.objectContaining({ code: 'SESSION_EXPIRED' }),
    );
  });
});

describe('security 2 AES-GCM with the counter nonce (sec_patch_ver 1)', () => {
  it('nonce = session id || be32 counter from 1, incremented on every encrypt and decrypt', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
    const sid = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const start = Uint8Array.from([...sid, 0, 0, 0, 1]);
    const device = new GcmCounterCipher(key, start);
    const client = new GcmCounterCipher(key, start);
    const request = client.encrypt(utf8('one'));
    // Independent construction with node:crypto: counter 1 for the request…
    expect(hex(request)).toBe(hex(rawGcm(key, Uint8Array.from([...sid, 0, 0, 0, 1]), utf8('one'))));
    expect(device.decrypt(request)).toEqual(utf8('one'));
    // …and counter 2 for its answer, on both sides.
    const answer = device.encrypt(utf8('two'));
    expect(hex(answer)).toBe(hex(rawGcm(key, Uint8Array.from([...sid, 0, 0, 0, 2]), utf8('two'))));
    expect(client.decrypt(answer)).toEqual(utf8('two'));
    expect(hex(client.nextNonce)).toBe('010203040506070800000003');
    // sec_patch_ver 0 firmware reuses its nonce.
    const legacy = new GcmCounterCipher(key, start, 0);
    legacy.encrypt(utf8('x'));
    expect(hex(legacy.nextNonce)).toBe(hex(start));
  });

  it('rejects tampered ciphertext and tag, without moving the counter', () => {
    const { device, client } = pair(2);
    runHandshake(client, device);
    const request = client.encrypt(utf8('set wifi'));
    for (const index of [0, request.length - 1]) {
      const tampered = Uint8Array.from(request);
      tampered[index]! ^= 0x01;
      expect(() => device.decrypt(tampered)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
    expect(() => device.decrypt(request.subarray(0, 10))).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
    expect(device.decrypt(request)).toEqual(utf8('set wifi'));
    // A replay no longer decrypts: the nonce has moved on.
    expect(() => device.decrypt(request)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    const answer = device.encrypt(utf8('ok'));
    const bad = Uint8Array.from(answer);
    bad[0]! ^= 0x80;
    expect(() => client.decrypt(bad)).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
  });

  it('a wrong PoP is refused by the device (POP_INVALID) and no keys come out', () => {
    const { device, client } = pair(2, 'abcd1235');
    expect(() => runHandshake(client, device)).toThrow(expect.objectContaining({ code: 'POP_INVALID' }));
    expect(device.established).toBe(false);
    expect(client.established).toBe(false);
  });

  it('a device that cannot prove the PoP is refused by the client', () => {
    const impostor = createDeviceSecuritySession(
      { version: 2, credential: makeSrpVerifier('other') },
      { guard: unlimitedPopGuard },
    );
    const client = createClientSecuritySession({ version: 2, pop: POP });
    // The impostor rejects our proof first; a client never trusts a session the device did not prove.
    expect(() => runHandshake(client, impostor)).toThrow(expect.objectContaining({ code: 'POP_INVALID' }));
    expect(client.established).toBe(false);
  });
});

function rawGcm(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  return Uint8Array.from(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
}
