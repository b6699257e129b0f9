/**
 * Password hashing with scrypt (memory-hard, in node:crypto, no native addon). Stored as
 * `scrypt$N$r$p$salt$hash` so parameters can be raised later without breaking old hashes.
 */
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { TetherError } from '../../shared/errors.js';

// OWASP's scrypt baseline: N=2^17, r=8, p=1 (128 MiB).
const DEFAULT = { N: 2 ** 17, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 256;

function derive(
  password: string,
  salt: Buffer,
  params: { N: number; r: number; p: number },
): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string | null): Promise<boolean>;
}

/** `cost` lowers N for tests only (never below 2^12); production keeps the default. */
export function createPasswordHasher(cost: { N?: number } = {}): PasswordHasher {
  const params = { ...DEFAULT, N: Math.max(2 ** 12, cost.N ?? DEFAULT.N) };
  return {
    async hash(password) {
      checkPasswordStrength(password);
      const salt = randomBytes(16);
      const key = await derive(password, salt, params);
      return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
    },
    async verify(password, stored) {
      const parts = stored?.split('$');
      if (parts?.length !== 6 || parts[0] !== 'scrypt' || password.length > MAX_PASSWORD_LENGTH) {
        // Spend the same time as a real check so a missing account is not revealed by timing.
        await derive(password.slice(0, MAX_PASSWORD_LENGTH), Buffer.alloc(16), params);
        return false;
      }
      const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
      const expected = Buffer.from(hash, 'base64');
      const key = await derive(password, Buffer.from(salt, 'base64'), {
        N: Number(n),
        r: Number(r),
        p: Number(p),
      });
      return key.length === expected.length && timingSafeEqual(key, expected);
    },
  };
}

export function checkPasswordStrength(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `A password needs ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.`,
      { details: { field: 'password' } },
    );
  }
}
