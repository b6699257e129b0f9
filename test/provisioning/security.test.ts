import { createCipheriv, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeSessionData } from '../../provisioning/protocol/messages/session-messages.js';
import { AesCtrStream } from '../../provisioning/protocol/security/aes-ctr-stream.js';
import type { CryptoProvider } from '../../provisioning/protocol/security/crypto-provider.js';
import { GcmCounterCipher } from '../../provisioning/protocol/security/gcm-counter-cipher.js';
import { nodeCrypto } from '../../provisioning/protocol/security/node-crypto-provider.js';
import { unlimitedPopGuard } from '../../provisioning/protocol/security/pop-attempt-limiter.js';
import {
  createClientSecuritySession,
  createDeviceSecuritySession,
} from '../../provisioning/protocol/security/security-factory.js';
import { seededRandom } from '../../provisioning/protocol/security/seeded-random.js';
import { makeSrpVerifier } from '../../provisioning/protocol/security/srp-verifier.js';
import { webCrypto } from '../../provisioning/protocol/security/web-crypto-provider.js';
import { PROVIDERS, runHandshake } from './security-transcript.js';

const POP = 'abcd1234';
const utf8 = (value: string) => new TextEncoder().encode(value);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** A client and a device with seeded randomness; each side may use its own crypto provider. */
async function pair(
  version: 1 | 2,
  clientPop = POP,
  crypto: { client: CryptoProvider; device: CryptoProvider } = { client: nodeCrypto, device: nodeCrypto },
) {
  const credential = await makeSrpVerifier(POP, undefined, {
    random: seededRandom('salt'),
    crypto: crypto.device,
  });
  const device = createDeviceSecuritySession(
    version === 1 ? { version: 1, pop: POP } : { version: 2, credential },
    { guard: unlimitedPopGuard, random: seededRandom('device'), crypto: crypto.device },
  );
  const client = createClientSecuritySession({
    version,
    pop: clientPop,
    random: seededRandom('client'),
    crypto: crypto.client,
  });
  return { device, client, credential };
}

// Each provider on both sides, and the web console's case: a WebCrypto client, a node:crypto device.
const PAIRINGS: Array<[string, { client: CryptoProvider; device: CryptoProvider }]> = [
  ...PROVIDERS.map(([name, p]): [string, { client: CryptoProvider; device: CryptoProvider }] => [
    name,
    { client: p, device: p },
  ]),
  ['WebCrypto client, node:crypto device', { client: webCrypto, device: nodeCrypto }],
];

function digest(messages: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const message of messages) hash.update(message);
  return hash.digest('hex');
}

describe.each(PAIRINGS)(
  'fixed-input transcripts (seeded randomness): any change in the bytes is caught, %s',
  (_name, crypto) => {
    it('security 1', async () => {
      const { device, client } = await pair(1, POP, crypto);
      const { handshake } = await runHandshake(client, device);
      expect(handshake.map((m) => m.length)).toEqual([41, 61, 43, 43]);
      const request = await client.encrypt(utf8('hello device'));
      expect(await device.decrypt(request)).toEqual(utf8('hello device'));
      const answer = await device.encrypt(utf8('hello client'));
      expect(await client.decrypt(answer)).toEqual(utf8('hello client'));
      expect(hex(handshake[3]!)).toBe(
        '10015a270803ba01221a20378905ff551a8bddbba1015cea910fd7ae12d780f5bf36f92cc9cba6cb4580ed',
      );
      expect(hex(request)).toBe('557aa1d78972df6bfab1a2d9');
      expect(hex(answer)).toBe('95ece69f5275c2509109307c');
      expect(digest([...handshake, request, answer])).toBe(
        '14f78221e929c737a5a39667c0b61699cfeef3ff4d8a3519c83ab7b71fc9b052',
      );
    });

    it('security 2', async () => {
      const { device, client, credential } = await pair(2, POP, crypto);
      expect(hex(credential.salt)).toBe('6d75c42104e8175ec4e761fe69948343');
      const { handshake } = await runHandshake(client, device);
      expect(handshake.map((m) => m.length)).toEqual([406, 416, 75, 89]);
      const request = await client.encrypt(utf8('hello device'));
      expect(await device.decrypt(request)).toEqual(utf8('hello device'));
      const answer = await device.encrypt(utf8('hello client'));
      expect(await client.decrypt(answer)).toEqual(utf8('hello client'));
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
  },
);

describe('security 1 stream', () => {
  it('both directions consume one keystream: equal plaintexts never encrypt alike', async () => {
    const { device, client } = await pair(1);
    await runHandshake(client, device);
    const a = await client.encrypt(utf8('same'));
    expect(await device.decrypt(a)).toEqual(utf8('same'));
    const b = await device.encrypt(utf8('same'));
    expect(hex(b)).not.toBe(hex(a));
    expect(await client.decrypt(b)).toEqual(utf8('same'));
  });

  it.each(PROVIDERS)(
    'keeps its place in the keystream across messages of any length, %s',
    async (_name, crypto) => {
      // One OpenSSL CTR cipher fed message after message is the reference: a stateless provider
      // must land on the same bytes, message boundaries inside or across 16-byte blocks alike.
      const key = Uint8Array.from({ length: 32 }, (_, i) => i * 3);
      const counter = Uint8Array.from([...new Array(15).fill(0xff), 0xfe]); // carries across all 128 bits
      const reference = createCipheriv('aes-256-ctr', key, counter);
      const stream = await AesCtrStream.create(crypto, key, counter);
      for (const length of [1, 15, 16, 17, 3, 32, 0, 45, 7]) {
        const data = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
        expect(hex(await stream.apply(data)), `a ${length}-byte message`).toBe(hex(reference.update(data)));
      }
      // Messages started together still take keystream in call order.
      const [x, y] = await Promise.all([stream.apply(utf8('first')), stream.apply(utf8('second'))]);
      expect(hex(x)).toBe(hex(reference.update(utf8('first'))));
      expect(hex(y)).toBe(hex(reference.update(utf8('second'))));
    },
  );

  it('a wrong PoP fails the device check and the client gets POP_INVALID', async () => {
    const { device, client } = await pair(1, 'wrong');
    await expect(runHandshake(client, device)).rejects.toThrow(
      expect.objectContaining({ code: 'POP_INVALID' }),
    );
    expect(device.established).toBe(false);
    await expect(device.decrypt(new Uint8Array(4))).rejects.toThrow(
      expect.objectContaining({ code: 'SESSION_EXPIRED' }),
    );
  });
});

describe.each(PROVIDERS)(
  'security 2 AES-GCM with the counter nonce (sec_patch_ver 1), %s',
  (_name, crypto) => {
    it('nonce = session id || be32 counter from 1, incremented on every encrypt and decrypt', async () => {
      const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
      const sid = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
      const start = Uint8Array.from([...sid, 0, 0, 0, 1]);
      const device = await GcmCounterCipher.create(crypto, key, start);
      const client = await GcmCounterCipher.create(crypto, key, start);
      const request = await client.encrypt(utf8('one'));
      // Independent construction with node:crypto: counter 1 for the request…
      expect(hex(request)).toBe(hex(rawGcm(key, Uint8Array.from([...sid, 0, 0, 0, 1]), utf8('one'))));
      expect(await device.decrypt(request)).toEqual(utf8('one'));
      // …and counter 2 for its answer, on both sides.
      const answer = await device.encrypt(utf8('two'));
      expect(hex(answer)).toBe(hex(rawGcm(key, Uint8Array.from([...sid, 0, 0, 0, 2]), utf8('two'))));
      expect(await client.decrypt(answer)).toEqual(utf8('two'));
      expect(hex(client.nextNonce)).toBe('010203040506070800000003');
      // Operations started together take nonces in call order, never the same one.
      const [three, four] = await Promise.all([client.encrypt(utf8('3')), client.encrypt(utf8('4'))]);
      expect(hex(three)).toBe(hex(rawGcm(key, Uint8Array.from([...sid, 0, 0, 0, 3]), utf8('3'))));
      expect(hex(four)).toBe(hex(rawGcm(key, Uint8Array.from([...sid, 0, 0, 0, 4]), utf8('4'))));
      // sec_patch_ver 0 firmware reuses its nonce.
      const legacy = await GcmCounterCipher.create(crypto, key, start, 0);
      await legacy.encrypt(utf8('x'));
      expect(hex(legacy.nextNonce)).toBe(hex(start));
    });

    it('rejects tampered ciphertext and tag, without moving the counter', async () => {
      const { device, client } = await pair(2, POP, { client: crypto, device: crypto });
      await runHandshake(client, device);
      const request = await client.encrypt(utf8('set wifi'));
      for (const index of [0, request.length - 1]) {
        const tampered = Uint8Array.from(request);
        tampered[index]! ^= 0x01;
        await expect(device.decrypt(tampered)).rejects.toThrow(
          expect.objectContaining({ code: 'VALIDATION_FAILED' }),
        );
      }
      await expect(device.decrypt(request.subarray(0, 10))).rejects.toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      );
      expect(await device.decrypt(request)).toEqual(utf8('set wifi'));
      // A replay no longer decrypts: the nonce has moved on.
      await expect(device.decrypt(request)).rejects.toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      );
      const answer = await device.encrypt(utf8('ok'));
      const bad = Uint8Array.from(answer);
      bad[0]! ^= 0x80;
      await expect(client.decrypt(bad)).rejects.toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }));
    });

    it('a wrong PoP is refused by the device (POP_INVALID) and no keys come out', async () => {
      const { device, client } = await pair(2, 'abcd1235', { client: crypto, device: crypto });
      await expect(runHandshake(client, device)).rejects.toThrow(
        expect.objectContaining({ code: 'POP_INVALID' }),
      );
      expect(device.established).toBe(false);
      expect(client.established).toBe(false);
    });

    it('a device that cannot prove the PoP is refused by the client', async () => {
      const impostor = createDeviceSecuritySession(
        { version: 2, credential: await makeSrpVerifier('other', undefined, { crypto }) },
        { guard: unlimitedPopGuard, crypto },
      );
      const client = createClientSecuritySession({ version: 2, pop: POP, crypto });
      // The impostor rejects our proof first; a client never trusts a session the device did not prove.
      await expect(runHandshake(client, impostor)).rejects.toThrow(
        expect.objectContaining({ code: 'POP_INVALID' }),
      );
      expect(client.established).toBe(false);
    });
  },
);

function rawGcm(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  return Uint8Array.from(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
}
