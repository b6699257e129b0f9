/** The crypto provider for Node: OpenSSL through node:crypto, synchronous work behind the async interface. */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
} from 'node:crypto';
import { concatBytes } from './big-bytes.js';
import type { CryptoProvider } from './crypto-provider.js';
import { type ModPowEngine, modPowFor } from './mod-pow-openssl.js';
import { X25519_PKCS8_PREFIX } from './x25519.js';

// DER prefix of an X25519 SubjectPublicKeyInfo (RFC 8410) around 32 raw bytes.
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const TAG_LENGTH = 16;

export interface NodeCryptoOptions {
  /** 'auto' (default): OpenSSL for the 3072-bit SRP group, BigInt for other moduli. */
  modPow?: ModPowEngine;
}

export function nodeCryptoProvider(options: NodeCryptoOptions = {}): CryptoProvider {
  const engine = options.modPow ?? 'auto';
  return {
    name: `node:crypto (${engine} modexp)`,
    async digest(hash, ...parts) {
      const h = createHash(hash);
      for (const part of parts) h.update(part);
      return new Uint8Array(h.digest());
    },
    modPow: (modulus) => modPowFor(modulus, engine),
    async x25519(secret) {
      const privateKey = createPrivateKey({
        key: Buffer.from(concatBytes(X25519_PKCS8_PREFIX, secret)),
        format: 'der',
        type: 'pkcs8',
      });
      const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
      return {
        publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)),
        async sharedSecret(peer) {
          const publicKey = createPublicKey({
            key: Buffer.concat([SPKI_PREFIX, peer]),
            format: 'der',
            type: 'spki',
          });
          return new Uint8Array(diffieHellman({ privateKey, publicKey }));
        },
      };
    },
    async aesGcmKey(key) {
      const k = Uint8Array.from(key);
      return {
        async seal(nonce, plaintext) {
          const cipher = createCipheriv('aes-256-gcm', k, nonce, { authTagLength: TAG_LENGTH });
          return new Uint8Array(
            Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]),
          );
        },
        async open(nonce, sealed) {
          const decipher = createDecipheriv('aes-256-gcm', k, nonce, { authTagLength: TAG_LENGTH });
          decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
          const body = sealed.subarray(0, sealed.length - TAG_LENGTH);
          return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
        },
      };
    },
    async aesCtrKey(key) {
      const k = Uint8Array.from(key);
      return {
        async xor(counterBlock, data) {
          return new Uint8Array(createCipheriv('aes-256-ctr', k, counterBlock).update(data));
        },
      };
    },
  };
}

/** OpenSSL for everything, including the SRP powers. */
export const nodeCrypto = nodeCryptoProvider();
