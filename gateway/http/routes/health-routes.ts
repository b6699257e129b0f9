import type { FastifyPluginAsync } from 'fastify';
import type { GatewayServices } from '../../services.js';

export const healthRoutes: FastifyPluginAsync<{ services: GatewayServices }> = async (app, { services }) => {
  app.get('/healthz', async () => ({
    status: 'ok',
    mqtt: { port: services.broker.port, connectedDevices: services.broker.connectedDevices },
  }));
};
