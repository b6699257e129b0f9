import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTetherError } from '../../shared/errors.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

describe('first run', () => {
  const gateways: TestGateway[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const gw of gateways.splice(0)) await gw.stop();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('without an admin in the config, accepts nobody until the one-time setup code is used', async () => {
    const gw = await startTestGateway({ admin: { email: '', password: '' } });
    gateways.push(gw);
    const firstRun = gw.gateway.firstRun;
    expect(firstRun?.state).toBe('setup-required');
    const setupCode = firstRun?.state === 'setup-required' ? firstRun.setupCode : '';

    const wrong = await gw.api('POST', '/api/setup', {
      setupCode: 'x'.repeat(43),
      email: 'me@example.com',
      password: 'a long password',
    });
    expect(wrong.status).toBe(403);
    const done = await gw.api('POST', '/api/setup', {
      setupCode,
      email: 'me@example.com',
      password: 'a long password',
    });
    expect(done.status).toBe(201);
    expect(done.body).toMatchObject({
      user: { email: 'me@example.com', roleId: 'admin', type: 'developer' },
    });
    expect(done.body).not.toHaveProperty('user.passwordHash');
    // Single use.
    const again = await gw.api('POST', '/api/setup', {
      setupCode,
      email: 'two@example.com',
      password: 'a long password',
    });
    expect(again.status).toBe(403);
    expect(await gw.login('me@example.com', 'a long password')).toMatch(/^ey/);
  });

  it('makes one root account when two set-up requests bring the code at once', async () => {
    const gw = await startTestGateway({ admin: { email: '', password: '' } });
    gateways.push(gw);
    const firstRun = gw.gateway.firstRun;
    const setupCode = firstRun?.state === 'setup-required' ? firstRun.setupCode : '';
    const answers = await Promise.all(
      ['one@example.com', 'two@example.com'].map((email) =>
        gw.api('POST', '/api/setup', { setupCode, email, password: 'a long password' }),
      ),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 403]);
    expect(await gw.gateway.services.store.orgs.count()).toBe(1);
    expect(await gw.gateway.services.store.users.count()).toBe(1);
  });

  it('creates the root organization and its admin from the config, keys and database in the data folder', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tether-first-run-'));
    dirs.push(dataDir);
    const gw = await startTestGateway({}, { dataDir });
    gateways.push(gw);
    expect(gw.gateway.firstRun?.state).toBe('created');
    await gw.gateway.services.store.flush();
    const db = JSON.parse(await readFile(join(dataDir, 'tether.json'), 'utf8')) as {
      users: Array<{ passwordHash: string; roleId: string }>;
      orgs: Array<{ parentId: string | null }>;
    };
    expect(db.orgs).toHaveLength(1);
    expect(db.orgs[0]?.parentId).toBeNull();
    expect(db.users[0]?.roleId).toBe('admin');
    expect(db.users[0]?.passwordHash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(db)).not.toContain('correct horse battery');
    const key = await stat(join(dataDir, 'keys', 'jwt-keys.json'));
    expect(key.mode & 0o077).toBe(0);

    // A restart reuses the keys: a token issued before still works.
    const token = await gw.login();
    await gw.stop();
    gateways.pop();
    const again = await startTestGateway({}, { dataDir });
    gateways.push(again);
    expect(again.gateway.firstRun?.state).toBe('ready');
    expect((await again.api('GET', '/api/templates', undefined, token)).status).toBe(200);
  });

  it('rotates refresh tokens: the old one is refused after use', async () => {
    const gw = await startTestGateway();
    gateways.push(gw);
    const login = await gw.api<{ refreshToken: string; accessToken: string }>('POST', '/api/auth/login', {
      email: 'admin@example.com',
      password: 'correct horse battery',
    });
    const refreshed = await gw.api<{ refreshToken: string }>('POST', '/api/auth/refresh', {
      refreshToken: login.body.refreshToken,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refreshToken).not.toBe(login.body.refreshToken);
    const reuse = await gw.api<{ error: { code: string } }>('POST', '/api/auth/refresh', {
      refreshToken: login.body.refreshToken,
    });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('TOKEN_INVALID');
  });

  it('answers bad input with a stable code and no change', async () => {
    const gw = await startTestGateway();
    gateways.push(gw);
    const token = await gw.login();
    const unknownField = await gw.api<{ error: { code: string } }>(
      'POST',
      '/api/templates',
      { name: 'T', admin: true },
      token,
    );
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.code).toBe('VALIDATION_FAILED');
    const notJson = await gw.api<{ error: { code: string } }>('POST', '/api/templates', '{"name":', token);
    expect(notJson.status).toBe(400);
    const huge = await gw.api<{ error: { code: string } }>(
      'POST',
      '/api/templates',
      { name: 'x'.repeat(100_000) },
      token,
    );
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const noAuth = await gw.api<{ error: { code: string } }>('POST', '/api/provisioning/sessions', {
      templateId: 'TMPL1',
    });
    expect(noAuth.status).toBe(401);
    const list = await gw.api<{ templates: unknown[] }>('GET', '/api/templates', undefined, token);
    expect(list.body.templates).toEqual([]);
  });

  it('says which port is taken when it cannot listen, and releases what it opened', async () => {
    const first = await startTestGateway();
    gateways.push(first);
    const error = await startTestGateway({ mqtt: { port: first.gateway.mqttPort } }).catch((e: unknown) => e);
    expect(isTetherError(error) && error.code).toBe('ADDRESS_IN_USE');
    expect((error as Error).message).toContain(`:${first.gateway.mqttPort} is already in use`);
    expect((error as Error).message).toContain('TETHER_MQTT_PORT');
    // Nothing of the failed gateway holds the first one's port or its own.
    expect((await first.api('GET', '/healthz')).status).toBe(200);
  });
});
