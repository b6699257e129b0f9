/**
 * The verified-token cache spares the Ed25519 check of an access token used again within a minute.
 * It must never keep a token alive that the gateway has ended: each revocation path is tried with
 * a token that was just used (so it sits in the cache) and must be refused on the next request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerifiedTokenCache } from '../../gateway/accounts/verified-tokens.js';
import { ManualClock } from '../../shared/clock.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { addUser, PASSWORD } from './account-support.js';

describe('VerifiedTokenCache', () => {
  const key = {};
  const exp = (clock: ManualClock, inMs: number) => Math.floor((clock.now() + inMs) / 1000);

  it('answers the claims of a token verified with the same key, until the ttl', async () => {
    const clock = new ManualClock(1_000_000);
    const cache = new VerifiedTokenCache<object>(clock, { ttlMs: 60_000, maxEntries: 10 });
    cache.set('token-a', key, { sub: 'u1', exp: exp(clock, 900_000) });
    expect(cache.get('token-a', key)).toMatchObject({ sub: 'u1' });
    expect(cache.get('token-b', key)).toBeUndefined();
    await clock.advance(60_000);
    expect(cache.get('token-a', key)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never outlives the token: an entry ends at its exp', async () => {
    const clock = new ManualClock(1_000_000);
    const cache = new VerifiedTokenCache<object>(clock, { ttlMs: 60_000, maxEntries: 10 });
    cache.set('token-a', key, { sub: 'u1', exp: exp(clock, 10_000) });
    await clock.advance(9_000);
    expect(cache.get('token-a', key)).toBeDefined();
    await clock.advance(1_000);
    expect(cache.get('token-a', key)).toBeUndefined();
    // Already expired, or with no exp at all: not kept.
    cache.set('token-b', key, { sub: 'u1', exp: exp(clock, -1_000) });
    cache.set('token-c', key, { sub: 'u1' });
    expect(cache.size).toBe(0);
  });

  it('refuses a hit when the token names a key other than the one that verified it', () => {
    const clock = new ManualClock(1_000_000);
    const cache = new VerifiedTokenCache<object>(clock, { ttlMs: 60_000, maxEntries: 10 });
    cache.set('token-a', key, { sub: 'u1', exp: exp(clock, 900_000) });
    expect(cache.get('token-a', {})).toBeUndefined();
    expect(cache.get('token-a', key)).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the oldest, and does nothing with a ttl of 0', () => {
    const clock = new ManualClock(1_000_000);
    const cache = new VerifiedTokenCache<object>(clock, { ttlMs: 60_000, maxEntries: 3 });
    for (const t of ['t1', 't2', 't3', 't4']) cache.set(t, key, { exp: exp(clock, 900_000) });
    expect(cache.size).toBe(3);
    expect(cache.get('t1', key)).toBeUndefined();
    expect(cache.get('t4', key)).toBeDefined();
    const off = new VerifiedTokenCache<object>(clock, { ttlMs: 0, maxEntries: 3 });
    off.set('t1', key, { exp: exp(clock, 900_000) });
    expect(off.get('t1', key)).toBeUndefined();
  });
});

describe('a cached access token is still refused at once when', () => {
  let gw: TestGateway;
  let admin: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
  });

  afterAll(async () => {
    await gw.stop();
  });

  /** A new user, whose token has served a request (and so is cached). */
  async function cachedUser(email: string, roleId = 'staff'): Promise<{ id: string; token: string }> {
    const user = await addUser(gw, admin, email, roleId);
    expect((await gw.api('GET', '/api/me', undefined, user.token)).status).toBe(200);
    expect((await gw.api('GET', '/api/me', undefined, user.token)).status).toBe(200);
    return user;
  }

  const refused = async (token: string) => {
    const answer = await gw.api<{ error: { code: string } }>('GET', '/api/me', undefined, token);
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('TOKEN_INVALID');
  };

  it('the user logs out (the session ends, its access token with it)', async () => {
    await addUser(gw, admin, 'cache-ann@example.com', 'staff');
    const session = await gw.api<{ accessToken: string; refreshToken: string }>('POST', '/api/auth/login', {
      email: 'cache-ann@example.com',
      password: PASSWORD,
    });
    const token = session.body.accessToken;
    expect((await gw.api('GET', '/api/me', undefined, token)).status).toBe(200);
    expect((await gw.api('GET', '/api/me', undefined, token)).status).toBe(200);
    const out = await gw.api('POST', '/api/auth/logout', { refreshToken: session.body.refreshToken }, token);
    expect(out.status).toBeLessThan(300);
    await refused(token);
  });

  it('an admin forces the user out', async () => {
    const carol = await cachedUser('cache-carol@example.com');
    expect((await gw.api('POST', `/api/users/${carol.id}/logout`, undefined, admin)).status).toBe(204);
    await refused(carol.token);
  });

  it('the user changes their password (other sessions end)', async () => {
    const dan = await cachedUser('cache-dan@example.com');
    const other = await gw.api<{ accessToken: string }>('POST', '/api/auth/login', {
      email: 'cache-dan@example.com',
      password: PASSWORD,
    });
    const changed = await gw.api(
      'POST',
      '/api/me/password',
      { currentPassword: PASSWORD, newPassword: 'an even longer new password' },
      other.body.accessToken,
    );
    expect(changed.status).toBe(200);
    await refused(dan.token);
  });

  it('an admin sets a new password for the user', async () => {
    const eve = await cachedUser('cache-eve@example.com');
    const reset = await gw.api(
      'POST',
      `/api/users/${eve.id}/reset-password`,
      { password: 'an even longer new password' },
      admin,
    );
    expect(reset.status).toBe(200);
    await refused(eve.token);
  });

  it('the user is suspended or deleted', async () => {
    const fay = await cachedUser('cache-fay@example.com');
    expect((await gw.api('PATCH', `/api/users/${fay.id}`, { status: 'suspended' }, admin)).status).toBe(200);
    await refused(fay.token);
    const gus = await cachedUser('cache-gus@example.com');
    expect((await gw.api('DELETE', `/api/users/${gus.id}`, undefined, admin)).status).toBe(200);
    await refused(gus.token);
  });

  it('the role changes: the next request is decided on the new role', async () => {
    const hal = await cachedUser('cache-hal@example.com', 'admin');
    expect((await gw.api('GET', '/api/users', undefined, hal.token)).status).toBe(200);
    expect((await gw.api('PATCH', `/api/users/${hal.id}`, { roleId: 'user' }, admin)).status).toBe(200);
    const denied = await gw.api<{ error: { code: string } }>('GET', '/api/users', undefined, hal.token);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('PERMISSION_DENIED');
  });
});
