/**
 * Roles per org. Each org holds one record per role (built-in admin/staff/user and custom ones),
 * copied from its parent when it is created: a new sub-org inherits its parent's permissions, and
 * later edits are per org (optionally pushed down to the orgs below). Admin always has every
 * permission and cannot be edited or deleted, so no org can lock itself out.
 */
import type { Clock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { Auditor } from '../audit.js';
import { pages } from '../store/paging.js';
import type { Store, StoreTables } from '../store/store.js';
import type { Invitation, PlanName, Role, User, UserType } from '../store/types.js';
import { authorize, notFound } from './access.js';
import type { AuthenticatedActor } from './auth-service.js';
import { subtreeOrgIds } from './org-tree.js';
import {
  BUILT_IN_ROLES,
  effectivePermissions,
  isBuiltInRole,
  isPermission,
  PERMISSIONS,
  type Permission,
  toPermissionSet,
} from './permissions.js';
import type { PlanLimits } from './plan-limits.js';
import { canAssignPermissions } from './policy.js';

export const roleRecordId = (orgId: string, key: string): string => `${orgId}/${key}`;

const defaultRole = (orgId: string, key: keyof typeof BUILT_IN_ROLES, now: number): Role => ({
  id: roleRecordId(orgId, key),
  orgId,
  key,
  name: BUILT_IN_ROLES[key].name,
  permissions: [...BUILT_IN_ROLES[key].permissions],
  builtIn: true,
  createdAt: now,
});

/**
 * The roles of an org: its stored records, or the built-in defaults for an org that has none yet
 * (a database from before roles were stored). Admin is always there.
 */
export async function rolesOf(store: StoreTables, orgId: string, now = 0): Promise<Role[]> {
  const stored = await store.roles.find({ orgId });
  const roles =
    stored.length === 0
      ? (Object.keys(BUILT_IN_ROLES) as Array<keyof typeof BUILT_IN_ROLES>).map((key) =>
          defaultRole(orgId, key, now),
        )
      : stored;
  if (!roles.some((r) => r.key === 'admin')) roles.push(defaultRole(orgId, 'admin', now));
  return roles.sort((a, b) => Number(b.builtIn) - Number(a.builtIn) || a.name.localeCompare(b.name));
}

/** Gives a new org its roles: a copy of its parent's, or the built-in defaults for a root. */
export async function seedRoles(store: StoreTables, orgId: string, parentId: string | null, now: number) {
  const source = parentId ? await rolesOf(store, parentId, now) : await rolesOf(store, orgId, now);
  await store.roles.insertMany(
    source.map((role) => ({ ...role, id: roleRecordId(orgId, role.key), orgId, createdAt: now })),
  );
}

/** What a user with `roleKey` in `orgId` may do; read on every authenticated request (O(1)). */
export async function permissionsFor(
  store: Store,
  orgId: string,
  roleKey: string,
): Promise<ReadonlySet<Permission>> {
  if (roleKey === 'admin') return new Set(PERMISSIONS);
  const role = await store.roles.get(roleRecordId(orgId, roleKey));
  if (role) return toPermissionSet(role.permissions);
  // Only an org with no stored roles at all falls back to the defaults; a deleted role grants nothing.
  if (!isBuiltInRole(roleKey) || (await store.roles.count({ orgId })) > 0) return new Set();
  return new Set<Permission>(BUILT_IN_ROLES[roleKey].permissions);
}

export interface RoleInput {
  name: string;
  permissions: string[];
}

export class RoleService {
  constructor(private readonly deps: { store: Store; clock: Clock; auditor: Auditor; plans: PlanLimits }) {}

  async list(actor: AuthenticatedActor, orgId: string): Promise<Role[]> {
    await this.#org(actor, 'roles.view', orgId);
    return rolesOf(this.deps.store, orgId, this.deps.clock.now());
  }

  /**
   * A role the actor may hand out in orgId to a person of `type`: it must exist there, and grant
   * that person nothing the actor lacks (the type caps what the role gives them).
   */
  async assignable(
    actor: AuthenticatedActor,
    orgId: string,
    key: string,
    type: UserType = 'developer',
  ): Promise<Role> {
    const role = (await rolesOf(this.deps.store, orgId)).find((r) => r.key === key);
    if (!role) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `Role ${key.slice(0, 64)} does not exist in that organization.`,
        {
          details: { field: 'roleId' },
        },
      );
    }
    const permissions = effectivePermissions(
      toPermissionSet(key === 'admin' ? PERMISSIONS : role.permissions),
      type,
    );
    if (!canAssignPermissions(actor, permissions)) {
      throw new TetherError(
        'PERMISSION_DENIED',
        `You may not hand out the ${role.name} role: it has permissions you do not hold.`,
      );
    }
    return role;
  }

  async create(actor: AuthenticatedActor, orgId: string, input: RoleInput, ip: string | null): Promise<Role> {
    const { store, clock, plans } = this.deps;
    await this.#org(actor, 'roles.edit', orgId);
    await plans.assertFeature(orgId, 'customRoles');
    const permissions = this.#checkPermissions(actor, input.permissions);
    // A new role holds none of them, so it may not be given a locked one either.
    await this.#assertUnlocked(orgId, [], permissions);
    await this.#uniqueName(orgId, input.name, undefined);
    const key = newId('rol');
    const now = clock.now();
    // Usable in the org and every org below it, as if it had existed when they were created.
    let first: Role | undefined;
    for (const id of await subtreeOrgIds(store, orgId)) {
      const role = await store.roles.insert({
        id: roleRecordId(id, key),
        orgId: id,
        key,
        name: input.name,
        permissions,
        builtIn: false,
        createdAt: now,
      });
      if (id === orgId) first = role;
    }
    await this.#audit(actor, 'role.created', orgId, key, ip, { name: input.name, permissions });
    return first!;
  }

  async update(
    actor: AuthenticatedActor,
    orgId: string,
    key: string,
    input: Partial<RoleInput> & { applyToSubOrgs?: boolean },
    ip: string | null,
  ): Promise<Role> {
    const { store } = this.deps;
    await this.#org(actor, 'roles.edit', orgId);
    const role = await this.#role(orgId, key);
    if (key === 'admin')
      throw new TetherError('VALIDATION_FAILED', 'The Admin role always has every permission.');
    this.#notAbove(actor, role);
    const permissions = input.permissions ? this.#checkPermissions(actor, input.permissions) : undefined;
    if (input.name !== undefined) {
      if (role.builtIn) throw new TetherError('VALIDATION_FAILED', 'Built-in roles keep their names.');
      await this.#uniqueName(orgId, input.name, key);
    }
    const patch = {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(permissions ? { permissions } : {}),
    };
    const orgIds = input.applyToSubOrgs ? await subtreeOrgIds(store, orgId) : new Set([orgId]);
    let updated = role;
    for (const id of orgIds) {
      await this.#materialize(id);
      const current = await store.roles.get(roleRecordId(id, key));
      if (!current) continue;
      // The copies below may have drifted (and sit under other plans): each is checked the same way.
      this.#notAbove(actor, current);
      if (permissions) await this.#assertUnlocked(id, current.permissions, permissions);
    }
    for (const id of orgIds) {
      if (!(await store.roles.get(roleRecordId(id, key)))) continue;
      const stored = await store.roles.update(roleRecordId(id, key), patch);
      if (id === orgId) updated = stored;
    }
    await this.#audit(actor, 'role.updated', orgId, key, ip, {
      ...patch,
      applyToSubOrgs: input.applyToSubOrgs === true,
    });
    return updated;
  }

  /**
   * Users (and pending invitations) holding the role move to `moveUsersTo`; Admin stays. With
   * `subOrgs`, the copies of the role in every org below go too (a role is copied into each sub-org
   * made after it), each org's holders moving to `moveUsersTo` there; everything is checked before
   * anything changes.
   */
  async remove(
    actor: AuthenticatedActor,
    orgId: string,
    key: string,
    options: { moveUsersTo?: string; subOrgs?: boolean },
    ip: string | null,
  ): Promise<{ movedUsers: number; orgs: number }> {
    const { store } = this.deps;
    const { moveUsersTo } = options;
    await this.#org(actor, 'roles.edit', orgId);
    await this.#role(orgId, key);
    if (key === 'admin') throw new TetherError('VALIDATION_FAILED', 'The Admin role cannot be deleted.');
    if (moveUsersTo === key) throw new TetherError('VALIDATION_FAILED', 'Move the users to another role.');
    const orgIds = options.subOrgs ? await subtreeOrgIds(store, orgId) : new Set([orgId]);
    const plan: string[] = [];
    for (const id of orgIds) {
      const role = (await rolesOf(store, id)).find((r) => r.key === key);
      if (!role) continue;
      this.#notAbove(actor, role);
      const users = await store.users.count({ orgId: id, roleId: key });
      const invitations = await store.invitations.count({ orgId: id, roleId: key, status: 'pending' });
      if (users + invitations > 0) {
        if (moveUsersTo === undefined) {
          // Invited people are pending users: counted once, among the holders.
          const total = Math.max(users, invitations);
          throw new TetherError(
            'VALIDATION_FAILED',
            `${total} user(s) ${id === orgId ? '' : 'in an organization below '}hold this role: name the role they move to (moveUsersTo=<role>).`,
            { details: { field: 'moveUsersTo', users: total, orgId: id } },
          );
        }
        await this.assignable(actor, id, moveUsersTo);
      }
      plan.push(id);
    }
    // One transaction, reading the holders a page at a time: whoever holds the role when it goes
    // moves (someone given it since the check too), and a crash never leaves it half deleted.
    const movedUsers = await store.transaction(async (tx) => {
      let moved = 0;
      for (const id of plan) {
        for await (const page of pages(tx.users, { orgId: id, roleId: key })) {
          for (const user of page) await tx.users.update(user.id, { roleId: moveUsersTo! });
          moved += page.length;
        }
        for await (const page of pages(tx.invitations, { orgId: id, roleId: key, status: 'pending' })) {
          for (const invitation of page) await tx.invitations.update(invitation.id, { roleId: moveUsersTo! });
        }
        await materialize(tx, id, this.deps.clock.now());
        await tx.roles.delete(roleRecordId(id, key));
      }
      return moved;
    });
    await this.#audit(actor, 'role.deleted', orgId, key, ip, {
      moveUsersTo,
      movedUsers,
      orgs: plan,
    });
    return { movedUsers, orgs: plan.length };
  }

  /**
   * As with people (UserService): nobody edits or deletes a role that holds permissions they lack,
   * or a role-editor could rewrite the Staff role above them.
   */
  #notAbove(actor: AuthenticatedActor, role: Role): void {
    if (!canAssignPermissions(actor, role.permissions)) {
      throw new TetherError(
        'PERMISSION_DENIED',
        `The ${role.name} role holds permissions you do not; ask someone who holds them.`,
      );
    }
  }

  /** The permissions the plan locks and the org's roles show as locked. */
  async locked(orgId: string): Promise<{ plan: PlanName; lockedPermissions: Permission[] }> {
    const { plan } = await this.deps.plans.scopeOf(orgId);
    return { plan, lockedPermissions: this.deps.plans.lockedPermissions(plan) };
  }

  /** A plan locks some permissions (as Blynk): no role edit may grant or remove them. */
  async #assertUnlocked(orgId: string, current: readonly string[], next: readonly string[]): Promise<void> {
    const { plan, lockedPermissions } = await this.locked(orgId);
    const changed = lockedPermissions.filter((p) => current.includes(p) !== next.includes(p));
    if (changed.length === 0) return;
    const which =
      lockedPermissions.length === PERMISSIONS.length
        ? 'every permission'
        : `${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ` and ${changed.length - 5} more` : ''}`;
    throw new TetherError(
      'PLAN_LIMIT',
      `The ${plan} plan locks ${which}: no role edit may change ${changed.length === 1 && lockedPermissions.length !== PERMISSIONS.length ? 'it' : 'them'}. Upgrade the plan to edit ${changed.length === 1 ? 'it' : 'them'}.`,
      { details: { limit: 'lockedPermissions', plan, locked: changed } },
    );
  }

  /** Stores the defaults of an org that has none, so that an edit or delete sticks. */
  async #materialize(orgId: string): Promise<void> {
    await materialize(this.deps.store, orgId, this.deps.clock.now());
  }

  #checkPermissions(actor: AuthenticatedActor, names: string[]): Permission[] {
    const unknown = names.filter((n) => !isPermission(n));
    if (unknown.length > 0) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `Unknown permission(s): ${unknown.slice(0, 5).join(', ')}.`,
        {
          details: { field: 'permissions', unknown: unknown.slice(0, 20) },
        },
      );
    }
    const unique = [...new Set(names)] as Permission[];
    if (!canAssignPermissions(actor, unique)) {
      throw new TetherError('PERMISSION_DENIED', 'A role may hold only permissions you hold yourself.');
    }
    return unique;
  }

  async #uniqueName(orgId: string, name: string, except: string | undefined): Promise<void> {
    const taken = (await rolesOf(this.deps.store, orgId)).some(
      (r) => r.key !== except && r.name.toLowerCase() === name.toLowerCase(),
    );
    if (taken) throw new TetherError('CONFLICT', `A role named ${name} already exists in this organization.`);
  }

  async #org(actor: AuthenticatedActor, permission: 'roles.view' | 'roles.edit', orgId: string) {
    const org = await this.deps.store.orgs.get(orgId);
    return authorize(actor, permission, org ? { orgId: org.id } : undefined, 'Organization', orgId);
  }

  async #role(orgId: string, key: string): Promise<Role> {
    const role = (await rolesOf(this.deps.store, orgId)).find((r) => r.key === key);
    if (!role) throw notFound('Role', key);
    return role;
  }

  async #audit(
    actor: AuthenticatedActor,
    action: string,
    orgId: string,
    key: string,
    ip: string | null,
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.deps.auditor.record({
      actor: actor.userId,
      action,
      targetType: 'role',
      targetId: key,
      orgId,
      ip,
      details,
    });
  }
}

/** An org still on the built-in roles gets its own stored copies, before one of them changes. */
async function materialize(tables: StoreTables, orgId: string, now: number): Promise<void> {
  if ((await tables.roles.count({ orgId })) > 0) return;
  for (const role of await rolesOf(tables, orgId, now)) await tables.roles.insert(role);
}
