/** Organizations: the tree the caller sees, create, rename, move, set a root's plan, delete. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { Id, IdParams, Name, Plan, strict, UserTypeSchema } from './account-schemas.js';

export const orgRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { orgs } = services.accounts;
  app.addHook('preHandler', requireActor(services));

  app.get('/orgs', async (request) => ({ orgs: await orgs.list(actorOf(request)) }));

  app.get('/orgs/:id', { schema: { params: IdParams } }, async (request) =>
    orgs.get(actorOf(request), request.params.id),
  );

  app.post(
    '/orgs',
    {
      schema: {
        body: strict({
          name: Name,
          parentId: Type.Optional(Id),
          kind: Type.Optional(Type.Union([Type.Literal('standard'), Type.Literal('partner')])),
        }),
      },
    },
    async (request, reply) =>
      reply.status(201).send(await orgs.create(actorOf(request), request.body, request.ip)),
  );

  app.patch(
    '/orgs/:id',
    {
      schema: {
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Name),
            parentId: Type.Optional(Id),
            // Operator only: the plan of the root or of a tenant; force takes a downgrade past its limits.
            plan: Type.Optional(Plan),
            force: Type.Optional(Type.Boolean()),
            // A maker's self-registration switch and what registrants get.
            registration: Type.Optional(
              Type.Object(
                {
                  enabled: Type.Optional(Type.Boolean()),
                  roleId: Type.Optional(Id),
                  type: Type.Optional(UserTypeSchema),
                  ownOrg: Type.Optional(Type.Boolean()),
                },
                { additionalProperties: false, minProperties: 1 },
              ),
            ),
            // Device settings: get/utc/all/json and get/loc/all fall back to them; null clears.
            timezone: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
            location: Type.Optional(
              Type.Union([
                Type.Object(
                  {
                    lat: Type.Number({ minimum: -90, maximum: 90 }),
                    lon: Type.Number({ minimum: -180, maximum: 180 }),
                  },
                  { additionalProperties: false },
                ),
                Type.Null(),
              ]),
            ),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
      },
    },
    async (request) => orgs.update(actorOf(request), request.params.id, request.body, request.ip),
  );

  app.delete(
    '/orgs/:id',
    {
      schema: {
        params: IdParams,
        querystring: strict({
          force: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
        }),
      },
    },
    async (request) =>
      orgs.remove(actorOf(request), request.params.id, request.query.force === 'true', request.ip),
  );
};
