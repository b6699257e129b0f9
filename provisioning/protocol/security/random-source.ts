import { createHash, randomBytes } from 'node:crypto';

/**
 * Where a handshake takes its randomness. Production uses the CSPRNG; tests inject a seeded one so a
 * transcript is byte-for-byte reproducible and any change to the bytes is caught.
 */
export type RandomSource = (size: number) => Uint8Array;

export const systemRandom: RandomSource = (size) => new Uint8Array(randomBytes(size));

/** Deterministic bytes from a seed (SHA-256 in counter mode). For tests and benchmarks only. */
export function seededRandom(seed: string): RandomSource {
  let counter = 0;
  return (size) => {
    const out = new Uint8Array(size);
    for (let filled = 0; filled < size; counter++) {
      const block = createHash('sha256').update(`${seed}:${counter}`).digest();
      const take = Math.min(block.length, size - filled);
      out.set(block.subarray(0, take), filled);
      filled += take;
    }
    return out;
  };
}
