/**
 * Plan limits, read from the one table in the configuration (config.plans). A plan is set on a
 * root org; every org below follows it. Breaking a limit is PLAN_LIMIT naming the limit and plan.
 */
import type { Clock } from '../../shared/clock.js';
import type { TetherConfig } from '../../shared/config.js';
import { TetherError } from '../../shared/errors.js';
import type { Store, StoreTables } from '../store/store.js';
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
  constructor(private readonly deps: { store: Store; config: TetherConfig; clock: Clock }) {}

  async rootAndPlan(
    orgId: string,
    tables: StoreTables = this.deps.store,
  ): Promise<{ root: Org; plan: PlanName }> {
    const root = await rootOf(tables, orgId);
    if (!root) throw new TetherError('NOT_FOUND', `Organization ${orgId} does not exist.`);
    return { root, plan: root.plan ?? 'free' };
  }

  /** How many of `limit` the tree under orgId's root holds now: one count over an index. */
  async usage(orgId: string, limit: PlanLimit, tables: StoreTables = this.deps.store): Promise<number> {
    const { root } = await this.rootAndPlan(orgId, tables);
    const orgIds = [...(await subtreeOrgIds(tables, root.id))];
    if (limit === 'subOrgs') return orgIds.length - 1;
    const where = { orgId: { in: orgIds } };
    if (limit === 'users') return tables.users.count(where);
    // A pending device whose provisioning session expired can never activate: it holds no place
    // (the gateway sweeps it away after a grace in which a companion may still ask about it).
    if (limit === 'devices')
      return tables.devices.count({
        ...where,
        anyOf: [{ status: { ne: 'pending' } }, { provisioningExpiresAt: { gte: this.deps.clock.now() } }],
      });
    return tables.templates.count(where);
  }

  /**
   * Throws PLAN_LIMIT when adding `adding` more would pass the plan's limit. Call it with the
   * tables of the transaction that then inserts: the check and the insert commit together, so
   * two requests racing for the last place cannot both take it.
   */
  async assertWithin(
    orgId: string,
    limit: PlanLimit,
    adding = 1,
    tables: StoreTables = this.deps.store,
  ): Promise<void> {
    const { plan } = await this.rootAndPlan(orgId, tables);
    const max = this.deps.config.plans[plan][limit];
    const used = await this.usage(orgId, limit, tables);
    if (used + adding > max) {
      throw new TetherError(
        'PLAN_LIMIT',
        `The ${plan} plan allows ${max} ${LIMIT_NAMES[limit]}; this organization tree has ${used}. Upgrade the plan or remove some first.`,
        { details: { limit, plan, max, used } },
      );
    }
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
