/** Managing people in the caller's subtree. A person's own account is in account-routes.ts. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { Id, IdParams, Name, Password, strict, UserTypeSchema } from './account-schemas.js';

export const userRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { users } = services.accounts;
  app.addHook('preHandler', requireActor(services));

  app.get('/users', { schema: { querystring: strict({ orgId: Type.Optional(Id) }) } }, async (request) => ({
    users: await users.list(actorOf(request), request.query.orgId),
  }));

  app.get('/users/:id', { schema: { params: IdParams } }, async (request) =>
    users.get(actorOf(request), request.params.id),
  );

  app.patch(
    '/users/:id',
    {
      schema: {
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Name),
            roleId: Type.Optional(Id),
            status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
            type: Type.Optional(UserTypeSchema),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
      },
    },
    async (request) => users.update(actorOf(request), request.params.id, request.body, request.ip),
  );

  app.post(
    '/users/:id/move',
    {
      schema: {
        params: IdParams,
        body: strict({
          orgId: Id,
          roleId: Id,
          // What happens to the devices they own: "move" with them, or "leave" unowned where they are.
          devices: Type.Optional(Type.Union([Type.Literal('move'), Type.Literal('leave')])),
        }),
      },
    },
    async (request) => users.move(actorOf(request), request.params.id, request.body, request.ip),
  );

  app.post(
    '/users/:id/reset-password',
    { schema: { params: IdParams, body: strict({ password: Type.Optional(Password) }) } },
    async (request) =>
      users.adminResetPassword(actorOf(request), request.params.id, request.body.password, request.ip),
  );

  app.post('/users/:id/logout', { schema: { params: IdParams } }, async (request, reply) => {
    await users.forceLogout(actorOf(request), request.params.id, request.ip);
    return reply.status(204).send();
  });

  app.delete('/users/:id', { schema: { params: IdParams } }, async (request) =>
    users.remove(actorOf(request), request.params.id, request.ip),
  );
};
