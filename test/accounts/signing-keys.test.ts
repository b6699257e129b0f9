/**
 * JWT signing keys as a key set: rotation logs nobody out, the older single-key file is taken
 * over, unknown key ids are refused cheaply, and a cluster's nodes share one set through the store.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { KeySet, type KeySetOptions } from '../../gateway/accounts/signing-keys.js';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { ManualClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

const DAY = 86_400_000;
const options = (clock: ManualClock, extra: Partial<KeySetOptions> = {}): KeySetOptions => ({
  clock,
  logger: silentLogger(),
  rotateAfterMs: 30 * DAY,
  tokenTtlMs: 15 * 60_000,
  ...extra,
});

describe('signing key set', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('a rotation logs nobody out: the old token keeps working, new tokens name the new key', async () => {
    const gw: TestGateway = await startTestGateway();
    cleanup.push(() => gw.stop());
    const before = await gw.login();
    const keys = gw.gateway.services.auth.keys;
    const oldKid = decodeProtectedHeader(before).kid;
    await keys.rotate();
    expect((await gw.api('GET', '/api/templates', undefined, before)).status).toBe(200);
    const after = await gw.login();
    expect(decodeProtectedHeader(after).kid).not.toBe(oldKid);
    expect(decodeProtectedHeader(after).kid).toBe(keys.current().kid);
    expect((await gw.api('GET', '/api/templates', undefined, after)).status).toBe(200);
  });

  it('rotates by age, and drops a retired key once every token it signed has expired', async () => {
    const clock = new ManualClock(Date.now());
    const set = KeySet.local(undefined, options(clock, { rotateAfterMs: DAY }));
    await set.start();
    cleanup.push(() => set.stop());
    const first = set.current().kid;
    await clock.advance(DAY - 1);
    await set.refresh();
    expect(set.current().kid).toBe(first);
    await clock.advance(1);
    await set.refresh();
    const second = set.current().kid;
    expect(second).not.toBe(first);
    expect(await set.verificationKey(first)).toBeDefined();
    // token lifetime (15 min) + the 5-minute margin after its retirement: gone.
    await clock.advance(20 * 60_000 + 1);
    expect(await set.verificationKey(first)).toBeUndefined();
    expect(await set.verificationKey(second)).toBeDefined();
  });

  it('a token naming an unknown key, or none, is TOKEN_INVALID', async () => {
    const gw = await startTestGateway();
    cleanup.push(() => gw.stop());
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const claims = { iatms: Date.now() };
    for (const header of [{ alg: 'EdDSA', kid: 'k-made-up' }, { alg: 'EdDSA' }]) {
      const forged = await new SignJWT(claims)
        .setProtectedHeader(header)
        .setIssuer('tether')
        .setAudience('tether-api')
        .setSubject('usr_x')
        .setExpirationTime('5m')
        .sign(privateKey);
      const res = await gw.api<{ error: { code: string } }>('GET', '/api/templates', undefined, forged);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('TOKEN_INVALID');
    }
  });

  it('takes over the key of the older single-key file, so its tokens stay valid', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tether-keys-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: 'kold1', alg: 'EdDSA' };
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dataDir, 'keys'), { recursive: true });
    await writeFile(join(dataDir, 'keys', 'jwt-ed25519.json'), JSON.stringify(jwk), { mode: 0o600 });
    const set = KeySet.local(dataDir, options(new ManualClock(Date.now())));
    await set.start();
    cleanup.push(() => set.stop());
    expect(set.current().kid).toBe('kold1');
    expect(await set.verificationKey('kold1')).toBeDefined();
    const saved = JSON.parse(await readFile(join(dataDir, 'keys', 'jwt-keys.json'), 'utf8'));
    expect(saved.keys.map((k: { kid: string }) => k.kid)).toEqual(['kold1']);
    expect((await stat(join(dataDir, 'keys', 'jwt-keys.json'))).mode & 0o077).toBe(0);
    await expect(stat(join(dataDir, 'keys', 'jwt-ed25519.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a damaged key file with CONFIG_INVALID and leaves it as it was', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tether-keys-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dataDir, 'keys'), { recursive: true });
    await writeFile(join(dataDir, 'keys', 'jwt-keys.json'), '{"keys": [{"kid": 1}]}');
    const set = KeySet.local(dataDir, options(new ManualClock()));
    await expect(set.start()).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(await readFile(join(dataDir, 'keys', 'jwt-keys.json'), 'utf8')).toBe('{"keys": [{"kid": 1}]}');
  });

  it('nodes sharing a store share the set: a key rotated on one verifies on the other', async () => {
    const clock = new ManualClock(Date.now());
    const store = new EmbeddedStore({ clock });
    await store.open();
    cleanup.push(() => store.close());
    const a = KeySet.shared(store, options(clock));
    const b = KeySet.shared(store, options(clock));
    await a.start();
    await b.start();
    cleanup.push(async () => {
      await a.stop();
      await b.stop();
    });
    expect(b.current().kid).toBe(a.current().kid);
    const c = KeySet.shared(store, options(clock));
    await c.start();
    cleanup.push(() => c.stop());
    await a.rotate();
    // c learns the new key from the first token that names it.
    expect(await c.verificationKey(a.current().kid)).toBeDefined();
    // b, which has not seen it, rotating too takes a's key instead of adding a rival one.
    await b.rotate();
    expect(b.current().kid).toBe(a.current().kid);
    expect((await store.getMeta()).signingKeys).toHaveLength(2);
  });

  it('re-reads a shared set for an unknown kid at most once a second', async () => {
    const clock = new ManualClock(Date.now());
    const store = new EmbeddedStore({ clock });
    await store.open();
    cleanup.push(() => store.close());
    let reads = 0;
    const counting = new Proxy(store, {
      get: (target, property, receiver) => {
        if (property === 'getMeta') reads++;
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const set = KeySet.shared(counting, options(clock));
    await set.start();
    cleanup.push(() => set.stop());
    reads = 0;
    for (let i = 0; i < 100; i++) expect(await set.verificationKey(`knope${i}`)).toBeUndefined();
    expect(reads).toBe(1);
    await clock.advance(1000);
    await set.verificationKey('knope-again');
    expect(reads).toBe(2);
  });
});
