import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../http-app.js';

export const deviceRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  app.addHook('preHandler', requireActor(services));

  app.get('/devices', async (request) => ({ devices: await services.devices.listVisible(actorOf(request)) }));

  app.get(
    '/devices/:id',
    { schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } },
    async (request) =>
      services.devices.toPublic(await services.devices.getVisible(actorOf(request), request.params.id)),
  );
};
