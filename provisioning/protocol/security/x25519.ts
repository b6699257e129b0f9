/** X25519 (RFC 7748) over node:crypto with raw 32-byte keys, as security 1 puts them on the wire. */
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { TetherError } from '../../../shared/errors.js';

// DER wrappers for a raw X25519 key (RFC 8410): PKCS#8 private key and SubjectPublicKeyInfo.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export const X25519_KEY_LENGTH = 32;

export interface X25519KeyPair {
  privateKey: KeyObject;
  publicKey: Uint8Array;
}

/** A key pair from 32 secret bytes (clamped by X25519 itself, RFC 7748 §5). */
export function x25519KeyPair(secret: Uint8Array): X25519KeyPair {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, secret]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)) };
}

/** The shared secret with a peer's raw public key; refuses a key of the wrong size or a low-order point. */
export function x25519SharedSecret(privateKey: KeyObject, peerPublicKey: Uint8Array): Uint8Array {
  if (peerPublicKey.length !== X25519_KEY_LENGTH) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `An X25519 public key has 32 bytes, not ${peerPublicKey.length}.`,
    );
  }
  try {
    const publicKey = createPublicKey({
      key: Buffer.concat([SPKI_PREFIX, peerPublicKey]),
      format: 'der',
      type: 'spki',
    });
    return new Uint8Array(diffieHellman({ privateKey, publicKey }));
  } catch (error) {
    // OpenSSL refuses points that give an all-zero secret (RFC 7748 §6.1 check).
    throw new TetherError('VALIDATION_FAILED', 'The X25519 public key is not usable (low-order point).', {
      cause: error,
    });
  }
}

/** X25519(scalar, u) on raw bytes: the RFC 7748 §5.2 function, for known-answer tests. */
export function x25519(scalar: Uint8Array, u: Uint8Array): Uint8Array {
  return x25519SharedSecret(x25519KeyPair(scalar).privateKey, u);
}
