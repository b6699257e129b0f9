/**
 * The organization tree: list, create (depth and plan limits), rename, move within the caller's
 * subtree, set a root's plan, delete (only when empty, or explicitly with everything in it).
 */
import { TetherError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { deleteDeviceRows } from '../devices/device-removal.js';
import { isTimeZoneName } from '../devices/time-zones.js';
import { type DeviceRef, deviceRef } from '../events.js';
import { pages } from '../store/paging.js';
import type { StoreTables } from '../store/store.js';
import type { Device, GeoPoint, Org, OrgKind, PlanName, RegistrationSettings } from '../store/types.js';
import { authorize, notFound, requirePermission } from './access.js';
import type { AccountDeps } from './account-deps.js';
import type { AuthenticatedActor } from './auth-service.js';
import { subtreeOrgIds } from './org-tree.js';
import { countOf } from './plan-limits.js';
import { seedRoles } from './role-service.js';

export interface OrgView extends Org {
  /** Levels below the root (a root is 0). */
  depth: number;
  /** The plan that applies: its own, its tenant's or the root's. */
  effectivePlan: PlanName;
  /** The org that holds that plan. */
  planHolderId: string;
}

export class OrgService {
  constructor(private readonly deps: AccountDeps) {}

  async list(actor: AuthenticatedActor): Promise<OrgView[]> {
    requirePermission(actor, 'org.view');
    const out: OrgView[] = [];
    for (const org of await this.deps.store.orgs.find({ id: { in: [...actor.visibleOrgIds] } })) {
      out.push(await this.view(org));
    }
    return out.sort((a, b) => a.depth - b.depth || a.name.localeCompare(b.name));
  }

  async get(actor: AuthenticatedActor, id: string): Promise<OrgView> {
    return this.view(await this.#visible(actor, 'org.view', id));
  }

  async create(
    actor: AuthenticatedActor,
    input: { name: string; parentId?: string; kind?: 'standard' | 'partner' },
    ip: string | null,
  ): Promise<OrgView> {
    const { store, clock, plans, config, auditor } = this.deps;
    const parent = await this.#visible(actor, 'org.create-sub', input.parentId ?? actor.orgId);
    const depth = (await this.#depth(parent)) + 1;
    if (depth > config.accounts.maxOrgDepth) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `Organizations nest at most ${config.accounts.maxOrgDepth} levels below the root.`,
        { details: { field: 'parentId', maxDepth: config.accounts.maxOrgDepth } },
      );
    }
    const kind: OrgKind = input.kind ?? 'standard';
    if (kind === 'partner') await plans.assertFeature(parent.id, 'partnerOrgs');
    await this.#uniqueName(parent.id, input.name, undefined);
    const now = clock.now();
    const org: Org = {
      id: newId('org'),
      name: input.name,
      parentId: parent.id,
      plan: null,
      createdAt: now,
      kind,
    };
    await store.transaction(async (tx) => {
      await plans.assertWithin(parent.id, 'subOrgs', 1, tx);
      await tx.orgs.insert(org);
      await seedRoles(tx, org.id, parent.id, now);
    });
    await auditor.record({
      actor: actor.userId,
      action: 'org.created',
      targetType: 'org',
      targetId: org.id,
      orgId: org.id,
      ip,
      details: { name: org.name, parentId: parent.id, kind },
    });
    return this.view(org);
  }

  async update(
    actor: AuthenticatedActor,
    id: string,
    input: {
      name?: string;
      parentId?: string;
      plan?: PlanName;
      timezone?: string | null;
      location?: GeoPoint | null;
      force?: boolean;
      registration?: Partial<RegistrationSettings>;
    },
    ip: string | null,
  ): Promise<OrgView> {
    const { store, auditor, config } = this.deps;
    let org = await this.#visible(actor, 'org.edit', id);
    const changes: Record<string, unknown> = {};
    if (input.plan !== undefined && input.plan !== org.plan) {
      const over = await this.#checkPlanChange(actor, org, input.plan, input.force === true);
      changes.plan = { from: org.plan, to: input.plan, ...(over.length > 0 ? { forced: over } : {}) };
      org = await store.orgs.update(org.id, { plan: input.plan });
    }
    if (input.registration !== undefined) {
      const registration = await this.#registrationSettings(actor, org, input.registration);
      changes.registration = { from: org.registration ?? null, to: registration };
      org = await store.orgs.update(org.id, { registration });
    }
    if (input.parentId !== undefined && input.parentId !== org.parentId) {
      requirePermission(actor, 'org.transfer');
      // Only orgs strictly below the caller's own move, and only to a place inside its subtree.
      if (org.id === actor.orgId || org.parentId === null) {
        throw new TetherError(
          'VALIDATION_FAILED',
          'Your own organization and root organizations do not move.',
        );
      }
      if (org.plan !== null) {
        throw new TetherError(
          'VALIDATION_FAILED',
          `${org.name} is a tenant with a plan of its own: tenants stay directly below the root.`,
          { details: { field: 'parentId' } },
        );
      }
      const parent = await this.#visible(actor, 'org.create-sub', input.parentId);
      const moved = await subtreeOrgIds(store, org.id);
      if (moved.has(parent.id)) {
        throw new TetherError('VALIDATION_FAILED', 'An organization cannot move below itself.', {
          details: { field: 'parentId' },
        });
      }
      const height = await this.#height(org.id);
      if ((await this.#depth(parent)) + 1 + height > config.accounts.maxOrgDepth) {
        throw new TetherError(
          'VALIDATION_FAILED',
          `There the tree would nest more than ${config.accounts.maxOrgDepth} levels below the root.`,
          { details: { field: 'parentId', maxDepth: config.accounts.maxOrgDepth } },
        );
      }
      await this.#uniqueName(parent.id, input.name ?? org.name, org.id);
      changes.parentId = { from: org.parentId, to: parent.id };
      org = await store.orgs.update(org.id, { parentId: parent.id });
    }
    if (input.name !== undefined && input.name !== org.name) {
      if (org.parentId !== null) await this.#uniqueName(org.parentId, input.name, org.id);
      changes.name = { from: org.name, to: input.name };
      org = await store.orgs.update(org.id, { name: input.name });
    }
    // Device settings (get/utc/all/json and get/loc/all fall back to them); null clears.
    if (input.timezone !== undefined && input.timezone !== (org.timezone ?? null)) {
      if (input.timezone !== null && !isTimeZoneName(input.timezone)) {
        throw new TetherError(
          'VALIDATION_FAILED',
          `${input.timezone} is not a time zone (write e.g. Europe/Kyiv).`,
          {
            details: { field: 'timezone' },
          },
        );
      }
      changes.timezone = { from: org.timezone ?? null, to: input.timezone };
      org = await store.orgs.update(org.id, { timezone: input.timezone ?? undefined });
    }
    if (input.location !== undefined) {
      changes.location = { from: org.location ?? null, to: input.location };
      org = await store.orgs.update(org.id, { location: input.location ?? undefined });
    }
    if (Object.keys(changes).length > 0) {
      await auditor.record({
        actor: actor.userId,
        action: 'org.updated',
        targetType: 'org',
        targetId: org.id,
        orgId: org.id,
        ip,
        details: changes,
      });
    }
    return this.view(org);
  }

  /**
   * Deletes an empty org. With `force`, deletes everything in it and below it: sub-orgs, users
   * (their sessions end), devices (their tokens stop working and live connections drop),
   * templates, invitations, roles and grants. The caller's own org and roots never go.
   */
  async remove(
    actor: AuthenticatedActor,
    id: string,
    force: boolean,
    ip: string | null,
  ): Promise<{ deleted: Record<string, number> }> {
    const { store, auditor } = this.deps;
    const org = await this.#visible(actor, 'org.edit', id);
    if (org.id === actor.orgId || org.parentId === null) {
      throw new TetherError(
        'VALIDATION_FAILED',
        'Your own organization and root organizations cannot be deleted.',
      );
    }
    const orgIds = [...(await subtreeOrgIds(store, org.id))];
    const contents = {
      orgs: orgIds.length - 1,
      users: await store.users.countInOrgs(orgIds),
      devices: await store.devices.countInOrgs(orgIds),
      templates: await store.templates.countInOrgs(orgIds),
    };
    const empty = Object.values(contents).every((n) => n === 0);
    if (!empty && !force) {
      throw new TetherError(
        'ORG_NOT_EMPTY',
        `Organization ${org.name} still holds ${contents.orgs} sub-org(s), ${contents.users} user(s), ${contents.devices} device(s) and ${contents.templates} template(s). Move them out, or delete it with force=true (everything in it goes).`,
        { details: { ...contents, field: 'force' } },
      );
    }
    if (!empty) requirePermission(actor, 'users.delete');
    if (contents.devices > 0) requirePermission(actor, 'devices.delete');
    // One transaction: after a crash the tree is either all there or all gone, never half.
    const removed: DeviceRef[] = [];
    await store.transaction(async (tx) => {
      removed.length = 0;
      await deleteOrgRows(tx, orgIds, (page) => {
        for (const device of page) removed.push(deviceRef(device));
      });
    });
    void this.deps.deviceRemoval.removedAll(removed, 'its organization was deleted', (device, error) =>
      this.deps.logger.warn({ err: error, deviceId: device.id }, 'deleted device not dropped'),
    );
    await auditor.record({
      actor: actor.userId,
      action: 'org.deleted',
      targetType: 'org',
      targetId: org.id,
      orgId: org.parentId,
      ip,
      details: { name: org.name, force, ...contents },
    });
    return { deleted: contents };
  }

  async view(org: Org): Promise<OrgView> {
    const { plan, holder } = await this.deps.plans.scopeOf(org.id);
    return {
      ...org,
      kind: org.kind ?? 'standard',
      depth: await this.#depth(org),
      effectivePlan: plan,
      planHolderId: holder.id,
    };
  }

  /**
   * Plans belong to tenants and the operator sets them: a plan goes on the root (the operator's
   * own org) or on a tenant directly below it, and only the root's own people change it — never a
   * tenant's admins. A change that would leave the tenant over its new limits is refused, naming
   * what is over, unless forced; the returned list says what was over when it was forced.
   */
  async #checkPlanChange(
    actor: AuthenticatedActor,
    org: Org,
    plan: PlanName,
    force: boolean,
  ): Promise<string[]> {
    const { store, plans, config } = this.deps;
    const actorOrg = await store.orgs.get(actor.orgId);
    const operator = actorOrg?.parentId === null;
    const placeable = org.parentId === null ? org.id === actor.orgId : org.parentId === actor.orgId;
    if (!operator) {
      throw new TetherError(
        'PERMISSION_DENIED',
        "Plans are set by the operator's admins (the root organization), not by a tenant's own admins.",
        { details: { field: 'plan' } },
      );
    }
    if (!placeable) {
      throw new TetherError(
        'VALIDATION_FAILED',
        'A plan is set on the root organization or on a tenant directly below it.',
        { details: { field: 'plan' } },
      );
    }
    const limits = config.plans[plan];
    const over: string[] = [];
    const scope = await plans.scopeOrgIds(org.id);
    // What the org holds once it has a plan of its own: its subtree, less tenants below it.
    for (const limit of ['users', 'devices', 'subOrgs', 'templates'] as const) {
      const used = await plans.usage(org.id, limit);
      if (used > limits[limit]) {
        over.push(`${countOf(limit, used)} (the ${plan} plan allows ${limits[limit]})`);
      }
    }
    const inScope = await store.orgs.find({ id: { in: [...scope] } });
    if (!limits.partnerOrgs) {
      const partners = inScope.filter((o) => o.kind === 'partner').length;
      if (partners > 0) over.push(`${partners} partner organization(s) (the ${plan} plan has none)`);
    }
    if (!limits.selfRegistration) {
      const open = inScope.filter((o) => o.registration?.enabled).length;
      if (open > 0)
        over.push(`self-registration switched on in ${open} organization(s) (the ${plan} plan has none)`);
    }
    if (!limits.customRoles) {
      const custom = await store.roles.count({ orgId: { in: [...scope] }, builtIn: false });
      if (custom > 0) over.push(`${custom} custom role record(s) (the ${plan} plan has none)`);
    }
    if (over.length > 0 && !force) {
      throw new TetherError(
        'PLAN_LIMIT',
        `${org.name} is over the ${plan} plan: ${over.join('; ')}. Remove what is over first, or force the change (it then keeps what it has but can add nothing past the limits).`,
        { details: { field: 'force', limit: 'plan', plan, over } },
      );
    }
    return over;
  }

  /** A maker's self-registration switch, and what a registrant gets (default: a client with the User role). */
  async #registrationSettings(
    actor: AuthenticatedActor,
    org: Org,
    input: Partial<RegistrationSettings>,
  ): Promise<RegistrationSettings> {
    const { plans, roles, config } = this.deps;
    requirePermission(actor, 'users.invite');
    const next: RegistrationSettings = {
      enabled: input.enabled ?? org.registration?.enabled ?? false,
      roleId: input.roleId ?? org.registration?.roleId ?? 'user',
      type: input.type ?? org.registration?.type ?? 'client',
      ownOrg: input.ownOrg ?? org.registration?.ownOrg ?? false,
    };
    if (next.enabled) {
      await plans.assertFeature(org.id, 'selfRegistration');
      if (next.type === 'partner') {
        throw new TetherError('VALIDATION_FAILED', 'Registrants cannot be partners: partners are invited.', {
          details: { field: 'registration.type' },
        });
      }
      // Registrants land in the Clients org below (and, with ownOrg, one level further down).
      const needed = (await this.#depth(org)) + (next.ownOrg ? 2 : 1);
      if (needed > config.accounts.maxOrgDepth) {
        throw new TetherError(
          'VALIDATION_FAILED',
          `Registrants of ${org.name} would sit ${needed} levels below the root; accounts.maxOrgDepth allows ${config.accounts.maxOrgDepth}.`,
          { details: { field: 'registration.ownOrg' } },
        );
      }
      // Nobody opens a door to a role above their own.
      await roles.assignable(actor, org.id, next.roleId, next.type);
    }
    return next;
  }

  async #visible(
    actor: AuthenticatedActor,
    permission: 'org.view' | 'org.edit' | 'org.create-sub',
    id: string,
  ): Promise<Org> {
    const org = await this.deps.store.orgs.get(id);
    authorize(actor, permission, org ? { orgId: org.id } : undefined, 'Organization', id);
    if (!org) throw notFound('Organization', id);
    return org;
  }

  async #uniqueName(parentId: string, name: string, except: string | undefined): Promise<void> {
    const siblings = await this.deps.store.orgs.find({ parentId });
    if (siblings.some((o) => o.id !== except && o.name.toLowerCase() === name.toLowerCase())) {
      throw new TetherError('CONFLICT', `An organization named ${name} already exists there.`, {
        details: { field: 'name' },
      });
    }
  }

  async #depth(org: Org): Promise<number> {
    return Math.max(0, (await this.deps.store.orgs.ancestors(org.id)).length - 1);
  }

  /** Levels below org (a leaf is 0). */
  async #height(orgId: string): Promise<number> {
    const depth = new Map<string, number>([[orgId, 0]]);
    let height = 0;
    // The subtree comes parent before child, so each parent's depth is known when its child comes.
    for (const org of await this.deps.store.orgs.subtree(orgId)) {
      if (org.id === orgId || org.parentId === null) continue;
      const d = (depth.get(org.parentId) ?? 0) + 1;
      depth.set(org.id, d);
      height = Math.max(height, d);
    }
    return height;
  }
}

/**
 * Deletes every row of the orgs `orgIds` (a whole subtree) inside the transaction `tx`. Devices go
 * a page at a time, each page deleted before the next is read (the walk goes on after the last id,
 * so it never meets them again): no statement names more than a page of ids, and `onPage` sees
 * each page once, to keep what it needs of them. Then their people's grants and sessions, the
 * templates, invitations, roles, link tokens, people and the orgs themselves.
 */
export async function deleteOrgRows(
  tx: StoreTables,
  orgIds: readonly string[],
  onPage: (page: readonly Device[]) => void = () => {},
): Promise<void> {
  const inTree = { orgId: { in: [...orgIds] } };
  for await (const page of pages(tx.devices, inTree)) {
    await deleteDeviceRows(
      tx,
      page.map((d) => d.id),
    );
    onPage(page);
  }
  const userIds = (await tx.users.find(inTree)).map((u) => u.id);
  await tx.grants.deleteWhere({ userId: { in: userIds } });
  await tx.refreshTokens.deleteWhere({ userId: { in: userIds } });
  await tx.templates.deleteWhere(inTree);
  await tx.invitations.deleteWhere(inTree);
  await tx.roles.deleteWhere(inTree);
  await tx.linkTokens.deleteWhere(inTree);
  await tx.users.deleteWhere(inTree);
  await tx.orgs.deleteWhere({ id: { in: [...orgIds] } });
}
