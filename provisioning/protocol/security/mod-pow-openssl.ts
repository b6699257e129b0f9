/**
 * Modular exponentiation through OpenSSL (node:crypto), for the Node crypto provider.
 *
 * `openSslModPow`: a DiffieHellman object: `setPrivateKey(e)` then `computeSecret(base)` =
 * base^e mod p, ≈ 0.6 / 1.1 / 2.2 ms for 256/512/1024-bit exponents at 3072 bits. The generator does
 * not enter into computeSecret, so the object is built with g = 2: OpenSSL then recognises the RFC
 * 3526 group 15 prime as a named group and skips the safe-prime check, and construction costs
 * ≈ 0.2 ms instead of ≈ 1.6–2.7 s with g = 5 (measured; see bench/README.md).
 *
 * `modPowFor(modulus)` picks OpenSSL for the modp15 prime and BigInt for anything else (the RFC
 * 5054 1024-bit test group, whose custom-prime check would cost more than the BigInt work it saves).
 */
import { createDiffieHellman, getDiffieHellman } from 'node:crypto';
import { bigIntToPaddedBytes, bytesToBigInt } from './big-bytes.js';
import { bigIntModPow, type ModPow } from './mod-pow.js';

/** OpenSSL-backed exponentiation mod `modulus`; falls back to BigInt where OpenSSL refuses the input. */
export function openSslModPow(modulus: bigint, generatorForConstruction = 2): ModPow {
  const width = Math.ceil(modulus.toString(16).length / 2);
  const prime = Buffer.from(bigIntToPaddedBytes(modulus, width));
  const dh = createDiffieHellman(prime, generatorForConstruction);
  const slow = bigIntModPow(modulus);
  return (base, exponent) => {
    const b = ((base % modulus) + modulus) % modulus;
    // computeSecret refuses a "public key" of 0, 1 or p - 1 (and a zero private key): those are
    // trivial, and never occur with honest peers, so BigInt handles them.
    if (b <= 1n || b >= modulus - 1n || exponent < 1n) return slow(b, exponent);
    const exponentBytes = Math.ceil(exponent.toString(16).length / 2);
    dh.setPrivateKey(Buffer.from(bigIntToPaddedBytes(exponent, exponentBytes)));
    return bytesToBigInt(dh.computeSecret(Buffer.from(bigIntToPaddedBytes(b, width))));
  };
}

let modp15: bigint | undefined;
/** The RFC 3526 group 15 prime as node:crypto knows it (instant: no check runs for a built-in group). */
function modp15Prime(): bigint {
  modp15 ??= bytesToBigInt(getDiffieHellman('modp15').getPrime());
  return modp15;
}

export type ModPowEngine = 'auto' | 'openssl' | 'bigint';

export function modPowFor(modulus: bigint, engine: ModPowEngine = 'auto'): ModPow {
  if (engine === 'bigint') return bigIntModPow(modulus);
  if (engine === 'openssl' || modulus === modp15Prime()) return openSslModPow(modulus);
  return bigIntModPow(modulus);
}
