/**
 * How much of its plan an organization tree uses: for each limit (users, devices, sub-orgs,
 * templates) what is used and what the plan allows, and which plan features it has. Read-only; the
 * console shows it wherever a limit applies. Limits count the whole tree under the org's root, as
 * the checks that enforce them do (plan-limits.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
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
    const { root, plan } = await plans.rootAndPlan(id);
    const table = services.config.plans[plan];
    const limits: Record<string, { used: number; max: number }> = {};
    for (const limit of LIMITS) limits[limit] = { used: await plans.usage(id, limit), max: table[limit] };
    return {
      orgId: id,
      rootId: root.id,
      plan,
      limits,
      features: {
        editablePermissions: table.editablePermissions,
        customRoles: table.customRoles,
        selfRegistration: table.selfRegistration,
        partnerOrgs: table.partnerOrgs,
      },
    };
  });
};
