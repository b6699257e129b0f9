import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bigIntToBytes, bytesToBigInt } from '../../provisioning/protocol/security/big-bytes.js';
import { bigIntModPow } from '../../provisioning/protocol/security/mod-pow.js';
import { modPowFor, openSslModPow } from '../../provisioning/protocol/security/mod-pow-openssl.js';
import { seededRandom } from '../../provisioning/protocol/security/seeded-random.js';
import { SRP_GROUP_1024, SRP_GROUP_3072 } from '../../provisioning/protocol/security/srp-groups.js';
import { makeSrpVerifier } from '../../provisioning/protocol/security/srp-verifier.js';
import { ESPRESSIF_SRP, Srp6a } from '../../provisioning/protocol/security/srp6a.js';
import { PROVIDERS } from './security-transcript.js';

const big = (value: string) => BigInt(`0x${value.replace(/\s+/g, '')}`);
const bytes = (value: string) => Uint8Array.from(Buffer.from(value.replace(/\s+/g, ''), 'hex'));
const utf8 = (value: string) => new TextEncoder().encode(value);

// RFC 5054 Appendix B (SHA-1, 1024-bit group, g = 2).
const I = 'alice';
const P = utf8('password123');
const s = bytes('BEB25379 D1A8581E B5A72767 3A2441EE');
const vectors = {
  k: big('7556AA04 5AEF2CDD 07ABAF0F 665C3E81 8913186F'),
  x: big('94B7555A ABE9127C C58CCF49 93DB6CF8 4D16C124'),
  v: big(`7E273DE8 696FFC4F 4E337D05 B4B375BE B0DDE156 9E8FA00A 9886D812 9BADA1F1 822223CA 1A605B53
          0E379BA4 729FDC59 F105B478 7E5186F5 C671085A 1447B52A 48CF1970 B4FB6F84 00BBF4CE BFBB1681
          52E08AB5 EA53D15C 1AFF87B2 B9DA6E04 E058AD51 CC72BFC9 033B564E 26480D78 E955A5E2 9E7AB245
          DB2BE315 E2099AFB`),
  a: big('60975527 035CF2AD 1989806F 0407210B C81EDC04 E2762A56 AFD529DD DA2D4393'),
  b: big('E487CB59 D31AC550 471E81F0 0F6928E0 1DDA08E9 74A004F4 9E61F5D1 05284D20'),
  A: big(`61D5E490 F6F1B795 47B0704C 436F523D D0E560F0 C64115BB 72557EC4 4352E890 3211C046 92272D8B
          2D1A5358 A2CF1B6E 0BFCF99F 921530EC 8E393561 79EAE45E 42BA92AE ACED8251 71E1E8B9 AF6D9C03
          E1327F44 BE087EF0 6530E69F 66615261 EEF54073 CA11CF58 58F0EDFD FE15EFEA B349EF5D 76988A36
          72FAC47B 0769447B`),
  B: big(`BD0C6151 2C692C0C B6D041FA 01BB152D 4916A1E7 7AF46AE1 05393011 BAF38964 DC46A067 0DD125B9
          5A981652 236F99D9 B681CBF8 7837EC99 6C6DA044 53728610 D0C6DDB5 8B318885 D7D82C7F 8DEB75CE
          7BD4FBAA 37089E6F 9C6059F3 88838E7A 00030B33 1EB76840 910440B1 B27AAEAE EB4012B7 D7665238
          A8E3FB00 4B117B58`),
  u: big('CE38B959 3487DA98 554ED47D 70A7AE5F 462EF019'),
  S: big(`B0DC82BA BCF30674 AE450C02 87745E79 90A3381F 63B387AA F271A10D 233861E3 59B48220 F7C4693C
          9AE12B0A 6F67809F 0876E2D0 13800D6C 41BB59B6 D5979B5C 00A172B4 A2A5903A 0BDCAF8A 709585EB
          2AFAFA8F 3499B200 210DCC1F 10EB3394 3CD67FC8 8A2F39A4 BE5BEC4E C0A3212D C346D7E4 74B29EDE
          8A469FFE CA686E5A`),
};

describe.each(PROVIDERS)('SRP-6a, RFC 5054 Appendix B vectors, %s', (_name, crypto) => {
  it('matches k, x, v, A, B, u and S', async () => {
    const srp = new Srp6a({ group: SRP_GROUP_1024, hash: 'sha1' }, crypto);
    expect(await srp.k()).toBe(vectors.k);
    expect(await srp.x(s, I, P)).toBe(vectors.x);
    expect(await srp.verifier(s, I, P)).toBe(vectors.v);
    expect(srp.clientPublic(vectors.a)).toBe(vectors.A);
    expect(await srp.serverPublic(vectors.b, vectors.v)).toBe(vectors.B);
    expect(await srp.u(vectors.A, vectors.B)).toBe(vectors.u);
    expect(await srp.clientSecret(vectors.B, vectors.a, vectors.u, vectors.x)).toBe(vectors.S);
    expect(srp.serverSecret(vectors.A, vectors.v, vectors.u, vectors.b)).toBe(vectors.S);
  });

  it('a wrong password gives a different premaster secret', async () => {
    const srp = new Srp6a({ group: SRP_GROUP_1024, hash: 'sha1' }, crypto);
    const x = await srp.x(s, I, utf8('password124'));
    expect(await srp.clientSecret(vectors.B, vectors.a, vectors.u, x)).not.toBe(vectors.S);
  });
});

describe('modular exponentiation engines', () => {
  it('OpenSSL and BigInt agree at 3072 bits, including the edge bases', () => {
    const N = SRP_GROUP_3072.N;
    const fast = openSslModPow(N);
    const slow = bigIntModPow(N);
    const random = seededRandom('modpow');
    for (const bits of [1, 256, 512, 1024, 1800]) {
      const e = bytesToBigInt(random(Math.ceil(bits / 8))) | 1n;
      for (const base of [0n, 1n, 2n, 5n, N - 1n, N + 3n, bytesToBigInt(random(384))]) {
        expect(fast(base, e)).toBe(slow(base, e));
      }
    }
    expect(fast(7n, 0n)).toBe(1n);
  });

  it('picks OpenSSL for the modp15 prime without the safe-prime check', () => {
    const started = performance.now();
    const pow = modPowFor(SRP_GROUP_3072.N);
    expect(pow(5n, 3n)).toBe(125n);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe.each(PROVIDERS)('Espressif security 2 SRP (SHA-512, 3072-bit, g = 5), %s', (_name, crypto) => {
  it('makeSrpVerifier matches v = g^x and never yields a salt with a leading zero byte', async () => {
    const srp = new Srp6a(ESPRESSIF_SRP, crypto);
    const zeroFirst = (() => {
      let calls = 0;
      return (size: number) => {
        calls++;
        const out = seededRandom(`salt${calls}`)(size);
        out[0] = calls < 3 ? 0 : out[0]! | 1;
        return out;
      };
    })();
    const { salt, verifier } = await makeSrpVerifier('abcd1234', undefined, { random: zeroFirst, crypto });
    expect(salt[0]).not.toBe(0);
    expect(salt).toHaveLength(16);
    expect(bytesToBigInt(verifier)).toBe(srp.modPow(5n, await srp.x(salt, 'wifiprov', utf8('abcd1234'))));
  });

  it('a given salt is kept; the verifier is minimal big-endian', async () => {
    const salt = bytes('00112233445566778899aabbccddeeff');
    const { salt: kept, verifier } = await makeSrpVerifier('pop', salt, { crypto });
    expect(kept).toEqual(salt);
    expect(verifier[0]).not.toBe(0);
    expect(bigIntToBytes(bytesToBigInt(verifier))).toEqual(verifier);
  });

  // Expected values computed with esp_prov's own srp6a.py (esp-idf v5.5.5), salt 01..10.
  it('verifiers equal esp_prov --sec2_gen_cred, including a PoP whose H(I:p) starts with a zero byte', async () => {
    const salt = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const { verifier } = await makeSrpVerifier('abcd1234', salt, { crypto });
    expect(verifier).toHaveLength(384);
    expect(Buffer.from(verifier.subarray(0, 16)).toString('hex')).toBe('4b4b35650b58ff84f9db7774fb4f4e52');
    expect(sha256(verifier)).toBe('a09dc4ccceb34edb033b66b75ea6010cea0e8b275485ed9ceacdb2e9895cbc2f');
    // sha512("wifiprov:pop212") begins with 0x00; esp_prov drops that byte before hashing with the salt.
    expect(sha256((await makeSrpVerifier('pop212', salt, { crypto })).verifier)).toBe(
      'a335e34069a9e050bde458581a9be6b9337d5f7e2896321f1a41b8709951bc7a',
    );
    expect((await new Srp6a(ESPRESSIF_SRP, crypto).k()).toString(16).slice(0, 40)).toBe(
      'a9c2e2559bf0ebb53f0cbbf62282906bede7f218',
    );
  });
});
