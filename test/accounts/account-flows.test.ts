import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { addUser, createOrg, PASSWORD, readOutbox, tokenFromOutbox } from './account-support.js';

const NEW_PASSWORD = 'an even longer new password';

describe('account flows', () => {
  let gw: TestGateway;
  let admin: string;

  beforeEach(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
  });

  afterEach(async () => {
    await gw.stop();
  });

  const loginRaw = (email: string, password: string) =>
    gw.api<{ accessToken: string; refreshToken: string; error?: { code: string } }>(
      'POST',
      '/api/auth/login',
      {
        email,
        password,
      },
    );

  it('forgot password → reset link → new password works, the old one and the link do not', async () => {
    const bob = await addUser(gw, admin, 'bob@example.com', 'user');
    const before = await loginRaw('bob@example.com', PASSWORD);
    const unknown = await gw.api('POST', '/api/auth/forgot-password', { email: 'nobody@example.com' });
    const known = await gw.api('POST', '/api/auth/forgot-password', { email: 'bob@example.com' });
    // The same answer either way: the form does not tell who has an account.
    expect(unknown).toEqual(known);
    expect(known.status).toBe(202);
    expect((await readOutbox(gw.dataDir)).filter((m) => m.to.includes('nobody'))).toEqual([]);

    const token = await tokenFromOutbox(gw.dataDir, 'bob@example.com', 'reset-password');
    const weak = await gw.api<{ error: { code: string } }>('POST', '/api/auth/reset-password', {
      token,
      password: 'short',
    });
    expect(weak.body.error.code).toBe('VALIDATION_FAILED');
    expect((await gw.api('POST', '/api/auth/reset-password', { token, password: NEW_PASSWORD })).status).toBe(
      204,
    );

    expect((await loginRaw('bob@example.com', PASSWORD)).body.error?.code).toBe('INVALID_CREDENTIALS');
    expect((await loginRaw('bob@example.com', NEW_PASSWORD)).status).toBe(200);
    // The reset ended the sessions that existed before it.
    expect((await gw.api('GET', '/api/me', undefined, bob.token)).status).toBe(401);
    expect(
      (await gw.api('POST', '/api/auth/refresh', { refreshToken: before.body.refreshToken })).status,
    ).toBe(401);
    const again = await gw.api<{ error: { code: string } }>('POST', '/api/auth/reset-password', {
      token,
      password: NEW_PASSWORD,
    });
    expect(again.body.error.code).toBe('LINK_INVALID');
  });

  it('force logout revokes refresh tokens and access tokens at once', async () => {
    const carol = await addUser(gw, admin, 'carol@example.com', 'staff');
    const session = await loginRaw('carol@example.com', PASSWORD);
    expect((await gw.api('POST', `/api/users/${carol.id}/logout`, undefined, admin)).status).toBe(204);
    const refreshed = await gw.api<{ error: { code: string } }>('POST', '/api/auth/refresh', {
      refreshToken: session.body.refreshToken,
    });
    expect(refreshed.status).toBe(401);
    expect(refreshed.body.error.code).toBe('TOKEN_INVALID');
    expect((await gw.api('GET', '/api/me', undefined, session.body.accessToken)).status).toBe(401);
    expect((await gw.api('GET', '/api/me', undefined, carol.token)).status).toBe(401);
    // Logging in again works.
    expect((await loginRaw('carol@example.com', PASSWORD)).status).toBe(200);
  });

  it('change own password needs the current one and ends the other sessions', async () => {
    await addUser(gw, admin, 'dan@example.com', 'user');
    const other = await loginRaw('dan@example.com', PASSWORD);
    const mine = await loginRaw('dan@example.com', PASSWORD);
    const wrong = await gw.api<{ error: { code: string } }>(
      'POST',
      '/api/me/password',
      { currentPassword: 'not my password', newPassword: NEW_PASSWORD },
      mine.body.accessToken,
    );
    expect(wrong.body.error.code).toBe('INVALID_CREDENTIALS');
    const changed = await gw.api<{ accessToken: string }>(
      'POST',
      '/api/me/password',
      { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
      mine.body.accessToken,
    );
    expect(changed.status).toBe(200);
    expect((await gw.api('GET', '/api/me', undefined, changed.body.accessToken)).status).toBe(200);
    expect((await gw.api('GET', '/api/me', undefined, other.body.accessToken)).status).toBe(401);
    expect(
      (await gw.api('POST', '/api/auth/refresh', { refreshToken: other.body.refreshToken })).status,
    ).toBe(401);
    expect((await loginRaw('dan@example.com', PASSWORD)).status).toBe(401);
  });

  it('an admin resets a password directly or by a mailed link', async () => {
    const eve = await addUser(gw, admin, 'eve@example.com', 'user');
    const direct = await gw.api(
      'POST',
      `/api/users/${eve.id}/reset-password`,
      { password: NEW_PASSWORD },
      admin,
    );
    expect(direct.body).toEqual({ mailed: false });
    expect((await gw.api('GET', '/api/me', undefined, eve.token)).status).toBe(401);
    expect((await loginRaw('eve@example.com', NEW_PASSWORD)).status).toBe(200);
    const mailed = await gw.api('POST', `/api/users/${eve.id}/reset-password`, {}, admin);
    expect(mailed.body).toEqual({ mailed: true });
    const token = await tokenFromOutbox(gw.dataDir, 'eve@example.com', 'reset-password');
    expect((await gw.api('POST', '/api/auth/reset-password', { token, password: PASSWORD })).status).toBe(
      204,
    );
    expect((await loginRaw('eve@example.com', PASSWORD)).status).toBe(200);
  });

  it('deleting a user leaves their devices in the org without an owner, and the org in place', async () => {
    const sub = await createOrg(gw, admin, 'Shop');
    const frank = await addUser(gw, admin, 'frank@example.com', 'user', sub);
    const tmpl = await gw.api<{ id: string }>('POST', '/api/templates', { name: 'Lamp' }, admin);
    const session = await gw.api<{ deviceId: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId: tmpl.body.id },
      frank.token,
    );
    expect(session.status).toBe(201);
    const deleted = await gw.api('DELETE', `/api/users/${frank.id}`, undefined, admin);
    expect(deleted.body).toEqual({ unownedDevices: 1, orgNowEmpty: true });
    const device = await gw.api<{ orgId: string; ownerId: string | null }>(
      'GET',
      `/api/devices/${session.body.deviceId}`,
      undefined,
      admin,
    );
    expect(device.body).toMatchObject({ orgId: sub, ownerId: null });
    expect((await gw.api('GET', `/api/orgs/${sub}`, undefined, admin)).status).toBe(200);
    expect((await gw.api('GET', '/api/me', undefined, frank.token)).status).toBe(401);
  });

  it('a person deletes their own account only with their password', async () => {
    const gina = await addUser(gw, admin, 'gina@example.com', 'user');
    const wrong = await gw.api('DELETE', '/api/me', { password: 'not my password' }, gina.token);
    expect(wrong.status).toBe(401);
    const ok = await gw.api('DELETE', '/api/me', { password: PASSWORD }, gina.token);
    expect(ok.status).toBe(200);
    expect((await loginRaw('gina@example.com', PASSWORD)).status).toBe(401);
    // The last admin of an org with other members cannot leave it headless.
    await addUser(gw, admin, 'hank@example.com', 'user');
    const last = await gw.api<{ error: { code: string } }>(
      'DELETE',
      '/api/me',
      { password: ADMIN.password },
      admin,
    );
    expect(last.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('moves a user to another org in the subtree with a role there', async () => {
    const sub = await createOrg(gw, admin, 'Branch');
    const ivy = await addUser(gw, admin, 'ivy@example.com', 'user');
    const moved = await gw.api<{ orgId: string; roleId: string }>(
      'POST',
      `/api/users/${ivy.id}/move`,
      { orgId: sub, roleId: 'staff' },
      admin,
    );
    expect(moved.body).toMatchObject({ orgId: sub, roleId: 'staff' });
    const me = await gw.api<{ user: { orgId: string }; permissions: string[] }>(
      'GET',
      '/api/me',
      undefined,
      ivy.token,
    );
    expect(me.body.user.orgId).toBe(sub);
    expect(me.body.permissions).toContain('devices.org.view');
  });

  it('suspending a user ends their sessions; they cannot log in until reactivated', async () => {
    const jay = await addUser(gw, admin, 'jay@example.com', 'user');
    expect((await gw.api('PATCH', `/api/users/${jay.id}`, { status: 'suspended' }, admin)).status).toBe(200);
    expect((await gw.api('GET', '/api/me', undefined, jay.token)).status).toBe(401);
    expect((await loginRaw('jay@example.com', PASSWORD)).status).toBe(401);
    await gw.api('PATCH', `/api/users/${jay.id}`, { status: 'active' }, admin);
    expect((await loginRaw('jay@example.com', PASSWORD)).status).toBe(200);
  });

  it('writes an audit event with the address for every account action', async () => {
    const kim = await addUser(gw, admin, 'kim@example.com', 'user');
    await gw.api('POST', `/api/users/${kim.id}/logout`, undefined, admin);
    const audit = await gw.api<{ events: Array<{ action: string; ip: string | null; actor: string }> }>(
      'GET',
      '/api/audit',
      undefined,
      admin,
    );
    const actions = audit.body.events.map((e) => e.action);
    for (const action of ['invitation.created', 'invitation.accepted', 'auth.login', 'user.force-logout']) {
      expect(actions).toContain(action);
    }
    const logout = audit.body.events.find((e) => e.action === 'user.force-logout');
    expect(logout?.ip).toBe('127.0.0.1');
    // Without the audit permission, nothing.
    expect(
      (await gw.api('GET', '/api/audit', undefined, await gw.login('kim@example.com', PASSWORD))).status,
    ).toBe(403);
  });
});
