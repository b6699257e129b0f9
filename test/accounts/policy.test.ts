/** The policy as a pure matrix: no store, no HTTP, no broker. */
import { describe, expect, it } from 'vitest';
import { BUILT_IN_ROLES, PERMISSIONS, type Permission } from '../../gateway/accounts/permissions.js';
import {
  type Actor,
  can,
  canAssignPermissions,
  canControlDevice,
  canManageDevice,
  canShareDevice,
  canViewDevice,
} from '../../gateway/accounts/policy.js';

// Tree: root ─ a ─ a1 ; root ─ b. The actor sits in a.
const actorOf = (
  role: keyof typeof BUILT_IN_ROLES,
  grants: Array<[string, 'view' | 'control']> = [],
): Actor => ({
  userId: 'me',
  orgId: 'a',
  permissions: new Set<Permission>(BUILT_IN_ROLES[role].permissions),
  visibleOrgIds: new Set(['a', 'a1']),
  grants: new Map(grants),
});

describe('can(actor, permission, target)', () => {
  it('denies without an actor, and for every permission the role lacks', () => {
    for (const p of PERMISSIONS) expect(can(undefined, p)).toBe(false);
    const user = actorOf('user');
    for (const p of PERMISSIONS) {
      expect(can(user, p, { orgId: 'a', ownerId: 'me' })).toBe(
        (BUILT_IN_ROLES.user.permissions as readonly string[]).includes(p),
      );
    }
  });

  it('never reaches above or beside the actor’s org, whatever the role', () => {
    for (const role of ['admin', 'staff', 'user'] as const) {
      for (const p of PERMISSIONS) {
        for (const orgId of ['root', 'b', 'unknown'])
          expect(can(actorOf(role), p, { orgId, ownerId: 'me' })).toBe(false);
      }
    }
  });

  it('reaches its own org and below with the role’s permissions', () => {
    const admin = actorOf('admin');
    for (const p of PERMISSIONS.filter((p) => !p.startsWith('devices.own'))) {
      expect(can(admin, p, { orgId: 'a' })).toBe(true);
      expect(can(admin, p, { orgId: 'a1' })).toBe(true);
    }
  });

  it('"own" device permissions need ownership', () => {
    const user = actorOf('user');
    expect(can(user, 'devices.own.view', { orgId: 'a', ownerId: 'me' })).toBe(true);
    expect(can(user, 'devices.own.view', { orgId: 'a', ownerId: 'other' })).toBe(false);
    expect(can(user, 'devices.own.view', { orgId: 'a', ownerId: null })).toBe(false);
  });
});

describe('devices: view, control, share', () => {
  const dev = (orgId: string, ownerId: string | null, id = 'd1') => ({ id, orgId, ownerId });

  it('matrix over roles × (own, org, child, parent, sibling)', () => {
    const cases: Array<[string, ReturnType<typeof dev>]> = [
      ['own', dev('a', 'me')],
      ['org', dev('a', 'other')],
      ['child', dev('a1', 'other')],
      ['parent', dev('root', 'other')],
      ['sibling', dev('b', 'other')],
    ];
    const expected: Record<string, Record<string, [boolean, boolean, boolean]>> = {
      // [view, control, share]
      admin: {
        own: [true, true, true],
        org: [true, true, true],
        child: [true, true, true],
        parent: [false, false, false],
        sibling: [false, false, false],
      },
      staff: {
        own: [true, true, true],
        org: [true, true, false],
        child: [true, true, false],
        parent: [false, false, false],
        sibling: [false, false, false],
      },
      user: {
        own: [true, true, true],
        org: [false, false, false],
        child: [false, false, false],
        parent: [false, false, false],
        sibling: [false, false, false],
      },
    };
    for (const role of ['admin', 'staff', 'user'] as const) {
      for (const [name, device] of cases) {
        const actor = actorOf(role);
        expect(
          [canViewDevice(actor, device), canControlDevice(actor, device), canShareDevice(actor, device)],
          `${role} ${name}`,
        ).toEqual(expected[role]![name]);
      }
    }
  });

  it('a grant reaches one device in any org: view, or view and control; never sharing', () => {
    const sibling = dev('b', 'other', 'shared');
    const viewer = actorOf('user', [['shared', 'view']]);
    expect(canViewDevice(viewer, sibling)).toBe(true);
    expect(canControlDevice(viewer, sibling)).toBe(false);
    expect(canShareDevice(viewer, sibling)).toBe(false);
    expect(canViewDevice(viewer, dev('b', 'other', 'another'))).toBe(false);
    const controller = actorOf('user', [['shared', 'control']]);
    expect(canControlDevice(controller, sibling)).toBe(true);
    // A grant does not lend org-wide permissions on the device's org.
    expect(can(controller, 'devices.org.view', sibling)).toBe(false);
  });

  it('a grant needs the matching "own" permission in the grantee’s role', () => {
    const stripped: Actor = {
      ...actorOf('user', [['shared', 'control']]),
      permissions: new Set<Permission>(['org.view']),
    };
    expect(canViewDevice(stripped, dev('b', 'x', 'shared'))).toBe(false);
    expect(canControlDevice(stripped, dev('b', 'x', 'shared'))).toBe(false);
  });

  it('a target without an id gets no grant', () => {
    expect(canViewDevice(actorOf('user', [['shared', 'view']]), { orgId: 'b', ownerId: 'x' })).toBe(false);
  });
});

describe('handing out roles', () => {
  it('only permissions the actor holds', () => {
    expect(canAssignPermissions(actorOf('admin'), PERMISSIONS)).toBe(true);
    expect(canAssignPermissions(actorOf('staff'), BUILT_IN_ROLES.user.permissions)).toBe(true);
    expect(canAssignPermissions(actorOf('staff'), ['roles.edit'])).toBe(false);
    expect(canAssignPermissions(undefined, [])).toBe(false);
  });
});

describe('canManageDevice: re-provision, transfer, delete', () => {
  it('belongs to the owner and to org-wide control, never to a share', () => {
    const device = { orgId: 'a', ownerId: 'someone', id: 'dev_1' };
    const grantee = actorOf('user', [['dev_1', 'control']]);
    expect(canControlDevice(grantee, device)).toBe(true);
    expect(canManageDevice(grantee, device, 'devices.provision')).toBe(false);
    expect(canManageDevice(actorOf('user'), { ...device, ownerId: 'me' }, 'devices.provision')).toBe(true);
    expect(canManageDevice(actorOf('staff'), device, 'devices.provision')).toBe(true);
    expect(canManageDevice(actorOf('admin'), device, 'devices.delete')).toBe(true);
    expect(canManageDevice(actorOf('admin'), { ...device, orgId: 'b' }, 'devices.delete')).toBe(false);
  });
});
