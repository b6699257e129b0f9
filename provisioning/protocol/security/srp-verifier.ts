/**
 * "Manufacture" a security 2 credential: the device stores only salt and verifier, never the PoP.
 * Same result as `esp_prov.py --sec_ver 2 --sec2_gen_cred` (srp6a.py generate_salt_and_verifier).
 */
import { bigIntToBytes } from './big-bytes.js';
import type { CryptoProvider } from './crypto-provider.js';
import { type RandomSource, systemRandom } from './random-source.js';
import { ESPRESSIF_SRP, SEC2_USERNAME, Srp6a, type SrpSuite } from './srp6a.js';

export interface SrpVerifier {
  salt: Uint8Array;
  verifier: Uint8Array;
}

export interface MakeSrpVerifierOptions {
  username?: string;
  /** 16 bytes, as esp_prov's default. */
  saltLength?: number;
  random?: RandomSource;
  suite?: SrpSuite;
  crypto?: CryptoProvider;
}

const utf8 = new TextEncoder();

/**
 * Salt and verifier for `pop`. A given salt is used as is; a generated one never starts with a zero
 * byte, because esp_prov reads the salt back as an integer and would drop that byte (and then fail
 * the handshake one time in 256).
 */
export async function makeSrpVerifier(
  pop: string | Uint8Array,
  salt?: Uint8Array,
  options: MakeSrpVerifierOptions = {},
): Promise<SrpVerifier> {
  const random = options.random ?? systemRandom;
  let chosen = salt;
  while (!chosen) {
    const candidate = random(options.saltLength ?? 16);
    if (candidate[0] !== 0) chosen = candidate;
  }
  const srp = new Srp6a(options.suite ?? ESPRESSIF_SRP, options.crypto);
  const password = typeof pop === 'string' ? utf8.encode(pop) : pop;
  const v = await srp.verifier(chosen, options.username ?? SEC2_USERNAME, password);
  return { salt: Uint8Array.from(chosen), verifier: bigIntToBytes(v) };
}
