/**
 * What the route files share, below both them and the app that registers them (routes never
 * import the app): the access-token check, the actor it sets, and the opening of a push stream.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TetherError } from '../../shared/errors.js';
import type { AuthenticatedActor } from '../accounts/auth-service.js';
import type { GatewayServices } from '../services.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor?: AuthenticatedActor;
  }
}

/** How often a push stream says it is alive (proxies close a silent connection). */
export const STREAM_HEARTBEAT_MS = 15_000;

/** A preHandler that requires a valid access token and sets request.actor. */
export const requireActor =
  (services: GatewayServices) =>
  async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) {
      throw new TetherError('AUTH_REQUIRED', 'Log in first: send "Authorization: Bearer <access token>".');
    }
    request.actor = await services.auth.authenticate(header.slice(7).trim());
  };

export function actorOf(request: FastifyRequest): AuthenticatedActor {
  if (!request.actor) throw new TetherError('AUTH_REQUIRED', 'Log in first.');
  return request.actor;
}

/**
 * Takes the response over from fastify and opens a server-sent event stream on it (no proxy
 * buffering); from here on a failure ends this stream, never as a JSON error.
 */
export function openEventStream(reply: FastifyReply): ServerResponse {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  return res;
}
