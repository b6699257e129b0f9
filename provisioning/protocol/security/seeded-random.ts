import { createHash } from 'node:crypto';
import type { RandomSource } from './random-source.js';

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
