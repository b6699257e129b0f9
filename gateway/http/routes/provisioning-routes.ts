/**
 * Provisioning sessions: create one (a pending device and its token), read its state, or follow it
 * as a server-sent event stream that ends with the outcome (active, failed, expired).
 */

import type { ServerResponse } from 'node:http';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { ProvisioningOutcome } from '../../../shared/provisioning-session.js';
import type { SessionOutcome } from '../../devices/provisioning-service.js';
import type { GatewayServices } from '../../services.js';
import { actorOf, openEventStream, requireActor, STREAM_HEARTBEAT_MS } from '../route-helpers.js';
import { Name } from './text-schemas.js';

const Params = Type.Object({ deviceId: Type.String({ minLength: 1, maxLength: 64 }) });

export const provisioningRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  app.addHook('preHandler', requireActor(services));

  app.post(
    '/provisioning/sessions',
    {
      schema: {
        body: Type.Object(
          {
            templateId: Type.String({ pattern: '^TMPL[A-Za-z0-9]{1,32}$' }),
            name: Type.Optional(Name),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const session = await services.provisioning.createSession(actorOf(request), request.body, {
        brokerUrl: brokerUrlFor(services, request),
        ip: request.ip,
      });
      return reply.status(201).send(session);
    },
  );

  app.get('/provisioning/sessions/:deviceId', { schema: { params: Params } }, async (request) =>
    outcomeJson(await services.provisioning.outcome(actorOf(request), request.params.deviceId)),
  );

  app.delete('/provisioning/sessions/:deviceId', { schema: { params: Params } }, async (request, reply) => {
    await services.provisioning.cancel(actorOf(request), request.params.deviceId, request.ip);
    return reply.status(204).send();
  });

  app.get(
    '/provisioning/sessions/:deviceId/events',
    { schema: { params: Params } },
    async (request, reply) => {
      let res: ServerResponse | undefined;
      let heartbeat: ReturnType<typeof setInterval> | undefined;
      let stop: (() => void) | undefined;
      let ended = false;
      const end = () => {
        ended = true;
        clearInterval(heartbeat);
        stop?.();
        if (res && !res.writableEnded) res.end();
      };
      request.raw.once('close', end);
      // The stream opens with the first outcome: an unknown session fails before any byte is
      // sent, as a normal JSON error. From then on the reply is hijacked: a failure ends this
      // stream (logged), nothing else.
      stop = await services.provisioning.watch(actorOf(request), request.params.deviceId, (outcome) => {
        try {
          if (!res) {
            res = openEventStream(reply);
            const stream = res;
            heartbeat = setInterval(() => {
              if (!stream.writableEnded) stream.write(': keep-alive\n\n');
            }, STREAM_HEARTBEAT_MS);
          }
          res.write(`event: ${outcome.state}\ndata: ${JSON.stringify(outcomeJson(outcome))}\n\n`);
        } catch (error) {
          request.log.error({ err: error, code: 'INTERNAL' }, 'provisioning stream failed');
          return end();
        }
        if (outcome.state !== 'waiting') end();
      });
      if (ended) end();
    },
  );
};

/** The outcome as companions read it (shared/provisioning-session.ts): never the token's hash. */
function outcomeJson(outcome: SessionOutcome): ProvisioningOutcome {
  if (outcome.state !== 'active') return outcome;
  const { tokenHash: _hash, ...device } = outcome.device;
  return { state: 'active', device };
}

/** The broker URL a device should use: configured, or the host the companion reached us at. */
function brokerUrlFor(services: GatewayServices, request: FastifyRequest): string {
  const configured = services.config.mqtt.publicUrl;
  if (configured) return configured;
  const host = request.hostname.replace(/:\d+$/, '') || '127.0.0.1';
  return `mqtt://${host}:${services.broker.port}`;
}
