/** Identifiers and secrets. Every secret comes from the OS CSPRNG. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

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

/** A record id with a readable prefix: `usr_…`, `org_…`, `dev_…`. */
export const newId = (prefix: string): string => `${prefix}_${randomBytes(12).toString('base64url')}`;

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
export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
