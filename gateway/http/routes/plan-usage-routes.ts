/**
 * How much of its plan an organization tree uses: for each limit (users, devices, sub-orgs,
 * templates) what is used and what the plan allows, and which plan features it has. Read-only; the
 * console shows it wherever a limit applies. Limits count what the org's plan scope holds (its
 * tenant's subtree, less tenants below with plans of their own), as the checks that enforce them do
 * (plan-limits.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PERMISSIONS } from '../../../shared/permissions.js';
import { authorize } from '../../accounts/access.js';
import type { PlanLimit } from '../../accounts/plan-limits.js';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { IdParams } from './account-schemas.js';

const LIMITS: readonly PlanLimit[] = ['users', 'devices', 'subOrgs', 'templates'];

export const planUsageRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { plans } = services.accounts.deps;
  app.addHook('preHandler', requireActor(services));

  app.get('/orgs/:id/usage', { schema: { params: IdParams } }, async (request) => {
    const { id } = request.params;
    const org = await services.store.orgs.get(id);
    authorize(actorOf(request), 'org.view', org ? { orgId: org.id } : undefined, 'Organization', id);
    const { holder, plan } = await plans.scopeOf(id);
    const table = services.config.plans[plan];
    const limits: Record<string, { used: number; max: number }> = {};
    for (const limit of LIMITS)
      limits[limit] = { used: await plans.usage(holder.id, limit), max: table[limit] };
    const locked = plans.lockedPermissions(plan);
    return {
      orgId: id,
      /** The org whose plan applies (the tenant, or the root). */
      rootId: holder.id,
      plan,
      limits,
      lockedPermissions: locked,
      features: {
        editablePermissions: locked.length < PERMISSIONS.length,
        customRoles: table.customRoles,
        selfRegistration: table.selfRegistration,
        partnerOrgs: table.partnerOrgs,
      },
    };
  });
};
