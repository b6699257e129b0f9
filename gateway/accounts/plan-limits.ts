/**
 * Plan limits, read from the one table in the configuration (config.plans). A plan is set on a
 * root org; every org below follows it. Breaking a limit is PLAN_LIMIT naming the limit and plan.
 */
import type { TetherConfig } from '../../shared/config.js';
import { TetherError } from '../../shared/errors.js';
import type { Store } from '../store/store.js';
import type { Org, PlanName } from '../store/types.js';
import { rootOf, subtreeOrgIds } from './org-tree.js';

export type PlanLimit = 'users' | 'devices' | 'subOrgs' | 'templates';
export type PlanFeature = 'editablePermissions' | 'customRoles' | 'selfRegistration' | 'partnerOrgs';

const LIMIT_NAMES: Record<PlanLimit, string> = {
  users: 'users',
  devices: 'devices',
  subOrgs: 'sub-organizations',
  templates: 'templates',
};

const FEATURE_NAMES: Record<PlanFeature, string> = {
  editablePermissions: 'editing role permissions',
  customRoles: 'custom roles',
  selfRegistration: 'client self-registration',
  partnerOrgs: 'partner organizations',
};

export class PlanLimits {
  constructor(private readonly deps: { store: Store; config: TetherConfig }) {}

  async rootAndPlan(orgId: string): Promise<{ root: Org; plan: PlanName }> {
    const root = await rootOf(this.deps.store, orgId);
    if (!root) throw new TetherError('NOT_FOUND', `Organization ${orgId} does not exist.`);
    return { root, plan: root.plan ?? 'free' };
  }

  /** How many of `limit` the tree under orgId's root holds now: one pass over the table. */
  async usage(orgId: string, limit: PlanLimit): Promise<number> {
    const { store } = this.deps;
    const { root } = await this.rootAndPlan(orgId);
    const orgIds = await subtreeOrgIds(store, root.id);
    if (limit === 'subOrgs') return orgIds.size - 1;
    const rows: ReadonlyArray<{ orgId: string }> =
      limit === 'users'
        ? await store.users.find()
        : limit === 'devices'
          ? await store.devices.find()
          : await store.templates.find();
    let n = 0;
    for (const row of rows) if (orgIds.has(row.orgId)) n++;
    return n;
  }

  /** Throws PLAN_LIMIT when adding `adding` more would pass the plan's limit. */
  async assertWithin(orgId: string, limit: PlanLimit, adding = 1): Promise<void> {
    const { plan } = await this.rootAndPlan(orgId);
    const max = this.deps.config.plans[plan][limit];
    // Cheap first: when the whole gateway holds fewer than the limit, no tree can pass it.
    if ((await this.#total(limit)) + adding <= max) return;
    const used = await this.usage(orgId, limit);
    if (used + adding > max) {
      throw new TetherError(
        'PLAN_LIMIT',
        `The ${plan} plan allows ${max} ${LIMIT_NAMES[limit]}; this organization tree has ${used}. Upgrade the plan or remove some first.`,
        { details: { limit, plan, max, used } },
      );
    }
  }

  #total(limit: PlanLimit): Promise<number> {
    const { store } = this.deps;
    if (limit === 'users') return store.users.count();
    if (limit === 'devices') return store.devices.count();
    if (limit === 'templates') return store.templates.count();
    return store.orgs.count();
  }

  async assertFeature(orgId: string, feature: PlanFeature): Promise<void> {
    const { plan } = await this.rootAndPlan(orgId);
    if (!this.deps.config.plans[plan][feature]) {
      throw new TetherError(
        'PLAN_LIMIT',
        `The ${plan} plan does not include ${FEATURE_NAMES[feature]}. Upgrade the plan to use it.`,
        { details: { limit: feature, plan } },
      );
    }
  }
}
