/** Identifiers and secrets. Every secret comes from the OS CSPRNG. */
import { hash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `length` characters from [A-Z0-9], unbiased (rejection sampling). */
export function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 252 && out.length < length) out += ALPHANUM[byte % 36];
    }
  }
  return out;
}

const ID_BYTES = 12;
/**
 * Random bytes for ids, drawn from the CSPRNG 256 ids at a time: one randomBytes() call costs
 * ≈ 6 µs whatever its size, and an id is made for every audit event and activity record.
 */
const idPool = Buffer.alloc(ID_BYTES * 256);
let idPoolOffset = idPool.length;

/** A record id with a readable prefix: `usr_…`, `org_…`, `dev_…`. */
export function newId(prefix: string): string {
  if (idPoolOffset === idPool.length) {
    randomFillSync(idPool);
    idPoolOffset = 0;
  }
  const id = idPool.toString('base64url', idPoolOffset, idPoolOffset + ID_BYTES);
  idPoolOffset += ID_BYTES;
  return `${prefix}_${id}`;
}

/** A template id as Blynk writes them: TMPL + 8 characters. */
export const newTemplateId = (): string => `TMPL${randomAlphanumeric(8)}`;

/** A device auth token: 24 random bytes, URL-safe base64, 32 characters (as Blynk). */
export const newDeviceToken = (): string => randomBytes(24).toString('base64url');

/** An opaque secret for refresh tokens, setup codes and links: 32 random bytes. */
export const newSecret = (): string => randomBytes(32).toString('base64url');

/**
 * SHA-256, hex. For high-entropy secrets (tokens, refresh tokens, codes) a fast hash is right:
 * they cannot be guessed, and the broker looks them up on every CONNECT. Passwords use scrypt.
 */
export const sha256Hex = (value: string): string => hash('sha256', value, 'hex');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
