/**
 * Moving a person says what happens to their devices and does it; deleting a role can take its
 * copies in the orgs below; an invitation can be sent again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { addUser, createOrg, PASSWORD, tokenFromOutbox } from './account-support.js';

type Err = { error: { code: string; message: string; details?: Record<string, unknown> } };

describe('moves, cascades and resends', () => {
  let gw: TestGateway;
  let admin: string;
  let rootId: string;

  beforeEach(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
  });
  afterEach(async () => {
    await gw.stop();
  });

  /** Two devices owned by `token`'s user (pending provisioning sessions are owned devices too). */
  const ownTwoDevices = async (token: string): Promise<string[]> => {
    const template = await gw.api<{ id: string }>('POST', '/api/templates', { name: 'Lamp' }, admin);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const session = await gw.api<{ deviceId: string }>(
        'POST',
        '/api/provisioning/sessions',
        { templateId: template.body.id },
        token,
      );
      ids.push(session.body.deviceId);
    }
    return ids;
  };

  it('a move says what happens to the devices the person owns, and does it', async () => {
    // A person may own thousands of devices: they are read a page at a time, never all at once.
    const unbounded: unknown[] = [];
    const store = gw.gateway.services.store;
    const find = store.devices.find.bind(store.devices);
    store.devices.find = (where, options) => {
      if (where && 'ownerId' in where && options?.limit === undefined) unbounded.push(where);
      return find(where, options);
    };
    const home = await createOrg(gw, admin, 'Home');
    const office = await createOrg(gw, admin, 'Office');
    const ada = await addUser(gw, admin, 'ada@example.com', 'user', home);
    const devices = await ownTwoDevices(ada.token);

    const silent = await gw.api<Err>(
      'POST',
      `/api/users/${ada.id}/move`,
      { orgId: office, roleId: 'user' },
      admin,
    );
    expect(silent.status).toBe(400);
    expect(silent.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'devices', devices: 2 },
    });
    expect(silent.body.error.message).toContain('ada@example.com owns 2 device(s)');

    const moved = await gw.api<{ orgId: string; devices: { moved: number; unowned: number } }>(
      'POST',
      `/api/users/${ada.id}/move`,
      { orgId: office, roleId: 'user', devices: 'move' },
      admin,
    );
    expect(moved.body).toMatchObject({ orgId: office, devices: { moved: 2, unowned: 0 } });
    const adaNow = await gw.login('ada@example.com', PASSWORD);
    for (const id of devices) {
      const seen = await gw.api<{ orgId: string; ownerId: string }>(
        'GET',
        `/api/devices/${id}`,
        undefined,
        adaNow,
      );
      expect(seen.body).toMatchObject({ orgId: office, ownerId: ada.id });
    }

    const bob = await addUser(gw, admin, 'bob@example.com', 'user', home);
    const bobs = await ownTwoDevices(bob.token);
    const left = await gw.api<{ devices: { moved: number; unowned: number } }>(
      'POST',
      `/api/users/${bob.id}/move`,
      { orgId: office, roleId: 'user', devices: 'leave' },
      admin,
    );
    expect(left.body.devices).toEqual({ moved: 0, unowned: 2 });
    for (const id of bobs) {
      const device = await gw.api<{ orgId: string; ownerId: string | null }>(
        'GET',
        `/api/devices/${id}`,
        undefined,
        admin,
      );
      expect(device.body).toMatchObject({ orgId: home, ownerId: null });
    }

    const removed = await gw.api<{ unownedDevices: number }>(
      'DELETE',
      `/api/users/${ada.id}`,
      undefined,
      admin,
    );
    expect(removed.body.unownedDevices).toBe(2);
    for (const id of devices) {
      const device = await gw.api<{ ownerId: string | null }>('GET', `/api/devices/${id}`, undefined, admin);
      expect(device.body.ownerId).toBeNull();
    }
    expect(unbounded).toEqual([]);
  });

  it('deleting a role can take its copies in the orgs below, moving their holders', async () => {
    const role = await gw.api<{ key: string }>(
      'POST',
      `/api/orgs/${rootId}/roles`,
      { name: 'Installer', permissions: ['org.view', 'devices.provision'] },
      admin,
    );
    // Made after the role: the sub-org gets its own copy.
    const branch = await createOrg(gw, admin, 'Branch');
    const tech = await addUser(gw, admin, 'tech@example.com', role.body.key, branch);
    const here = await gw.api<{ movedUsers: number; orgs: number }>(
      'DELETE',
      `/api/orgs/${rootId}/roles/${role.body.key}`,
      undefined,
      admin,
    );
    expect(here.body).toEqual({ movedUsers: 0, orgs: 1 });
    const copies = await gw.api<{ roles: Array<{ key: string }> }>(
      'GET',
      `/api/orgs/${branch}/roles`,
      undefined,
      admin,
    );
    expect(copies.body.roles.map((r) => r.key)).toContain(role.body.key);

    const refused = await gw.api<Err>(
      'DELETE',
      `/api/orgs/${branch}/roles/${role.body.key}?subOrgs=true`,
      undefined,
      admin,
    );
    expect(refused.body.error.details).toMatchObject({ field: 'moveUsersTo', users: 1 });
    const cascade = await gw.api<{ movedUsers: number; orgs: number }>(
      'DELETE',
      `/api/orgs/${rootId}/roles/${role.body.key}?subOrgs=true&moveUsersTo=user`,
      undefined,
      admin,
    );
    expect(cascade.status, JSON.stringify(cascade.body)).toBe(404);
    // From the root the copy is gone already there; from the branch it cascades.
    const fromBranch = await gw.api<{ movedUsers: number; orgs: number }>(
      'DELETE',
      `/api/orgs/${branch}/roles/${role.body.key}?subOrgs=true&moveUsersTo=user`,
      undefined,
      admin,
    );
    expect(fromBranch.body).toEqual({ movedUsers: 1, orgs: 1 });
    expect(
      (await gw.api<{ roleId: string }>('GET', `/api/users/${tech.id}`, undefined, admin)).body.roleId,
    ).toBe('user');
  });

  it('a cascade removes every copy below in one go', async () => {
    const a = await createOrg(gw, admin, 'A');
    const role = await gw.api<{ key: string }>(
      'POST',
      `/api/orgs/${rootId}/roles`,
      { name: 'Viewer', permissions: ['org.view'] },
      admin,
    );
    const a1 = await createOrg(gw, admin, 'A1', a);
    const gone = await gw.api<{ movedUsers: number; orgs: number }>(
      'DELETE',
      `/api/orgs/${rootId}/roles/${role.body.key}?subOrgs=true`,
      undefined,
      admin,
    );
    expect(gone.body).toEqual({ movedUsers: 0, orgs: 3 });
    for (const org of [rootId, a, a1]) {
      const roles = await gw.api<{ roles: Array<{ key: string }> }>(
        'GET',
        `/api/orgs/${org}/roles`,
        undefined,
        admin,
      );
      expect(roles.body.roles.map((r) => r.key)).not.toContain(role.body.key);
    }
  });

  it('an invitation is sent again with a new link; the old one dies', async () => {
    const invited = await gw.api<{ id: string }>(
      'POST',
      '/api/invitations',
      { email: 'new@example.com', roleId: 'user' },
      admin,
    );
    const first = await tokenFromOutbox(gw.dataDir, 'new@example.com', 'invitation');
    const again = await gw.api<{ id: string; email: string }>(
      'POST',
      `/api/invitations/${invited.body.id}/resend`,
      undefined,
      admin,
    );
    expect(again.status).toBe(201);
    expect(again.body.email).toBe('new@example.com');
    await expect
      .poll(async () => (await tokenFromOutbox(gw.dataDir, 'new@example.com', 'invitation')) !== first)
      .toBe(true);
    const second = await tokenFromOutbox(gw.dataDir, 'new@example.com', 'invitation');
    expect(
      (await gw.api('POST', '/api/invitations/accept', { token: first, password: PASSWORD })).status,
    ).toBe(410);
    expect(
      (await gw.api('POST', '/api/invitations/accept', { token: second, password: PASSWORD })).status,
    ).toBe(201);
    const list = await gw.api<{ invitations: Array<{ id: string; status: string }> }>(
      'GET',
      '/api/invitations',
      undefined,
      admin,
    );
    expect(list.body.invitations.find((i) => i.id === invited.body.id)?.status).toBe('revoked');
  });
});
