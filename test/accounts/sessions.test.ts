/**
 * Sessions: logout ends the current access token at once; a refresh token used twice ends its
 * whole session; a person lists their sessions and ends one; an ended session stays ended across
 * a restart.
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

type Tokens = { accessToken: string; refreshToken: string };

describe('sessions', () => {
  let gw: TestGateway;
  afterEach(async () => {
    await gw.stop();
  });

  const login = async () => (await gw.api<Tokens>('POST', '/api/auth/login', ADMIN)).body;
  const me = (token: string) => gw.api<{ error?: { code: string } }>('GET', '/api/me', undefined, token);

  it('logout ends the access token of that session at once, and only that session', async () => {
    gw = await startTestGateway();
    const laptop = await login();
    const phone = await login();
    expect((await me(laptop.accessToken)).status).toBe(200);
    expect((await gw.api('POST', '/api/auth/logout', { refreshToken: laptop.refreshToken })).status).toBe(
      204,
    );
    const after = await me(laptop.accessToken);
    expect(after.status).toBe(401);
    expect(after.body.error?.code).toBe('TOKEN_INVALID');
    expect((await gw.api('POST', '/api/auth/refresh', { refreshToken: laptop.refreshToken })).status).toBe(
      401,
    );
    // The other session carries on.
    expect((await me(phone.accessToken)).status).toBe(200);
  });

  it('a refresh token used twice ends its whole session (a stolen copy is worthless)', async () => {
    gw = await startTestGateway();
    const first = await login();
    const second = (await gw.api<Tokens>('POST', '/api/auth/refresh', { refreshToken: first.refreshToken }))
      .body;
    expect((await me(second.accessToken)).status).toBe(200);
    // The old token again: someone else holds a copy. Every token of the session dies.
    expect((await gw.api('POST', '/api/auth/refresh', { refreshToken: first.refreshToken })).status).toBe(
      401,
    );
    expect((await me(second.accessToken)).status).toBe(401);
    expect((await gw.api('POST', '/api/auth/refresh', { refreshToken: second.refreshToken })).status).toBe(
      401,
    );
    const audit = await gw.api<{ events: Array<{ action: string }> }>(
      'GET',
      '/api/audit',
      undefined,
      (await login()).accessToken,
    );
    expect(audit.body.events.map((e) => e.action)).toContain('auth.refresh-reused');
  });

  it('a person lists their sessions and ends another one at once', async () => {
    gw = await startTestGateway();
    const here = await login();
    const there = await login();
    const list = await gw.api<{ sessions: Array<{ id: string; current: boolean; ip: string }> }>(
      'GET',
      '/api/sessions',
      undefined,
      here.accessToken,
    );
    expect(list.body.sessions).toHaveLength(2);
    expect(list.body.sessions.filter((s) => s.current)).toHaveLength(1);
    expect(list.body.sessions[0]?.ip).toBe('127.0.0.1');
    const other = list.body.sessions.find((s) => !s.current)!;
    expect((await gw.api('DELETE', `/api/sessions/${other.id}`, undefined, here.accessToken)).status).toBe(
      204,
    );
    expect((await me(there.accessToken)).status).toBe(401);
    expect((await me(here.accessToken)).status).toBe(200);
    // Someone else's session, or one that does not exist: not found.
    expect((await gw.api('DELETE', '/api/sessions/ses_nope', undefined, here.accessToken)).status).toBe(404);
  });

  it('an ended session stays ended across a restart', async () => {
    gw = await startTestGateway({}, { keepData: true });
    const tokens = await login();
    await gw.api('POST', '/api/auth/logout', { refreshToken: tokens.refreshToken });
    const dataDir = gw.dataDir;
    await gw.stop();
    gw = await startTestGateway({}, { dataDir });
    try {
      expect((await me(tokens.accessToken)).status).toBe(401);
    } finally {
      await gw.stop();
      await rm(dataDir, { recursive: true, force: true });
      gw = { stop: async () => {} } as TestGateway;
    }
  });
});
