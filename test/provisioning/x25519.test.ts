import { describe, expect, it } from 'vitest';
import { x25519, x25519SharedSecret } from '../../provisioning/protocol/security/x25519.js';
import { PROVIDERS } from './security-transcript.js';

const hex = (value: string) => Uint8Array.from(Buffer.from(value.replace(/\s+/g, ''), 'hex'));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe.each(PROVIDERS)('X25519 (RFC 7748), %s', (_name, crypto) => {
  it('§5.2 test vector 1', async () => {
    const scalar = hex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4');
    const u = hex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c');
    expect(toHex(await x25519(crypto, scalar, u))).toBe(
      'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
    );
  });

  it('§5.2 test vector 2', async () => {
    const scalar = hex('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d');
    const u = hex('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493');
    expect(toHex(await x25519(crypto, scalar, u))).toBe(
      '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
    );
  });

  it('§6.1 Diffie-Hellman: both sides derive K', async () => {
    const alice = await crypto.x25519(
      hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
    );
    const bob = await crypto.x25519(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    expect(toHex(alice.publicKey)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(toHex(bob.publicKey)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(toHex(await x25519SharedSecret(alice, bob.publicKey))).toBe(k);
    expect(toHex(await x25519SharedSecret(bob, alice.publicKey))).toBe(k);
  });

  it('refuses a low-order point and a short key', async () => {
    const me = await crypto.x25519(new Uint8Array(32).fill(7));
    await expect(x25519SharedSecret(me, new Uint8Array(32))).rejects.toThrow(/low-order/);
    await expect(x25519SharedSecret(me, new Uint8Array(31))).rejects.toThrow(/32 bytes/);
  });
});
