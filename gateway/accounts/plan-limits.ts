/**
 * Plan limits, read from the one table in the configuration (config.plans). Plans belong to
 * tenants: a gateway often hosts several makers, each a top-level org under the operator's root
 * with a plan of its own, set by the operator's admins. An org follows the nearest org at or above
 * it that holds a plan (its tenant, else the root), and limits count what that scope holds — its
 * subtree, less any tenant below it with a plan of its own. Breaking a limit is PLAN_LIMIT naming
 * the limit and the plan.
 */
import type { Clock } from '../../shared/clock.js';
import type { TetherConfig } from '../../shared/config.js';
import { TetherError } from '../../shared/errors.js';
import { PERMISSIONS, type Permission } from '../../shared/permissions.js';
import type { Store, StoreTables } from '../store/store.js';
import type { Org, PlanName } from '../store/types.js';

export type PlanLimit = 'users' | 'devices' | 'subOrgs' | 'templates';
export type PlanFeature = 'customRoles' | 'selfRegistration' | 'partnerOrgs';

const LIMIT_NAMES: Record<PlanLimit, [one: string, many: string]> = {
  users: ['user', 'users'],
  devices: ['device', 'devices'],
  subOrgs: ['sub-organization', 'sub-organizations'],
  templates: ['template', 'templates'],
};

/** `n` of a limit in words: "1 user", "3 sub-organizations". */
export const countOf = (limit: PlanLimit, n: number): string => `${n} ${LIMIT_NAMES[limit][n === 1 ? 0 : 1]}`;

const FEATURE_NAMES: Record<PlanFeature, string> = {
  customRoles: 'custom roles',
  selfRegistration: 'client self-registration',
  partnerOrgs: 'partner organizations',
};

/** The org whose plan applies, and that plan. */
export interface PlanScope {
  /** The tenant (or root) holding the plan. */
  holder: Org;
  plan: PlanName;
}

export class PlanLimits {
  constructor(private readonly deps: { store: Store; config: TetherConfig; clock: Clock }) {}

  /** The nearest org at or above orgId with a plan of its own (else the root): one ancestors call. */
  async scopeOf(orgId: string, tables: StoreTables = this.deps.store): Promise<PlanScope> {
    const chain = await tables.orgs.ancestors(orgId);
    const holder = chain.find((o) => o.plan !== null) ?? chain.at(-1);
    if (!holder) throw new TetherError('NOT_FOUND', `Organization ${orgId.slice(0, 64)} does not exist.`);
    return { holder, plan: holder.plan ?? 'free' };
  }

  /** The orgs a scope's limits count: the holder's subtree, less tenants below it with their own plan. */
  async scopeOrgIds(holderId: string, tables: StoreTables = this.deps.store): Promise<Set<string>> {
    const out = new Set<string>([holderId]);
    // The subtree comes parent before child: a child joins when its parent did and it has no plan.
    for (const org of await tables.orgs.subtree(holderId)) {
      if (org.id === holderId || org.plan !== null || org.parentId === null) continue;
      if (out.has(org.parentId)) out.add(org.id);
    }
    return out;
  }

  /**
   * How many of `limit` the scope of `holderId` holds now: a sum of the store's per-org counts,
   * O(orgs in the scope) whatever the number of records.
   */
  async usage(holderId: string, limit: PlanLimit, tables: StoreTables = this.deps.store): Promise<number> {
    const orgIds = [...(await this.scopeOrgIds(holderId, tables))];
    if (limit === 'subOrgs') return orgIds.length - 1;
    if (limit === 'users') return tables.users.countInOrgs(orgIds);
    if (limit === 'templates') return tables.templates.countInOrgs(orgIds);
    // A pending device whose provisioning session expired can never activate: it holds no place
    // (the gateway sweeps it away after a grace in which a companion may still ask about it).
    // Counted as the scope's devices less those; the second count reads pending devices only
    // (an index of them by deadline), so opening a session never reads the fleet.
    const all = await tables.devices.countInOrgs(orgIds);
    const expired = await tables.devices.count({
      orgId: { in: orgIds },
      status: 'pending',
      provisioningExpiresAt: { lt: this.deps.clock.now() },
    });
    return all - expired;
  }

  /**
   * Throws PLAN_LIMIT when adding `adding` more to orgId's scope would pass its plan's limit.
   * Call it with the tables of the transaction that then inserts: the check and the insert commit
   * together, so two requests racing for the last place cannot both take it.
   * `from`: where the records come from; a move inside one scope adds nothing.
   */
  async assertWithin(
    orgId: string,
    limit: PlanLimit,
    adding = 1,
    tables: StoreTables = this.deps.store,
    from?: string,
  ): Promise<void> {
    const { holder, plan } = await this.scopeOf(orgId, tables);
    if (from !== undefined && (await this.scopeOf(from, tables)).holder.id === holder.id) return;
    const max = this.deps.config.plans[plan][limit];
    const used = await this.usage(holder.id, limit, tables);
    if (used + adding > max) {
      throw new TetherError(
        'PLAN_LIMIT',
        `The ${plan} plan allows ${countOf(limit, max)}; ${holder.name} has ${used}. Upgrade the plan or remove some first.`,
        { details: { limit, plan, max, used } },
      );
    }
  }

  async assertFeature(orgId: string, feature: PlanFeature): Promise<void> {
    const { plan } = await this.scopeOf(orgId);
    if (!this.hasFeature(plan, feature)) {
      throw new TetherError(
        'PLAN_LIMIT',
        `The ${plan} plan does not include ${FEATURE_NAMES[feature]}. Upgrade the plan to use it.`,
        { details: { limit: feature, plan } },
      );
    }
  }

  hasFeature(plan: PlanName, feature: PlanFeature): boolean {
    return this.deps.config.plans[plan][feature];
  }

  /** The permissions whose setting no role edit may change on `plan`. */
  lockedPermissions(plan: PlanName): Permission[] {
    const names = this.deps.config.plans[plan].lockedPermissions as readonly string[];
    return names.includes('*') ? [...PERMISSIONS] : PERMISSIONS.filter((p) => names.includes(p));
  }
}
