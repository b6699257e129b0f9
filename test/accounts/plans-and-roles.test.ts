import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { addUser, createOrg, PASSWORD, tokenFromOutbox } from './account-support.js';

type Err = { error: { code: string; message: string; details?: Record<string, unknown> } };

describe('plans', () => {
  let gw: TestGateway;
  afterEach(async () => {
    await gw.stop();
  });

  it('free: one user, no sub-orgs, locked permissions, no custom roles; each error names the limit and plan', async () => {
    gw = await startTestGateway({ admin: { plan: 'free' } });
    const admin = await gw.login();
    const me = await gw.api<{ org: { id: string; effectivePlan: string } }>(
      'GET',
      '/api/me',
      undefined,
      admin,
    );
    expect(me.body.org.effectivePlan).toBe('free');
    const orgId = me.body.org.id;

    const invite = await gw.api<Err>(
      'POST',
      '/api/invitations',
      { email: 'a@example.com', roleId: 'user' },
      admin,
    );
    expect(invite.status).toBe(403);
    expect(invite.body.error.code).toBe('PLAN_LIMIT');
    expect(invite.body.error.message).toMatch(/free plan allows 1 users/);
    expect(invite.body.error.details).toMatchObject({ limit: 'users', plan: 'free', max: 1 });

    const sub = await gw.api<Err>('POST', '/api/orgs', { name: 'Branch' }, admin);
    expect(sub.body.error).toMatchObject({ code: 'PLAN_LIMIT', details: { limit: 'subOrgs', plan: 'free' } });

    const edit = await gw.api<Err>(
      'PATCH',
      `/api/orgs/${orgId}/roles/user`,
      { permissions: ['org.view'] },
      admin,
    );
    expect(edit.body.error).toMatchObject({
      code: 'PLAN_LIMIT',
      details: { limit: 'editablePermissions', plan: 'free' },
    });
    const custom = await gw.api<Err>(
      'POST',
      `/api/orgs/${orgId}/roles`,
      { name: 'Tech', permissions: [] },
      admin,
    );
    expect(custom.body.error).toMatchObject({ code: 'PLAN_LIMIT', details: { limit: 'customRoles' } });

    // Upgrading the root's plan lifts the limits.
    const upgraded = await gw.api('PATCH', `/api/orgs/${orgId}`, { plan: 'pro' }, admin);
    expect(upgraded.status).toBe(200);
    expect(
      (await gw.api('POST', '/api/invitations', { email: 'a@example.com', roleId: 'user' }, admin)).status,
    ).toBe(201);
    expect(
      (await gw.api('PATCH', `/api/orgs/${orgId}/roles/user`, { permissions: ['org.view'] }, admin)).status,
    ).toBe(200);
    // Pro edits permissions but has no custom roles.
    const stillNo = await gw.api<Err>(
      'POST',
      `/api/orgs/${orgId}/roles`,
      { name: 'Tech', permissions: [] },
      admin,
    );
    expect(stillNo.body.error.code).toBe('PLAN_LIMIT');
  });

  it('limits from the one plans table in the config', async () => {
    gw = await startTestGateway({
      admin: { plan: 'pro' },
      plans: { pro: { subOrgs: 1, users: 2 } } as never,
    });
    const admin = await gw.login();
    await createOrg(gw, admin, 'One');
    const two = await gw.api<Err>('POST', '/api/orgs', { name: 'Two' }, admin);
    expect(two.body.error.details).toMatchObject({ limit: 'subOrgs', plan: 'pro', max: 1, used: 1 });
    await addUser(gw, admin, 'second@example.com', 'user');
    const third = await gw.api<Err>(
      'POST',
      '/api/invitations',
      { email: 'third@example.com', roleId: 'user' },
      admin,
    );
    expect(third.body.error.details).toMatchObject({ limit: 'users', max: 2 });
  });

  it('self-registration (enterprise): verify link → own client org → login; free refuses it', async () => {
    gw = await startTestGateway();
    const admin = await gw.login();
    const rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    const asked = await gw.api('POST', '/api/registrations', { orgId: rootId, email: 'Client@Example.com' });
    expect(asked.status).toBe(202);
    const token = await tokenFromOutbox(gw.dataDir, 'client@example.com', 'verify-email');
    const verified = await gw.api<{ user: { orgId: string; type: string } }>(
      'POST',
      '/api/registrations/verify',
      {
        token,
        password: PASSWORD,
        name: 'Client One',
      },
    );
    expect(verified.status).toBe(201);
    expect(verified.body.user.type).toBe('client');
    const client = await gw.login('client@example.com', PASSWORD);
    const me = await gw.api<{ org: { kind: string; parentId: string } }>('GET', '/api/me', undefined, client);
    expect(me.body.org.kind).toBe('client');
    const clients = await gw.api<{ kind: string; parentId: string }>(
      'GET',
      `/api/orgs/${me.body.org.parentId}`,
      undefined,
      admin,
    );
    expect(clients.body).toMatchObject({ kind: 'clients', parentId: rootId });
    // The client sees only their own org.
    const orgs = await gw.api<{ orgs: unknown[] }>('GET', '/api/orgs', undefined, client);
    expect(orgs.body.orgs).toHaveLength(1);
    // Used once.
    const again = await gw.api<Err>('POST', '/api/registrations/verify', { token, password: PASSWORD });
    expect(again.body.error.code).toBe('LINK_INVALID');
    // An address with an account gets the same answer and no mail.
    expect(
      (await gw.api('POST', '/api/registrations', { orgId: rootId, email: 'client@example.com' })).status,
    ).toBe(202);

    await gw.api('PATCH', `/api/orgs/${rootId}`, { plan: 'free' }, admin);
    const refused = await gw.api<Err>('POST', '/api/registrations', {
      orgId: rootId,
      email: 'x@example.com',
    });
    expect(refused.body.error).toMatchObject({
      code: 'PLAN_LIMIT',
      details: { limit: 'selfRegistration', plan: 'free' },
    });
  });
});

describe('roles', () => {
  let gw: TestGateway;
  afterEach(async () => {
    await gw.stop();
  });

  it('permissions come from the stored role: an edit applies to the next request', async () => {
    gw = await startTestGateway();
    const admin = await gw.login();
    const rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    const staff = await addUser(gw, admin, 'staff@example.com', 'staff');
    expect((await gw.api('GET', '/api/users', undefined, staff.token)).status).toBe(200);
    const roles = await gw.api<{ roles: Array<{ key: string; permissions: string[] }> }>(
      'GET',
      `/api/orgs/${rootId}/roles`,
      undefined,
      admin,
    );
    const staffPerms = roles.body.roles.find((r) => r.key === 'staff')!.permissions;
    await gw.api(
      'PATCH',
      `/api/orgs/${rootId}/roles/staff`,
      { permissions: staffPerms.filter((p) => p !== 'users.view') },
      admin,
    );
    expect((await gw.api('GET', '/api/users', undefined, staff.token)).status).toBe(403);
    // Admin cannot be edited or deleted.
    expect(
      (await gw.api<Err>('PATCH', `/api/orgs/${rootId}/roles/admin`, { permissions: [] }, admin)).body.error
        .code,
    ).toBe('VALIDATION_FAILED');
    expect(
      (await gw.api<Err>('DELETE', `/api/orgs/${rootId}/roles/admin?moveUsersTo=user`, undefined, admin)).body
        .error.code,
    ).toBe('VALIDATION_FAILED');
    // Unknown permission names are refused.
    const unknown = await gw.api<Err>(
      'PATCH',
      `/api/orgs/${rootId}/roles/user`,
      { permissions: ['devices.everything'] },
      admin,
    );
    expect(unknown.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('a new sub-org inherits its parent’s permissions; later edits stay per org', async () => {
    gw = await startTestGateway();
    const admin = await gw.login();
    const rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    await gw.api(
      'PATCH',
      `/api/orgs/${rootId}/roles/user`,
      { permissions: ['org.view', 'devices.own.view'] },
      admin,
    );
    const child = await createOrg(gw, admin, 'Child');
    const roles = await gw.api<{ roles: Array<{ key: string; permissions: string[] }> }>(
      'GET',
      `/api/orgs/${child}/roles`,
      undefined,
      admin,
    );
    expect(roles.body.roles.find((r) => r.key === 'user')!.permissions).toEqual([
      'org.view',
      'devices.own.view',
    ]);
    await gw.api('PATCH', `/api/orgs/${rootId}/roles/user`, { permissions: ['org.view'] }, admin);
    const after = await gw.api<{ roles: Array<{ key: string; permissions: string[] }> }>(
      'GET',
      `/api/orgs/${child}/roles`,
      undefined,
      admin,
    );
    expect(after.body.roles.find((r) => r.key === 'user')!.permissions).toEqual([
      'org.view',
      'devices.own.view',
    ]);
    await gw.api(
      'PATCH',
      `/api/orgs/${rootId}/roles/user`,
      { permissions: ['org.view', 'templates.view'], applyToSubOrgs: true },
      admin,
    );
    const pushed = await gw.api<{ roles: Array<{ key: string; permissions: string[] }> }>(
      'GET',
      `/api/orgs/${child}/roles`,
      undefined,
      admin,
    );
    expect(pushed.body.roles.find((r) => r.key === 'user')!.permissions).toEqual([
      'org.view',
      'templates.view',
    ]);
  });

  it('custom roles: create, assign, delete only with a role to move users to; no escalation', async () => {
    gw = await startTestGateway();
    const admin = await gw.login();
    const rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    const created = await gw.api<{ key: string }>(
      'POST',
      `/api/orgs/${rootId}/roles`,
      { name: 'Installer', permissions: ['org.view', 'devices.provision', 'templates.view', 'users.invite'] },
      admin,
    );
    expect(created.status).toBe(201);
    const key = created.body.key;
    const tech = await addUser(gw, admin, 'tech@example.com', key);
    const me = await gw.api<{ permissions: string[] }>('GET', '/api/me', undefined, tech.token);
    expect(me.body.permissions).toEqual(['devices.provision', 'org.view', 'templates.view', 'users.invite']);
    // The installer may invite, but not hand out a role with more than they hold.
    const escalate = await gw.api<Err>(
      'POST',
      '/api/invitations',
      { email: 'boss@example.com', roleId: 'admin' },
      tech.token,
    );
    expect(escalate.body.error.code).toBe('PERMISSION_DENIED');
    expect(
      (await gw.api('POST', '/api/invitations', { email: 'peer@example.com', roleId: key }, tech.token))
        .status,
    ).toBe(201);

    const refused = await gw.api<Err>('DELETE', `/api/orgs/${rootId}/roles/${key}`, undefined, admin);
    expect(refused.body.error.code).toBe('VALIDATION_FAILED');
    expect(refused.body.error.message).toContain('moveUsersTo');
    const deleted = await gw.api(
      'DELETE',
      `/api/orgs/${rootId}/roles/${key}?moveUsersTo=user`,
      undefined,
      admin,
    );
    expect(deleted.body).toEqual({ movedUsers: 2 });
    const after = await gw.api<{ roleId: string }>('GET', `/api/users/${tech.id}`, undefined, admin);
    expect(after.body.roleId).toBe('user');
  });

  it('a role editor cannot rewrite or delete a role above them, as they cannot edit a person above them', async () => {
    gw = await startTestGateway();
    const admin = await gw.login();
    const rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    const editorRole = await gw.api<{ key: string }>(
      'POST',
      `/api/orgs/${rootId}/roles`,
      {
        name: 'Role editor',
        permissions: ['org.view', 'roles.view', 'roles.edit', 'users.view', 'users.edit'],
      },
      admin,
    );
    const editor = await addUser(gw, admin, 'roles@example.com', editorRole.body.key);
    const staff = await addUser(gw, admin, 'staff@example.com', 'staff');
    // The user edit was already bounded...
    const demote = await gw.api<Err>('PATCH', `/api/users/${staff.id}`, { name: 'x' }, editor.token);
    expect(demote.body.error.code).toBe('PERMISSION_DENIED');
    // ...and so is the role edit that would do the same to every Staff member at once.
    const rewrite = await gw.api<Err>(
      'PATCH',
      `/api/orgs/${rootId}/roles/staff`,
      { permissions: ['org.view'] },
      editor.token,
    );
    expect(rewrite.status).toBe(403);
    expect(rewrite.body.error).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(rewrite.body.error.message).toContain('Staff');
    const removed = await gw.api<Err>(
      'DELETE',
      `/api/orgs/${rootId}/roles/staff?moveUsersTo=user`,
      undefined,
      editor.token,
    );
    expect(removed.status).toBe(403);
    const roles = await gw.api<{ roles: Array<{ key: string; permissions: string[] }> }>(
      'GET',
      `/api/orgs/${rootId}/roles`,
      undefined,
      admin,
    );
    expect(roles.body.roles.find((r) => r.key === 'staff')!.permissions).toContain('devices.org.control');
    // A role within their own permissions stays theirs to edit.
    const viewer = await gw.api<{ key: string }>(
      'POST',
      `/api/orgs/${rootId}/roles`,
      { name: 'Viewer', permissions: ['org.view'] },
      admin,
    );
    const edited = await gw.api(
      'PATCH',
      `/api/orgs/${rootId}/roles/${viewer.body.key}`,
      { permissions: ['org.view', 'users.view'] },
      editor.token,
    );
    expect(edited.status).toBe(200);
  });
});

describe('organizations', () => {
  let gw: TestGateway;
  afterEach(async () => {
    await gw.stop();
  });

  it('nests to the configured depth, moves within the subtree, deletes only when empty or forced', async () => {
    gw = await startTestGateway({ accounts: { maxOrgDepth: 2 } });
    const admin = await gw.login();
    const a = await createOrg(gw, admin, 'A');
    const a1 = await createOrg(gw, admin, 'A1', a);
    const tooDeep = await gw.api<Err>('POST', '/api/orgs', { name: 'A1x', parentId: a1 }, admin);
    expect(tooDeep.body.error.code).toBe('VALIDATION_FAILED');
    const b = await createOrg(gw, admin, 'B');
    // A cannot move below its own child, nor below B (A's child would sit 3 deep).
    expect((await gw.api<Err>('PATCH', `/api/orgs/${a}`, { parentId: a1 }, admin)).body.error.code).toBe(
      'VALIDATION_FAILED',
    );
    expect((await gw.api<Err>('PATCH', `/api/orgs/${a}`, { parentId: b }, admin)).body.error.code).toBe(
      'VALIDATION_FAILED',
    );
    const moved = await gw.api<{ parentId: string; depth: number }>(
      'PATCH',
      `/api/orgs/${a1}`,
      { parentId: b },
      admin,
    );
    expect(moved.body).toMatchObject({ parentId: b, depth: 2 });

    await addUser(gw, admin, 'member@example.com', 'user', a1);
    const notEmpty = await gw.api<Err>('DELETE', `/api/orgs/${b}`, undefined, admin);
    expect(notEmpty.status).toBe(409);
    expect(notEmpty.body.error.code).toBe('ORG_NOT_EMPTY');
    expect((await gw.api('DELETE', `/api/orgs/${a}`, undefined, admin)).status).toBe(200);
    const forced = await gw.api<{ deleted: { orgs: number; users: number } }>(
      'DELETE',
      `/api/orgs/${b}?force=true`,
      undefined,
      admin,
    );
    expect(forced.body.deleted).toMatchObject({ orgs: 1, users: 1 });
    expect(
      (await gw.api('POST', '/api/auth/login', { email: 'member@example.com', password: PASSWORD })).status,
    ).toBe(401);
  });

  it('an admin of a sub-org sees and manages only below itself', async () => {
    gw = await startTestGateway();
    const root = await gw.login();
    const rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, root)).body.org.id;
    const a = await createOrg(gw, root, 'A');
    const subAdmin = await addUser(gw, root, 'subadmin@example.com', 'admin', a);
    expect((await gw.api('GET', `/api/orgs/${rootId}`, undefined, subAdmin.token)).status).toBe(404);
    expect((await gw.api('PATCH', `/api/orgs/${a}`, { plan: 'free' }, subAdmin.token)).status).toBe(400);
    expect((await gw.api('DELETE', `/api/orgs/${a}`, undefined, subAdmin.token)).status).toBe(400);
    const inside = await createOrg(gw, subAdmin.token, 'A-inside');
    expect((await gw.api('GET', `/api/orgs/${inside}`, undefined, root)).status).toBe(200);
  });
});
