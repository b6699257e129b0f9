/**
 * GET /metrics: Prometheus text (gateway/metrics.ts). A gateway whose HTTP API listens only on
 * loopback serves it to anyone who can reach it there; listening beyond loopback, it is served
 * only with `metrics.enabled`, and then only to a scrape that sends `metrics.token` as a bearer
 * token. A token that is set is always required.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { TetherError } from '../../../shared/errors.js';
import type { GatewayServices } from '../../services.js';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

export const isLoopback = (host: string): boolean => LOOPBACK.test(host);

export const metricsRoutes: FastifyPluginAsync<{ services: GatewayServices }> = async (app, { services }) => {
  const { http, metrics: settings } = services.config;
  const open = isLoopback(http.host) || settings.enabled;
  const token = settings.token ? Buffer.from(`Bearer ${settings.token}`) : undefined;

  app.get('/metrics', async (request, reply) => {
    if (!open) {
      throw new TetherError(
        'NOT_FOUND',
        'No route GET /metrics: set metrics.enabled and metrics.token to serve metrics beyond loopback.',
      );
    }
    if (token) {
      const sent = Buffer.from(request.headers.authorization ?? '');
      if (sent.length !== token.length || !timingSafeEqual(sent, token)) {
        throw new TetherError(
          'AUTH_REQUIRED',
          'Send the metrics token: "Authorization: Bearer <metrics.token>".',
        );
      }
    }
    return reply.header('content-type', services.metrics.contentType).send(await services.metrics.text());
  });
};
