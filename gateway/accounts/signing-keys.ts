/**
 * The gateway's JWT signing key: Ed25519, generated on first run into the data folder
 * (keys/jwt-ed25519.json, mode 0600) and reused after. A store that lives in memory gets a key
 * that lives in memory too.
 */

import type { webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { TetherError } from '../../shared/errors.js';

type CryptoKey = webcrypto.CryptoKey;

export interface SigningKeys {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

const ALG = 'EdDSA';

async function generate(): Promise<{ keys: SigningKeys; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = `k${Date.now().toString(36)}`;
  return { keys: { kid, privateKey, publicKey }, jwk: { ...jwk, kid, alg: ALG } };
}

export async function loadOrCreateSigningKeys(dataDir: string | undefined): Promise<SigningKeys> {
  if (!dataDir) return (await generate()).keys;
  const file = join(dataDir, 'keys', 'jwt-ed25519.json');
  if (existsSync(file)) {
    try {
      const jwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
      const { d: _private, ...publicJwk } = jwk;
      return {
        kid: jwk.kid ?? 'k0',
        privateKey: (await importJWK(jwk, ALG)) as CryptoKey,
        publicKey: (await importJWK(publicJwk, ALG)) as CryptoKey,
      };
    } catch (error) {
      throw new TetherError(
        'CONFIG_INVALID',
        `The signing key ${file} cannot be read; it was left untouched.`,
        {
          cause: error,
        },
      );
    }
  }
  const { keys, jwk } = await generate();
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(jwk), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return keys;
}
