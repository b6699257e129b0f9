/**
 * Provisioning handshake cost, client and device in one process (no transport).
 *   npx vitest bench --run bench/provisioning-handshake.bench.ts
 * Results and the modexp engine choice are recorded in bench/README.md.
 */
import { createDiffieHellman, getDiffieHellman, randomBytes } from 'node:crypto';
import { bench, describe } from 'vitest';
import { decodeSessionData, encodeSessionData } from '../provisioning/protocol/messages/session-messages.js';
import { bytesToBigInt } from '../provisioning/protocol/security/big-bytes.js';
import { bigIntModPow } from '../provisioning/protocol/security/mod-pow.js';
import { openSslModPow } from '../provisioning/protocol/security/mod-pow-openssl.js';
import { nodeCryptoProvider } from '../provisioning/protocol/security/node-crypto-provider.js';
import { unlimitedPopGuard } from '../provisioning/protocol/security/pop-attempt-limiter.js';
import { systemRandom } from '../provisioning/protocol/security/random-source.js';
import {
  createClientSecuritySession,
  createDeviceSecuritySession,
} from '../provisioning/protocol/security/security-factory.js';
import type {
  ClientSecuritySession,
  DeviceSecuritySession,
} from '../provisioning/protocol/security/security-session.js';
import { Security2ClientSession } from '../provisioning/protocol/security/security2-client.js';
import { Security2DeviceSession } from '../provisioning/protocol/security/security2-device.js';
import { SRP_GROUP_3072 } from '../provisioning/protocol/security/srp-groups.js';
import { makeSrpVerifier } from '../provisioning/protocol/security/srp-verifier.js';
import { ESPRESSIF_SRP, Srp6a } from '../provisioning/protocol/security/srp6a.js';
import { webCrypto } from '../provisioning/protocol/security/web-crypto-provider.js';

const POP = new TextEncoder().encode('abcd1234');
const credential = await makeSrpVerifier(POP);

async function handshake(client: ClientSecuritySession, device: DeviceSecuritySession): Promise<void> {
  let request = await client.start();
  for (;;) {
    const { response } = await device.handshake(decodeSessionData(encodeSessionData(request)));
    const next = await client.next(decodeSessionData(encodeSessionData(response)));
    if (!next) break;
    request = next;
  }
  if (!client.established || !device.established) throw new Error('handshake failed');
}

describe('handshake, client + device', () => {
  bench('security 1 (X25519 + AES-CTR)', async () => {
    await handshake(
      createClientSecuritySession({ version: 1, pop: POP }),
      createDeviceSecuritySession({ version: 1, pop: POP }, { guard: unlimitedPopGuard }),
    );
  });

  bench('security 1, WebCrypto client (the web console)', async () => {
    await handshake(
      createClientSecuritySession({ version: 1, pop: POP, crypto: webCrypto }),
      createDeviceSecuritySession({ version: 1, pop: POP }, { guard: unlimitedPopGuard }),
    );
  });

  bench('security 2, OpenSSL modexp (chosen)', async () => {
    await handshake(
      createClientSecuritySession({ version: 2, pop: POP }),
      createDeviceSecuritySession({ version: 2, credential }, { guard: unlimitedPopGuard }),
    );
  });

  bench(
    'security 2, WebCrypto + BigInt client (the web console)',
    async () => {
      await handshake(
        createClientSecuritySession({ version: 2, pop: POP, crypto: webCrypto }),
        createDeviceSecuritySession({ version: 2, credential }, { guard: unlimitedPopGuard }),
      );
    },
    { time: 2000 },
  );

  bench(
    'security 2, BigInt modexp',
    async () => {
      const srp = new Srp6a(ESPRESSIF_SRP, nodeCryptoProvider({ modPow: 'bigint' }));
      await handshake(
        new Security2ClientSession({ pop: POP, srp, random: systemRandom, secPatchVer: 1 }),
        new Security2DeviceSession({ credential, srp, guard: unlimitedPopGuard, random: systemRandom }),
      );
    },
    { time: 2000 },
  );
});

describe('3072-bit modexp, one operation', () => {
  const N = SRP_GROUP_3072.N;
  const fast = openSslModPow(N);
  const slow = bigIntModPow(N);
  const base = bytesToBigInt(randomBytes(384)) % N;
  for (const bits of [256, 512, 1024]) {
    const exponent = bytesToBigInt(randomBytes(bits / 8)) | (1n << BigInt(bits - 1));
    bench(`OpenSSL DiffieHellman, ${bits}-bit exponent`, () => {
      fast(base, exponent);
    });
    bench(`BigInt square-and-multiply, ${bits}-bit exponent`, () => {
      slow(base, exponent);
    });
  }
});

describe('DiffieHellman object construction (RFC 3526 group 15 prime)', () => {
  const prime = getDiffieHellman('modp15').getPrime();
  bench('createDiffieHellman(prime, 2): OpenSSL knows the group, no check', () => {
    createDiffieHellman(prime, 2);
  });
  bench(
    'createDiffieHellman(prime, 5): safe-prime check',
    () => {
      createDiffieHellman(prime, 5);
    },
    { time: 0, iterations: 3, warmupIterations: 0 },
  );
});
