/** A person's own account (me, password, delete self) and the forgot-password flow (anonymous). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { publicUser } from '../../accounts/auth-service.js';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { Email, IdParams, LinkToken, Password, strict } from './account-schemas.js';

export const accountRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { users, orgs } = services.accounts;
  const authenticated = { preHandler: requireActor(services) };

  app.get('/me', authenticated, async (request) => {
    const actor = actorOf(request);
    const org = await services.store.orgs.get(actor.orgId);
    return {
      user: publicUser(actor.user),
      org: org ? await orgs.view(org) : null,
      permissions: [...actor.permissions].sort(),
      sharedDevices: [...(actor.grants ?? [])].map(([deviceId, level]) => ({ deviceId, level })),
    };
  });

  app.post(
    '/me/password',
    { ...authenticated, schema: { body: strict({ currentPassword: Password, newPassword: Password }) } },
    async (request) => users.changePassword(actorOf(request), request.body, request.ip),
  );

  app.delete('/me', { ...authenticated, schema: { body: strict({ password: Password }) } }, async (request) =>
    users.removeSelf(actorOf(request), request.body.password, request.ip),
  );

  // Your own sessions (one per login, on each device), and ending one of them at once.
  app.get('/sessions', authenticated, async (request) => ({
    sessions: await services.auth.sessions(actorOf(request)),
  }));

  app.delete('/sessions/:id', { ...authenticated, schema: { params: IdParams } }, async (request, reply) => {
    await services.auth.endOwnSession(actorOf(request), request.params.id, request.ip);
    return reply.status(204).send();
  });

  // The same answer whether or not the address has an account.
  app.post(
    '/auth/forgot-password',
    { schema: { body: strict({ email: Email }) } },
    async (request, reply) => {
      await users.forgotPassword(request.body.email, request.ip);
      return reply.status(202).send({ status: 'accepted' });
    },
  );

  app.post(
    '/auth/reset-password',
    { schema: { body: strict({ token: LinkToken, password: Password }) } },
    async (request, reply) => {
      await users.resetPassword(request.body, request.ip);
      return reply.status(204).send();
    },
  );
};
