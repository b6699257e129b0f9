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
    expect(invite.body.error.message).toBe(
      'The free plan allows 1 user; My Organization has 1. Upgrade the plan or remove some first.',
    );
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
      details: { limit: 'lockedPermissions', plan: 'free' },
    });
    expect(edit.body.error.message).toBe(
      'The free plan locks every permission: no role edit may change them. Upgrade the plan to edit them.',
    );
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
    // Pro edits permissions one by one, but locks some: the API shows which, and refuses to change them.
    const roles = await gw.api<{ plan: string; lockedPermissions: string[] }>(
      'GET',
      `/api/orgs/${orgId}/roles`,
      undefined,
      admin,
    );
    expect(roles.body).toMatchObject({ plan: 'pro', lockedPermissions: ['org.transfer', 'roles.edit'] });
    const locked = await gw.api<Err>(
      'PATCH',
      `/api/orgs/${orgId}/roles/staff`,
      { permissions: ['org.view', 'roles.view', 'roles.edit'] },
      admin,
    );
    expect(locked.body.error).toMatchObject({
      code: 'PLAN_LIMIT',
      message: 'The pro plan locks roles.edit: no role edit may change it. Upgrade the plan to edit it.',
      details: { limit: 'lockedPermissions', plan: 'pro', locked: ['roles.edit'] },
    });
    const catalogue = await gw.api<{ lockedByPlan: Record<string, string[]> }>(
      'GET',
      '/api/permissions',
      undefined,
      admin,
    );
    expect(catalogue.body.lockedByPlan.pro).toEqual(['org.transfer', 'roles.edit']);
    expect(catalogue.body.lockedByPlan.enterprise).toEqual([]);
    expect(catalogue.body.lockedByPlan.free).toHaveLength(24);
    // Pro has no custom roles.
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

  it('self-registration is off until the maker switches it on; a registrant is a client with the User role', async () => {
    gw = await startTestGateway();
    const admin = await gw.login();
    const rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    const signUp = (email: string) => gw.api<Err>('POST', '/api/registrations', { orgId: rootId, email });
    const verify = async (email: string, name?: string) => {
      const token = await tokenFromOutbox(gw.dataDir, email, 'verify-email');
      const res = await gw.api<{ user: { id: string; orgId: string; type: string; roleId: string } }>(
        'POST',
        '/api/registrations/verify',
        { token, password: PASSWORD, ...(name ? { name } : {}) },
      );
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.user;
    };

    // Off by default: the maker answers as an org that takes no sign-ups.
    expect((await signUp('early@example.com')).status).toBe(404);
    const opened = await gw.api<{ registration: unknown }>(
      'PATCH',
      `/api/orgs/${rootId}`,
      { registration: { enabled: true } },
      admin,
    );
    expect(opened.body.registration).toEqual({
      enabled: true,
      roleId: 'user',
      type: 'client',
      ownOrg: false,
    });

    expect((await signUp('Client@Example.com')).status).toBe(202);
    const client = await verify('client@example.com', 'Client One');
    expect(client).toMatchObject({ type: 'client', roleId: 'user' });
    const clientToken = await gw.login('client@example.com', PASSWORD);
    const clients = await gw.api<{ kind: string; parentId: string; name: string }>(
      'GET',
      `/api/orgs/${client.orgId}`,
      undefined,
      admin,
    );
    expect(clients.body).toMatchObject({ kind: 'clients', parentId: rootId, name: 'Clients' });
    // A registrant is no Admin: no templates, no minting, no sub-orgs, no roles, no invitations.
    const me = await gw.api<{ permissions: string[] }>('GET', '/api/me', undefined, clientToken);
    expect(me.body.permissions).toEqual([
      'devices.own.control',
      'devices.own.view',
      'devices.provision',
      'org.view',
      'templates.view',
    ]);
    expect((await gw.api('POST', '/api/templates', { name: 'Mine' }, clientToken)).status).toBe(403);
    expect((await gw.api('POST', '/api/orgs', { name: 'Sub' }, clientToken)).status).toBe(403);
    expect(
      (await gw.api('POST', '/api/invitations', { email: 'x@example.com', roleId: 'user' }, clientToken))
        .status,
    ).toBe(403);
    // Used once; an address with an account gets the same answer and no mail.
    expect((await signUp('client@example.com')).status).toBe(202);

    // The maker may give each registrant an org of their own (here as its Admin): named after
    // nothing of theirs, and still a client (type caps the role: no developer zone).
    await gw.api('PATCH', `/api/orgs/${rootId}`, { registration: { ownOrg: true, roleId: 'admin' } }, admin);
    expect((await signUp('second@example.com')).status).toBe(202);
    const second = await verify('second@example.com');
    expect(second).toMatchObject({ type: 'client', roleId: 'admin' });
    const own = await gw.api<{ kind: string; parentId: string; name: string }>(
      'GET',
      `/api/orgs/${second.orgId}`,
      undefined,
      admin,
    );
    expect(own.body).toMatchObject({ kind: 'client', parentId: client.orgId });
    expect(own.body.name).toMatch(/^Client [A-Z0-9]{6}$/);
    const secondToken = await gw.login('second@example.com', PASSWORD);
    expect((await gw.api('POST', '/api/templates', { name: 'Mine' }, secondToken)).status).toBe(403);
    const orgs = await gw.api<{ orgs: Array<{ id: string }> }>('GET', '/api/orgs', undefined, secondToken);
    expect(orgs.body.orgs.map((o) => o.id)).toEqual([second.orgId]);

    // Client privacy: a plain User of the maker sees the orgs below, but never an address.
    const plain = await addUser(gw, admin, 'plain@example.com', 'user');
    const seen = await gw.api<{ orgs: Array<{ name: string }> }>('GET', '/api/orgs', undefined, plain.token);
    expect(seen.body.orgs.length).toBeGreaterThan(2);
    expect(JSON.stringify(seen.body)).not.toContain('@');
    expect((await gw.api('GET', '/api/users', undefined, plain.token)).status).toBe(403);

    // A plan without self-registration: the switch cannot be turned on, and sign-ups stop.
    await gw.api('PATCH', `/api/orgs/${rootId}`, { plan: 'free', force: true }, admin);
    const refused = await signUp('late@example.com');
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
    expect(deleted.body).toEqual({ movedUsers: 2, orgs: 1 });
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
    expect((await gw.api('PATCH', `/api/orgs/${a}`, { plan: 'free' }, subAdmin.token)).status).toBe(403);
    expect((await gw.api('DELETE', `/api/orgs/${a}`, undefined, subAdmin.token)).status).toBe(400);
    const inside = await createOrg(gw, subAdmin.token, 'A-inside');
    expect((await gw.api('GET', `/api/orgs/${inside}`, undefined, root)).status).toBe(200);
  });
});
