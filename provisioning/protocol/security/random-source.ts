/**
 * Where a handshake takes its randomness. Production uses the platform's CSPRNG (Web Crypto's
 * getRandomValues, in Node and in the browser alike); tests inject a seeded one (seeded-random.ts)
 * so a transcript is byte-for-byte reproducible and any change to the bytes is caught.
 */
export type RandomSource = (size: number) => Uint8Array;

/** getRandomValues fills at most 65,536 bytes per call. */
const MAX_PER_CALL = 65_536;

export const systemRandom: RandomSource = (size) => {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += MAX_PER_CALL) {
    globalThis.crypto.getRandomValues(out.subarray(at, Math.min(size, at + MAX_PER_CALL)));
  }
  return out;
};
