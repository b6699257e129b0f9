/**
 * Devices for people: list (filtered) and read what the caller may see; rename, write a datastream,
 * reconfigure, reboot, ping, transfer, re-provision and delete what the caller may control. Every
 * permission decision is the accounts policy's (canViewDevice / canControlDevice / can).
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { NAME_PATTERN } from '../../../shared/topics.js';
import type { GatewayServices } from '../../services.js';
import { actorOf, requireActor } from '../route-helpers.js';
import { Name } from './text-schemas.js';

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const BoolText = Type.Union([Type.Literal('true'), Type.Literal('false')]);

export const deviceRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { devices, lifecycle } = services;
  app.addHook('preHandler', requireActor(services));

  app.get(
    '/devices',
    {
      schema: {
        querystring: Type.Object(
          {
            templateId: Type.Optional(Type.String({ maxLength: 64 })),
            ownerId: Type.Optional(Type.String({ maxLength: 64 })),
            status: Type.Optional(
              Type.Union(['pending', 'active', 'unclaimed', 'revoked'].map((s) => Type.Literal(s))),
            ),
            online: Type.Optional(BoolText),
            activated: Type.Optional(BoolText),
            // A page of the list, in creation order: `limit` (1–5000) from `offset`; all when absent.
            limit: Type.Optional(Type.String({ pattern: '^(?:[1-9][0-9]{0,2}|[1-4][0-9]{3}|5000)$' })),
            offset: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const q = request.query;
      const offset = Number(q.offset ?? 0);
      const { devices: page, total } = await devices.pageVisible(
        actorOf(request),
        {
          ...(q.templateId ? { templateId: q.templateId } : {}),
          ...(q.ownerId ? { ownerId: q.ownerId } : {}),
          ...(q.status ? { status: q.status as 'pending' | 'active' | 'unclaimed' | 'revoked' } : {}),
          ...(q.online ? { online: q.online === 'true' } : {}),
          ...(q.activated ? { activated: q.activated === 'true' } : {}),
        },
        { offset, ...(q.limit ? { limit: Number(q.limit) } : {}) },
      );
      return { devices: page, total, offset };
    },
  );

  // The device's event timeline, newest first: `limit` (1–1000, default 100); `next` in the answer
  // (present while more may follow) is passed back as `after` for the next page; `before` (ms)
  // starts at a moment instead.
  app.get(
    '/devices/:id/events',
    {
      schema: {
        params: Params,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$' })),
            before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
            after: Type.Optional(Type.String({ pattern: '^evt_[0-9A-Za-z_-]{1,40}$' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) =>
      services.deviceEvents.list(actorOf(request), request.params.id, {
        ...(request.query.limit ? { limit: Number(request.query.limit) } : {}),
        ...(request.query.before ? { before: Number(request.query.before) } : {}),
        ...(request.query.after ? { after: request.query.after } : {}),
      }),
  );

  app.get('/devices/:id', { schema: { params: Params } }, async (request) =>
    devices.toPublic(await devices.getVisible(actorOf(request), request.params.id)),
  );

  app.patch(
    '/devices/:id',
    { schema: { params: Params, body: Type.Object({ name: Name }, { additionalProperties: false }) } },
    async (request) =>
      devices.toPublic(
        await lifecycle.rename(actorOf(request), request.params.id, request.body.name, { ip: request.ip }),
      ),
  );

  app.put(
    '/devices/:id/datastreams/:name',
    {
      schema: {
        params: Type.Object({
          id: Type.String({ minLength: 1, maxLength: 64 }),
          name: Type.String({ pattern: NAME_PATTERN }),
        }),
        body: Type.Object(
          { value: Type.Union([Type.String({ maxLength: 255 }), Type.Number()]) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) =>
      lifecycle.writeDatastream(
        actorOf(request),
        request.params.id,
        request.params.name,
        request.body.value,
        {
          ip: request.ip,
        },
      ),
  );

  app.post('/devices/:id/reconfigure', { schema: { params: Params } }, async (request) =>
    lifecycle.reconfigure(actorOf(request), request.params.id, { ip: request.ip }),
  );

  app.post('/devices/:id/reboot', { schema: { params: Params } }, async (request) =>
    lifecycle.reboot(actorOf(request), request.params.id, { ip: request.ip }),
  );

  // Waits for the device's PUBACK: { online, answered, rttMs } (answered false after timeoutMs).
  app.post(
    '/devices/:id/ping',
    {
      schema: {
        params: Params,
        querystring: Type.Object(
          { timeoutMs: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{2,4}$' })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) =>
      lifecycle.ping(
        actorOf(request),
        request.params.id,
        { ip: request.ip },
        Math.min(30_000, Number(request.query.timeoutMs ?? 5_000)),
      ),
  );

  // downlink/redirect: the device moves to another broker (Blynk's URL form, explicit port).
  app.post(
    '/devices/:id/redirect',
    {
      schema: {
        params: Params,
        body: Type.Object(
          { url: Type.String({ minLength: 1, maxLength: 255 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) =>
      lifecycle.redirect(actorOf(request), request.params.id, request.body.url, { ip: request.ip }),
  );

  app.post(
    '/devices/:id/transfer',
    {
      schema: {
        params: Params,
        body: Type.Object(
          {
            userId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            orgId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) =>
      devices.toPublic(
        await lifecycle.transfer(actorOf(request), request.params.id, request.body, { ip: request.ip }),
      ),
  );

  app.post('/devices/:id/reprovision', { schema: { params: Params } }, async (request) => {
    const result = await lifecycle.reprovision(actorOf(request), request.params.id, { ip: request.ip });
    // The token is shown once, here; only its hash is kept.
    return { device: devices.toPublic(result.device), token: result.token, wasOnline: result.wasOnline };
  });

  app.delete('/devices/:id', { schema: { params: Params } }, async (request) =>
    lifecycle.delete(actorOf(request), request.params.id, { ip: request.ip }),
  );
};
