/**
 * Static tokens for makers: mint into the org's pool (tokens and claim codes shown once, in this
 * answer), list the pool, disclaim a claimed device, revoke a token. Claiming is claim-routes.ts.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { claimedPoolRow, MAX_MINT_PER_REQUEST } from '../../devices/static-token-service.js';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { PrintableName } from './text-schemas.js';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const staticTokenRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { staticTokens, devices } = services;
  app.addHook('preHandler', requireActor(services));

  app.post(
    '/static-tokens',
    {
      schema: {
        body: Type.Object(
          {
            templateId: Type.String({ pattern: '^TMPL[A-Za-z0-9]{1,32}$' }),
            count: Type.Integer({ minimum: 1, maximum: MAX_MINT_PER_REQUEST }),
            namePrefix: Type.Optional(PrintableName(100)),
            orgId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const minted = await staticTokens.mint(actorOf(request), request.body, { ip: request.ip });
      return reply.status(201).header('cache-control', 'no-store').send({ devices: minted });
    },
  );

  app.get(
    '/static-tokens',
    {
      schema: {
        querystring: Type.Object(
          { templateId: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const pool = await staticTokens.listPool(
        actor,
        request.query.templateId ? { templateId: request.query.templateId } : {},
      );
      // Once claimed, a row says only that (and when): the rest belongs to the claimer.
      return { devices: pool.map((d) => claimedPoolRow(actor, d) ?? devices.toPublic(d)) };
    },
  );

  app.post('/static-tokens/:id/disclaim', { schema: { params: Params } }, async (request, reply) => {
    const result = await staticTokens.disclaim(actorOf(request), request.params.id, { ip: request.ip });
    return reply
      .header('cache-control', 'no-store')
      .send({ device: devices.toPublic(result.device), claimCode: result.claimCode });
  });

  app.delete('/static-tokens/:id', { schema: { params: Params } }, async (request) => {
    const actor = actorOf(request);
    const device = await staticTokens.revoke(actor, request.params.id, { ip: request.ip });
    return claimedPoolRow(actor, device) ?? devices.toPublic(device);
  });
};
