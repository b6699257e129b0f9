/** Build the right security session for a configuration: one entry point per role. */
import { TetherError } from '../../../shared/errors.js';
import type { SecurityVersion } from '../messages/session-messages.js';
import type { CryptoProvider } from './crypto-provider.js';
import { defaultCrypto } from './default-crypto.js';
import type { PopGuard } from './pop-attempt-limiter.js';
import { type RandomSource, systemRandom } from './random-source.js';
import type { ClientSecuritySession, DeviceSecuritySession } from './security-session.js';
import { Security0ClientSession, Security0DeviceSession } from './security0.js';
import { Security1ClientSession } from './security1-client.js';
import { Security1DeviceSession } from './security1-device.js';
import { Security2ClientSession } from './security2-client.js';
import { Security2DeviceSession } from './security2-device.js';
import type { SrpVerifier } from './srp-verifier.js';
import { ESPRESSIF_SRP, Srp6a } from './srp6a.js';

/** What a device is provisioned with. Security 2 stores salt and verifier only, never the PoP. */
export type DeviceSecurityConfig =
  | { version: 0 }
  | { version: 1 /** empty or absent: no PoP ("no_pop") */; pop?: string | Uint8Array }
  | { version: 2; credential: SrpVerifier };

export interface DeviceSecurityDeps {
  guard: PopGuard;
  random?: RandomSource;
  /** Default: the platform's (node:crypto under Node, WebCrypto in a browser). */
  crypto?: CryptoProvider;
}

const utf8 = new TextEncoder();
export const popBytes = (pop: string | Uint8Array | undefined): Uint8Array =>
  pop === undefined ? new Uint8Array(0) : typeof pop === 'string' ? utf8.encode(pop) : pop;

export function createDeviceSecuritySession(
  config: DeviceSecurityConfig,
  deps: DeviceSecurityDeps,
): DeviceSecuritySession {
  const random = deps.random ?? systemRandom;
  const crypto = deps.crypto ?? defaultCrypto;
  switch (config.version) {
    case 0:
      return new Security0DeviceSession();
    case 1:
      return new Security1DeviceSession({ pop: popBytes(config.pop), guard: deps.guard, random, crypto });
    case 2:
      return new Security2DeviceSession({
        credential: config.credential,
        srp: new Srp6a(ESPRESSIF_SRP, crypto),
        guard: deps.guard,
        random,
      });
  }
}

export interface ClientSecurityOptions {
  version: SecurityVersion;
  pop?: string | Uint8Array;
  /** Security 2 username; esp-idf's is "wifiprov". */
  username?: string;
  /** Security 2 nonce scheme from proto-ver (default 1). */
  secPatchVer?: number;
  random?: RandomSource;
  /** Default: the platform's (node:crypto under Node, WebCrypto in a browser). */
  crypto?: CryptoProvider;
  now?: () => number;
}

export function createClientSecuritySession(options: ClientSecurityOptions): ClientSecuritySession {
  const random = options.random ?? systemRandom;
  const crypto = options.crypto ?? defaultCrypto;
  const pop = popBytes(options.pop);
  const timing = options.now ? { now: options.now } : {};
  switch (options.version) {
    case 0:
      return new Security0ClientSession();
    case 1:
      return new Security1ClientSession({ pop, random, crypto, ...timing });
    case 2: {
      if (pop.length === 0) {
        throw new TetherError(
          'VALIDATION_FAILED',
          'Security 2 needs the proof-of-possession code from the device.',
        );
      }
      const patch = options.secPatchVer ?? 1;
      return new Security2ClientSession({
        pop,
        srp: new Srp6a(ESPRESSIF_SRP, crypto),
        random,
        secPatchVer: patch >= 1 ? 1 : 0,
        ...(options.username === undefined ? {} : { username: options.username }),
        ...timing,
      });
    }
  }
}
