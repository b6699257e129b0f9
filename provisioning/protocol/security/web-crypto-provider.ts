/**
 * The crypto provider for the browser: WebCrypto (SHA, AES-GCM, AES-CTR, X25519) and BigInt for the
 * SRP powers, which WebCrypto does not offer. Runs in Node too (globalThis.crypto.subtle), which is
 * how the known-answer tests check it against the same vectors as the Node provider.
 *
 * WebCrypto needs a secure context in a browser (HTTPS or localhost); `subtle` is looked up when a
 * key is first needed, so loading this module on a plain-HTTP page is harmless.
 */
import type { webcrypto } from 'node:crypto';
import { concatBytes } from './big-bytes.js';
import type { CryptoProvider, HashName } from './crypto-provider.js';
import { bigIntModPow } from './mod-pow.js';
import { X25519_BASE_POINT, X25519_PKCS8_PREFIX } from './x25519.js';

const HASHES: Readonly<Record<HashName, string>> = { sha1: 'SHA-1', sha256: 'SHA-256', sha512: 'SHA-512' };

/** A copy WebCrypto accepts as a BufferSource (an ArrayBuffer-backed view, never a shared one). */
const own = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes);

// The standard Web Crypto types, named through Node's declarations of them (the root project has no DOM lib).
type SubtleCrypto = webcrypto.SubtleCrypto;
type CryptoKey = webcrypto.CryptoKey;

export function webCryptoProvider(subtle?: SubtleCrypto): CryptoProvider {
  const api = (): SubtleCrypto => {
    const found = subtle ?? (globalThis.crypto?.subtle as SubtleCrypto | undefined);
    if (!found) {
      throw new Error(
        'Web Crypto is not available here: the page must be served over HTTPS or from localhost.',
      );
    }
    return found;
  };
  const derive = async (privateKey: CryptoKey, peer: Uint8Array) => {
    const publicKey = await api().importKey('raw', own(peer), { name: 'X25519' }, false, []);
    return new Uint8Array(await api().deriveBits({ name: 'X25519', public: publicKey }, privateKey, 256));
  };
  return {
    name: 'WebCrypto (BigInt modexp)',
    async digest(hash, ...parts) {
      return new Uint8Array(await api().digest(HASHES[hash], own(concatBytes(...parts))));
    },
    modPow: bigIntModPow,
    async x25519(secret) {
      const privateKey = await api().importKey(
        'pkcs8',
        own(concatBytes(X25519_PKCS8_PREFIX, secret)),
        { name: 'X25519' },
        false,
        ['deriveBits'],
      );
      return {
        publicKey: await derive(privateKey, X25519_BASE_POINT),
        sharedSecret: (peer) => derive(privateKey, peer),
      };
    },
    async aesGcmKey(key) {
      const k = await api().importKey('raw', own(key), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
      return {
        async seal(nonce, plaintext) {
          const params = { name: 'AES-GCM', iv: own(nonce), tagLength: 128 };
          return new Uint8Array(await api().encrypt(params, k, own(plaintext)));
        },
        async open(nonce, sealed) {
          const params = { name: 'AES-GCM', iv: own(nonce), tagLength: 128 };
          return new Uint8Array(await api().decrypt(params, k, own(sealed)));
        },
      };
    },
    async aesCtrKey(key) {
      const k = await api().importKey('raw', own(key), { name: 'AES-CTR' }, false, ['encrypt']);
      return {
        async xor(counterBlock, data) {
          // length 128: the whole block is the counter, as mbedtls and OpenSSL increment it.
          const params = { name: 'AES-CTR', counter: own(counterBlock), length: 128 };
          return new Uint8Array(await api().encrypt(params, k, own(data)));
        },
      };
    },
  };
}

export const webCrypto = webCryptoProvider();
