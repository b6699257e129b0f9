/**
 * The audit log of account, ownership and configuration actions, and the device-activity log of
 * commands sent to devices, for those with the audit permission; filtered by org, target, action,
 * actor and time.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { listAudit } from '../../accounts/audit-query.js';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { Id, strict } from './account-schemas.js';

// Query strings are text: bounded runs of digits, converted below.
const Millis = Type.String({ pattern: '^[0-9]{1,15}$', description: 'a time in milliseconds since 1970' });

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
          action: Type.Optional(
            Type.String({
              pattern: '^[a-z][a-z0-9.-]{0,63}$',
              description: 'an action such as user.deleted, or a family such as user.',
            }),
          ),
          actor: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          since: Type.Optional(Millis),
          until: Type.Optional(Millis),
          log: Type.Optional(Type.Union([Type.Literal('audit'), Type.Literal('devices')])),
          limit: Type.Optional(
            Type.String({ pattern: '^[0-9]{1,4}$', description: 'a number from 1 to 1000' }),
          ),
        }),
      },
    },
    async (request) => {
      const q = request.query;
      const n = q.limit === undefined ? undefined : Math.min(1000, Math.max(1, Number(q.limit)));
      return {
        events: await listAudit(services.store, actorOf(request), {
          ...(q.orgId !== undefined ? { orgId: q.orgId } : {}),
          ...(q.targetId !== undefined ? { targetId: q.targetId } : {}),
          ...(q.action !== undefined ? { action: q.action } : {}),
          ...(q.actor !== undefined ? { actor: q.actor } : {}),
          ...(q.since !== undefined ? { since: Number(q.since) } : {}),
          ...(q.until !== undefined ? { until: Number(q.until) } : {}),
          ...(q.log !== undefined ? { log: q.log } : {}),
          ...(n !== undefined ? { limit: n } : {}),
        }),
      };
    },
  );
};
