/**
 * The cryptography the security sessions need, behind one asynchronous interface with two
 * implementations: node:crypto (OpenSSL, including its fast modular exponentiation for SRP) for the
 * command line, the firmware simulator and the fleet; WebCrypto with BigInt powers for the web
 * console, where the same session code runs in the browser. WebCrypto is asynchronous, so the
 * interface is too. `defaultCrypto` (default-crypto.ts) is the one for the platform.
 */
import type { ModPow } from './mod-pow.js';

export type HashName = 'sha1' | 'sha256' | 'sha512';

/** An X25519 private key kept by its provider, with its raw 32-byte public key. */
export interface X25519Secret {
  readonly publicKey: Uint8Array;
  /** X25519(own, peer). Rejects a peer key that gives the all-zero secret (RFC 7748 §6.1). */
  sharedSecret(peerPublicKey: Uint8Array): Promise<Uint8Array>;
}

/** AES-256-GCM with a 16-byte tag and no additional data. */
export interface AesGcmKey {
  /** ciphertext || tag */
  seal(nonce: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Rejects when the tag does not verify. */
  open(nonce: Uint8Array, sealed: Uint8Array): Promise<Uint8Array>;
}

/** AES-256-CTR without state: each call starts the keystream at the counter block it is given. */
export interface AesCtrKey {
  /** data XOR the keystream from this 16-byte counter block (all 128 bits count, big-endian). */
  xor(counterBlock: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
}

export interface CryptoProvider {
  readonly name: string;
  digest(hash: HashName, ...parts: Uint8Array[]): Promise<Uint8Array>;
  /** base^exponent mod `modulus`, synchronous (BigInt, or OpenSSL under Node). */
  modPow(modulus: bigint): ModPow;
  /** The X25519 key pair of 32 secret bytes (clamped by X25519 itself, RFC 7748 §5). */
  x25519(secret: Uint8Array): Promise<X25519Secret>;
  aesGcmKey(key: Uint8Array): Promise<AesGcmKey>;
  aesCtrKey(key: Uint8Array): Promise<AesCtrKey>;
}
