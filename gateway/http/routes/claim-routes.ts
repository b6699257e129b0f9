/** Claiming a static-token device by the code on its label: it becomes the caller's. */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { Name } from './text-schemas.js';

export const claimRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  app.addHook('preHandler', requireActor(services));

  app.post(
    '/claims',
    {
      schema: {
        body: Type.Object(
          {
            claimCode: Type.String({ minLength: 1, maxLength: 64 }),
            name: Type.Optional(Name),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) =>
      services.devices.toPublic(
        await services.staticTokens.claim(actorOf(request), request.body, { ip: request.ip }),
      ),
  );
};
