/** The audit log of account and ownership actions, for those with the audit permission. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { listAudit } from '../../accounts/audit-query.js';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { Id, strict } from './account-schemas.js';

export const auditRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  app.addHook('preHandler', requireActor(services));

  app.get(
    '/audit',
    {
      schema: {
        querystring: strict({
          orgId: Type.Optional(Id),
          targetId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          // Query strings are text: a bounded run of digits, converted below.
          limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
        }),
      },
    },
    async (request) => {
      const { orgId, targetId, limit } = request.query;
      const n = limit === undefined ? undefined : Math.min(1000, Math.max(1, Number(limit)));
      return {
        events: await listAudit(services.store, actorOf(request), {
          ...(orgId !== undefined ? { orgId } : {}),
          ...(targetId !== undefined ? { targetId } : {}),
          ...(n !== undefined ? { limit: n } : {}),
        }),
      };
    },
  );
};
