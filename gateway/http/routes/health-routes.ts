import type { FastifyPluginAsync } from 'fastify';
import type { GatewayServices } from '../../services.js';

/**
 * `/healthz`: the process is alive and answering (a supervisor restarts it when not).
 * `/readyz`: it can do its work now: the store writes and the broker listens; a load balancer
 * sends traffic elsewhere while not (503), and nothing is restarted for it.
 */
export const healthRoutes: FastifyPluginAsync<{ services: GatewayServices }> = async (app, { services }) => {
  app.get('/healthz', async () => ({
    status: 'ok',
    mqtt: { port: services.broker.port, connectedDevices: services.broker.connectedDevices },
  }));

  app.get('/readyz', async (_request, reply) => {
    const store = services.store.health();
    const broker = { listening: services.broker.port > 0 };
    const ready = store.writable && broker.listening;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', store, broker });
  });
};
