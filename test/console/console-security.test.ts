/**
 * The web console's HTTP surface without a browser: the pages and files it is served with (CSP,
 * framing, sniffing), the browser session's cookie (httpOnly, SameSite=Strict, scoped to its path,
 * rotated, cleared), the CSRF guard on every cookie-authenticated route, and the push stream scoped
 * to the devices a page shows.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../gateway/http/console-routes.js';
import { CONSOLE_PAGES } from '../../shared/console-pages.js';
import { readServerSentEvents } from '../../shared/sse.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

const CSRF = { 'x-tether-console': '1' };

describe('web console HTTP surface', () => {
  let gw: TestGateway;
  let consoleDir: string;

  beforeAll(async () => {
    // A console build of its own: the test does not depend on `npm run build` having run.
    consoleDir = await mkdtemp(join(tmpdir(), 'tether-console-'));
    await mkdir(join(consoleDir, 'assets'));
    await writeFile(
      join(consoleDir, 'index.html'),
      '<!doctype html><title>Tether</title><div id="app"></div>',
    );
    await writeFile(join(consoleDir, 'assets', 'app-ABC123.js'), 'console.log(1)');
    gw = await startTestGateway({}, { consoleDir });
  });

  afterAll(async () => {
    await gw?.stop();
    await rm(consoleDir, { recursive: true, force: true });
  });

  const login = (
    headers: Record<string, string> = CSRF,
    body = { email: ADMIN.email, password: ADMIN.password },
  ) =>
    fetch(`${gw.baseUrl}/api/browser-session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('serves every console page as index.html with a strict CSP and no framing', async () => {
    for (const path of Object.values(CONSOLE_PAGES)) {
      const res = await fetch(`${gw.baseUrl}${path.replace(':id', 'dev_x')}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain('<div id="app">');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toBe(CONSOLE_CSP);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('serves hashed assets for good, refuses odd names, and still answers JSON 404 under /api', async () => {
    const asset = await fetch(`${gw.baseUrl}/assets/app-ABC123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${gw.baseUrl}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${gw.baseUrl}/assets/..%2Findex.html`)).status).toBe(400);
    const api = await fetch(`${gw.baseUrl}/api/nothing-here`);
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('says how to build the console when it is not built', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'tether-no-console-'));
    const bare = await startTestGateway({}, { consoleDir: empty });
    try {
      const res = await fetch(`${bare.baseUrl}/`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('npm run build');
    } finally {
      await bare.stop();
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('keeps the refresh token in an httpOnly SameSite=Strict cookie scoped to the session routes', async () => {
    const res = await login();
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.accessToken).toEqual(expect.any(String));
    expect(body).not.toHaveProperty('refreshToken');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^tether_refresh=[A-Za-z0-9_-]{20,};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/api/browser-session;');
    // Plain HTTP here: a Secure cookie would be dropped; over TLS it carries Secure.
    expect(cookie).not.toContain('Secure');
  });

  it('refuses cookie-authenticated requests without the CSRF header or from another origin', async () => {
    expect((await login({})).status).toBe(403);
    expect((await login({ ...CSRF, origin: 'https://evil.example' })).status).toBe(403);
    const ok = await login({ ...CSRF, origin: gw.baseUrl });
    expect(ok.status).toBe(200);
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0]!;
    const refresh = (headers: Record<string, string>) =>
      fetch(`${gw.baseUrl}/api/browser-session/refresh`, { method: 'POST', headers: { cookie, ...headers } });
    expect((await refresh({})).status).toBe(403);
    expect((await refresh({ ...CSRF, origin: 'http://attacker.test' })).status).toBe(403);
    const logout = await fetch(`${gw.baseUrl}/api/browser-session`, {
      method: 'DELETE',
      headers: { cookie },
    });
    expect(logout.status).toBe(403);
    // None of the refusals used up the session.
    expect((await refresh(CSRF)).status).toBe(200);
  });

  it('rotates the cookie on refresh, refuses the old one, and clears it on sign-out', async () => {
    const first = (await login()).headers.get('set-cookie')!.split(';')[0]!;
    const refreshed = await fetch(`${gw.baseUrl}/api/browser-session/refresh`, {
      method: 'POST',
      headers: { cookie: first, ...CSRF },
    });
    expect(refreshed.status).toBe(200);
    const { accessToken } = (await refreshed.json()) as { accessToken: string };
    expect((await gw.api('GET', '/api/me', undefined, accessToken)).status).toBe(200);
    const second = refreshed.headers.get('set-cookie')!.split(';')[0]!;
    expect(second).not.toBe(first);
    const replay = await fetch(`${gw.baseUrl}/api/browser-session/refresh`, {
      method: 'POST',
      headers: { cookie: first, ...CSRF },
    });
    expect(replay.status).toBe(401);
    expect(replay.headers.get('set-cookie')).toContain('Max-Age=0');
    const out = await fetch(`${gw.baseUrl}/api/browser-session`, {
      method: 'DELETE',
      headers: { cookie: second, ...CSRF },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^tether_refresh=; .*Max-Age=0/);
    const after = await fetch(`${gw.baseUrl}/api/browser-session/refresh`, {
      method: 'POST',
      headers: { cookie: second, ...CSRF },
    });
    expect(after.status).toBe(401);
  });

  it('streams only the devices a page names, and nothing of devices the caller may not see', async () => {
    const token = await gw.login();
    const template = await gw.api<{ id: string }>(
      'POST',
      '/api/templates',
      { name: 'Lamp', datastreams: [{ name: 'on', type: 'int' }] },
      token,
    );
    const minted = await gw.api<{ devices: { deviceId: string }[] }>(
      'POST',
      '/api/static-tokens',
      { templateId: template.body.id, count: 3 },
      token,
    );
    const [a, b, c] = minted.body.devices.map((d) => d.deviceId);
    const abort = new AbortController();
    const res = await fetch(`${gw.baseUrl}/api/stream?deviceIds=${a},${b},dev_unknown`, {
      headers: { authorization: `Bearer ${token}` },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const events = readServerSentEvents(res.body!);
    const snapshot = (await events.next()).value!;
    expect(snapshot.event).toBe('snapshot');
    expect((snapshot.data.devices as { id: string }[]).map((d) => d.id).sort()).toEqual([a, b].sort());
    // A change to c (not on the page) is not sent; a change to b is.
    await gw.api('PATCH', `/api/devices/${c}`, { name: 'elsewhere' }, token);
    await gw.api('PATCH', `/api/devices/${b}`, { name: 'on the page' }, token);
    const next = (await events.next()).value!;
    expect(next.event).toBe('changed');
    expect((next.data.device as { id: string; name: string }).id).toBe(b);
    abort.abort();
    const bad = await fetch(`${gw.baseUrl}/api/stream?deviceIds=${'x,'.repeat(200)}x`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(bad.status).toBe(400);
  });
});
