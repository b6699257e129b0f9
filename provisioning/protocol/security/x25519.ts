/**
 * X25519 (RFC 7748) with raw 32-byte keys, as security 1 puts them on the wire, over any crypto
 * provider: the checks and error codes live here, the curve arithmetic in the provider.
 */
import { TetherError } from '../../../shared/errors.js';
import type { CryptoProvider, X25519Secret } from './crypto-provider.js';

export const X25519_KEY_LENGTH = 32;

/** DER prefix that wraps 32 raw secret bytes as a PKCS#8 X25519 private key (RFC 8410). */
export const X25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);

/** The base point u = 9: X25519(k, 9) is k's public key (RFC 7748 §6.1). */
export const X25519_BASE_POINT = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 9 : 0));

/** The shared secret with a peer's raw public key; refuses a key of the wrong size or a low-order point. */
export async function x25519SharedSecret(own: X25519Secret, peerPublicKey: Uint8Array): Promise<Uint8Array> {
  if (peerPublicKey.length !== X25519_KEY_LENGTH) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `An X25519 public key has 32 bytes, not ${peerPublicKey.length}.`,
    );
  }
  try {
    return await own.sharedSecret(peerPublicKey);
  } catch (error) {
    // Both OpenSSL and WebCrypto refuse points that give an all-zero secret (RFC 7748 §6.1 check).
    throw new TetherError('VALIDATION_FAILED', 'The X25519 public key is not usable (low-order point).', {
      cause: error,
    });
  }
}

/** X25519(scalar, u) on raw bytes: the RFC 7748 §5.2 function, for known-answer tests. */
export async function x25519(crypto: CryptoProvider, scalar: Uint8Array, u: Uint8Array): Promise<Uint8Array> {
  return x25519SharedSecret(await crypto.x25519(scalar), u);
}
