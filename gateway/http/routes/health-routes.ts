import type { FastifyPluginAsync } from 'fastify';
import type { GatewayServices } from '../../services.js';

/**
 * `/healthz`: the process is alive and answering (a supervisor restarts it when not).
 * `/readyz`: it can do its work now: the store writes, the broker listens and, on a node of a
 * cluster, the cluster's Redis answers (without it no command reaches another node); a load balancer
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
    const cluster = services.cluster ? { reachable: services.cluster.reachable } : undefined;
    const ready = store.writable && broker.listening && (cluster?.reachable ?? true);
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', store, broker, ...(cluster ? { cluster } : {}) });
  });
};
