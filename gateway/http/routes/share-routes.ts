/**
 * Device sharing: grants of view or control by email address, to people of any org, and what is
 * shared with me. The answer to a grant is the same whether or not the address has an account.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { Email, Id, IdParams, strict } from './account-schemas.js';

const Level = Type.Union([Type.Literal('view'), Type.Literal('control')]);

export const shareRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { shares } = services.accounts;
  app.addHook('preHandler', requireActor(services));

  app.get('/shares', async (request) => ({ shared: await shares.sharedWithMe(actorOf(request)) }));

  app.get('/devices/:id/shares', { schema: { params: IdParams } }, async (request) => ({
    shares: await shares.list(actorOf(request), request.params.id),
  }));

  app.post(
    '/devices/:id/shares',
    { schema: { params: IdParams, body: strict({ email: Email, level: Level }) } },
    async (request, reply) =>
      reply
        .status(201)
        .send(await shares.grant(actorOf(request), request.params.id, request.body, request.ip)),
  );

  // By the share's id; the grantee's user id works too (a grantee drops a share with their own).
  app.delete(
    '/devices/:id/shares/:shareId',
    { schema: { params: strict({ id: Id, shareId: Id }) } },
    async (request, reply) => {
      await shares.revoke(actorOf(request), request.params.id, request.params.shareId, request.ip);
      return reply.status(204).send();
    },
  );
};
