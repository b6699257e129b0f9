/**
 * SRP-6a arithmetic (RFC 5054 §2.5–2.6, RFC 2945), parameterised on group and hash so the RFC 5054
 * Appendix B vectors (SHA-1, 1024-bit) run through the same code as Espressif's security 2
 * (SHA-512, 3072-bit). Encodings follow esp-idf esp_srp.c (device) and esp_prov srp6a.py (client):
 *
 * - k = H(N | PAD(g)), u = H(PAD(A) | PAD(B))                     (both pad to len(N))
 * - x = H(s | H(I ":" p)), inner digest minimal-encoded             (esp_prov: H(s, H(...)) goes
 *   through long_to_bytes, dropping a leading zero byte; salts are generated without one)
 * - K = H(S), S minimal-encoded                                     (esp_srp.c: to_bin(S))
 * - M1 = H(H(N) xor H(PAD(g)) | H(I) | s | A | B | K)               (g padded: esp_srp.c, srp6a.py)
 * - M2 = H(A | M1 | K)
 * A and B enter M1/M2 as they went over the wire: the client always sends a full-width A (esp_prov
 * re-rolls a until it is), the device sends B minimal-encoded.
 */
import {
  bigIntToBytes,
  bigIntToPaddedBytes,
  bytesEqual,
  bytesToBigInt,
  stripLeadingZeros,
} from './big-bytes.js';
import type { CryptoProvider } from './crypto-provider.js';
import { defaultCrypto } from './default-crypto.js';
import type { ModPow } from './mod-pow.js';
import { SRP_GROUP_3072, type SrpGroup } from './srp-groups.js';

export type SrpHash = 'sha1' | 'sha512';

export interface SrpSuite {
  group: SrpGroup;
  hash: SrpHash;
}

/** Espressif security 2: SHA-512 over the 3072-bit group, g = 5. */
export const ESPRESSIF_SRP: SrpSuite = { group: SRP_GROUP_3072, hash: 'sha512' };

/** esp_prov and esp-idf security 2: the fixed SRP username. */
export const SEC2_USERNAME = 'wifiprov';

const utf8 = new TextEncoder();

/** The arithmetic is synchronous (BigInt or OpenSSL); the hashes go through the provider, so are async. */
export class Srp6a {
  readonly N: bigint;
  readonly g: bigint;
  readonly width: number;
  readonly modPow: ModPow;
  readonly #hash: SrpHash;
  readonly crypto: CryptoProvider;
  #k: Promise<bigint> | undefined;

  constructor(suite: SrpSuite, crypto: CryptoProvider = defaultCrypto) {
    this.N = suite.group.N;
    this.g = suite.group.g;
    this.width = suite.group.byteLength;
    this.#hash = suite.hash;
    this.crypto = crypto;
    this.modPow = crypto.modPow(this.N);
  }

  H(...parts: Uint8Array[]): Promise<Uint8Array> {
    return this.crypto.digest(this.#hash, ...parts);
  }

  pad(value: bigint): Uint8Array {
    return bigIntToPaddedBytes(value, this.width);
  }

  /** k = H(N | PAD(g)) */
  k(): Promise<bigint> {
    this.#k ??= this.H(this.pad(this.N), this.pad(this.g)).then(bytesToBigInt);
    return this.#k;
  }

  /** x = H(s | H(I ":" p)) */
  async x(salt: Uint8Array, username: string, password: Uint8Array): Promise<bigint> {
    const inner = await this.H(utf8.encode(`${username}:`), password);
    return bytesToBigInt(await this.H(salt, stripLeadingZeros(inner)));
  }

  /** v = g^x */
  async verifier(salt: Uint8Array, username: string, password: Uint8Array): Promise<bigint> {
    return this.modPow(this.g, await this.x(salt, username, password));
  }

  /** A = g^a */
  clientPublic(a: bigint): bigint {
    return this.modPow(this.g, a);
  }

  /** B = (k·v + g^b) mod N */
  async serverPublic(b: bigint, v: bigint): Promise<bigint> {
    return ((await this.k()) * v + this.modPow(this.g, b)) % this.N;
  }

  /** u = H(PAD(A) | PAD(B)) */
  async u(A: bigint, B: bigint): Promise<bigint> {
    return bytesToBigInt(await this.H(this.pad(A), this.pad(B)));
  }

  /** Client premaster S = (B − k·g^x)^(a + u·x) */
  async clientSecret(B: bigint, a: bigint, u: bigint, x: bigint): Promise<bigint> {
    const base = (((B - (await this.k()) * this.modPow(this.g, x)) % this.N) + this.N) % this.N;
    return this.modPow(base, a + u * x);
  }

  /** Server premaster S = (A · v^u)^b */
  serverSecret(A: bigint, v: bigint, u: bigint, b: bigint): bigint {
    return this.modPow((A * this.modPow(v, u)) % this.N, b);
  }

  /** K = H(S) */
  sessionKey(S: bigint): Promise<Uint8Array> {
    return this.H(bigIntToBytes(S));
  }

  /** M1 = H(H(N) xor H(PAD(g)) | H(I) | s | A | B | K) */
  async clientProof(
    username: string,
    salt: Uint8Array,
    A: Uint8Array,
    B: Uint8Array,
    K: Uint8Array,
  ): Promise<Uint8Array> {
    const hN = await this.H(bigIntToBytes(this.N));
    const hg = await this.H(this.pad(this.g));
    const xor = hN.map((byte, i) => byte ^ hg[i]!);
    return this.H(xor, await this.H(utf8.encode(username)), salt, A, B, K);
  }

  /** M2 = H(A | M1 | K) */
  serverProof(A: Uint8Array, M1: Uint8Array, K: Uint8Array): Promise<Uint8Array> {
    return this.H(A, M1, K);
  }
}

/** Constant-time equality for proofs. */
export const proofsEqual = bytesEqual;
