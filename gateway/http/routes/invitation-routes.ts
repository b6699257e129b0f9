/** Invitations (admins) and accepting one; client self-registration and its verification (anonymous). */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { Email, Id, IdParams, LinkToken, Name, Password, strict, UserTypeSchema } from './account-schemas.js';

export const invitationRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { invitations } = services.accounts;
  const authenticated = { preHandler: requireActor(services) };

  app.post(
    '/invitations',
    {
      ...authenticated,
      schema: {
        body: strict({
          email: Email,
          roleId: Id,
          orgId: Type.Optional(Id),
          type: Type.Optional(UserTypeSchema),
          name: Type.Optional(Name),
        }),
      },
    },
    async (request, reply) =>
      reply.status(201).send(await invitations.invite(actorOf(request), request.body, request.ip)),
  );

  app.get(
    '/invitations',
    { ...authenticated, schema: { querystring: strict({ orgId: Type.Optional(Id) }) } },
    async (request) => ({ invitations: await invitations.list(actorOf(request), request.query.orgId) }),
  );

  app.delete(
    '/invitations/:id',
    { ...authenticated, schema: { params: IdParams } },
    async (request, reply) => {
      await invitations.revoke(actorOf(request), request.params.id, request.ip);
      return reply.status(204).send();
    },
  );

  app.post(
    '/invitations/:id/resend',
    { ...authenticated, schema: { params: IdParams } },
    async (request, reply) =>
      reply.status(201).send(await invitations.resend(actorOf(request), request.params.id, request.ip)),
  );

  app.post(
    '/invitations/accept',
    { schema: { body: strict({ token: LinkToken, password: Password, name: Type.Optional(Name) }) } },
    async (request, reply) =>
      reply.status(201).send({ user: await invitations.accept(request.body, request.ip) }),
  );

  app.post(
    '/registrations',
    { schema: { body: strict({ orgId: Id, email: Email }) } },
    async (request, reply) => {
      await invitations.register(request.body, request.ip);
      return reply.status(202).send({ status: 'accepted' });
    },
  );

  app.post(
    '/registrations/verify',
    { schema: { body: strict({ token: LinkToken, password: Password, name: Type.Optional(Name) }) } },
    async (request, reply) =>
      reply.status(201).send({ user: await invitations.verify(request.body, request.ip) }),
  );
};
