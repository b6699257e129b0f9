/**
 * The push stream: server-sent events of live values and state changes for the devices the caller
 * may see. Each event is checked against the accounts policy when it happens, so a transfer or a
 * grant takes effect on a stream that is already open. Event names: snapshot (first), value,
 * online, offline, activated, changed, event, deleted, and removed (a device left the caller's
 * sight), and end (the access token expired or was revoked: reconnect with a fresh one).
 *
 * Authenticated by the Authorization header, or — for EventSource, which cannot send one — by a
 * single-use stream ticket in the URL (stream-tickets.ts), which also fixes the devices streamed.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { TetherError } from '../../../shared/errors.js';
import type { AuthenticatedActor } from '../../accounts/auth-service.js';
import { canViewDevice } from '../../accounts/policy.js';
import type { PublicDevice } from '../../devices/device-service.js';
import { type DeviceRef, deviceInterest, orgInterest } from '../../events.js';
import type { GatewayServices } from '../../services.js';
import { actorOf, openEventStream, requireActor, STREAM_HEARTBEAT_MS } from '../route-helpers.js';
import { type StreamScope, StreamTickets } from '../stream-tickets.js';

export const streamRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { devices, events } = services;
  const tickets = new StreamTickets(services.clock);
  /** What a redeemed ticket stood for, per request. */
  const granted = new WeakMap<object, { accessToken: string; scope: StreamScope }>();
  const withHeader = requireActor(services);

  // The devices a page shows (a list page of up to 200): the snapshot and the news are only theirs.
  const DeviceId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
  const DeviceIds = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}(,[A-Za-z0-9_-]{1,64}){0,199}$' });

  app.post(
    '/stream/tickets',
    {
      preHandler: withHeader,
      schema: {
        body: Type.Union([
          Type.Object({ deviceId: DeviceId }, { additionalProperties: false }),
          Type.Object(
            { deviceIds: Type.Array(DeviceId, { minItems: 1, maxItems: 200, uniqueItems: true }) },
            { additionalProperties: false },
          ),
        ]),
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const accessToken = (request.headers.authorization ?? '').slice(7).trim();
      const scope: StreamScope =
        'deviceId' in request.body
          ? { deviceId: request.body.deviceId }
          : { deviceIds: request.body.deviceIds };
      const { ticket, expiresAt } = tickets.issue(actor.userId, accessToken, scope);
      reply.header('cache-control', 'no-store');
      return reply.status(201).send({ ticket, expiresAt, url: `/api/stream?ticket=${ticket}` });
    },
  );

  const visibleAmong = async (actor: AuthenticatedActor, ids: ReadonlySet<string>) => {
    const out = [];
    for (const id of ids) {
      const device = await services.store.devices.get(id);
      if (device && canViewDevice(actor, device)) out.push(devices.toPublic(device));
    }
    return out;
  };

  app.get(
    '/stream',
    {
      schema: {
        querystring: Type.Object(
          {
            deviceId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            // Comma-separated: the snapshot and the news are only theirs, not every device the
            // caller may see.
            deviceIds: Type.Optional(DeviceIds),
            ticket: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' })),
          },
          { additionalProperties: false },
        ),
      },
      preHandler: async (request) => {
        const { ticket, deviceId, deviceIds } = request.query as {
          ticket?: string;
          deviceId?: string;
          deviceIds?: string;
        };
        if (ticket === undefined) return withHeader(request);
        if (deviceId !== undefined || deviceIds !== undefined) {
          throw new TetherError(
            'VALIDATION_FAILED',
            'A stream ticket names its devices: send the ticket alone.',
          );
        }
        const grant = tickets.redeem(ticket);
        request.actor = await services.auth.authenticate(grant.accessToken);
        granted.set(request, grant);
      },
    },
    async (request, reply) => {
      let actor = actorOf(request);
      const grant = granted.get(request);
      const accessToken = grant?.accessToken ?? (request.headers.authorization ?? '').slice(7).trim();
      const scope: StreamScope = grant?.scope ?? {
        ...(request.query.deviceId ? { deviceId: request.query.deviceId } : {}),
        ...(request.query.deviceIds ? { deviceIds: request.query.deviceIds.split(',') } : {}),
      };
      const only = scope.deviceId;
      const some = scope.deviceIds ? new Set(scope.deviceIds) : undefined;
      // In a cluster, the values of devices on other nodes come only to a node that asked for
      // them: asked before the snapshot is read, so no value after it is missed.
      const interest = events.interest();
      let initial: PublicDevice[];
      try {
        await interest.want(wantedBy(actor, scope));
        // An unknown or invisible device fails as JSON, before the stream starts; in a list,
        // devices the caller may not see are left out, as if they did not exist.
        initial = only
          ? [devices.toPublic(await devices.getVisible(actor, only))]
          : some
            ? await visibleAmong(actor, some)
            : await devices.listVisible(actor);
      } catch (error) {
        interest.release();
        throw error;
      }
      const seen = new Set(initial.map((d) => d.id));
      const res = openEventStream(reply);
      const send = (event: string, data: unknown) => {
        if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      send('snapshot', { devices: initial });

      /** Whether this stream may carry news of the device; says `removed` once when it may not. */
      const visible = (device: DeviceRef): boolean => {
        if (only && device.id !== only) return false;
        if (some && !some.has(device.id)) return false;
        if (canViewDevice(actor, device)) {
          seen.add(device.id);
          return true;
        }
        if (seen.delete(device.id)) send('removed', { deviceId: device.id });
        return false;
      };
      // A writer that fails ends this stream only; the bus has logged why.
      const fail = () => {
        try {
          send('end', { code: 'INTERNAL', message: 'The stream failed; reconnect.' });
        } finally {
          end();
        }
      };
      const stops = [
        events.on(
          'device.value',
          ({ device, name, value, at }) => {
            if (visible(device)) send('value', { deviceId: device.id, name, value, at });
          },
          fail,
        ),
        events.on(
          'device.online',
          ({ device }) => {
            if (visible(device)) send('online', { deviceId: device.id, at: device.lastSeenAt });
          },
          fail,
        ),
        events.on(
          'device.offline',
          ({ device }) => {
            if (visible(device)) send('offline', { deviceId: device.id, at: device.lastSeenAt });
          },
          fail,
        ),
        events.on(
          'device.activated',
          ({ device }) => {
            if (visible(device)) send('activated', { device: devices.toPublic(device) });
          },
          fail,
        ),
        events.on(
          'device.changed',
          ({ device }) => {
            if (visible(device)) send('changed', { device: devices.toPublic(device) });
          },
          fail,
        ),
        events.on(
          'device.event',
          ({ device, code, description, at }) => {
            if (visible(device)) send('event', { deviceId: device.id, code, description, at });
          },
          fail,
        ),
        events.on(
          'device.deleted',
          ({ device }) => {
            if (visible(device)) send('deleted', { deviceId: device.id });
            seen.delete(device.id);
          },
          fail,
        ),
      ];
      /** Re-reads the caller's rights; a device no longer visible is `removed` from the stream. */
      const recheck = (keepAlive: boolean) =>
        services.auth
          .authenticate(accessToken)
          .then(
            async (fresh) => {
              actor = fresh;
              await interest.want(wantedBy(fresh, scope));
              for (const id of [...seen]) {
                const device = await services.store.devices.get(id);
                if (device) visible(device);
              }
              if (keepAlive && !res.writableEnded) res.write(': keep-alive\n\n');
            },
            (error: unknown) => {
              send('end', {
                code: (error as { code?: string }).code ?? 'AUTH_REQUIRED',
                message: 'Log in again.',
              });
              end();
            },
          )
          // A recheck that fails (the store, a writer) ends this stream, never the process.
          .catch(() => fail());
      // A revoked share narrows the stream at once; each heartbeat re-checks the access token too,
      // so a forced logout or an expired token ends the stream within one interval.
      stops.push(
        events.on('access.changed', ({ userId }) => {
          if (userId === actor.userId) void recheck(false);
        }),
      );
      const heartbeat = services.clock.setInterval(() => void recheck(true), STREAM_HEARTBEAT_MS);
      const end = () => {
        services.clock.clearInterval(heartbeat);
        interest.release();
        for (const stop of stops.splice(0)) stop();
        if (!res.writableEnded) res.end();
      };
      request.raw.once('close', end);
      res.once('close', end);
    },
  );
};

/**
 * What a stream wants to hear of from the other nodes of a cluster: its devices, or (a stream of
 * everything the person may see) their orgs' devices and the devices shared with them.
 */
function wantedBy(actor: AuthenticatedActor, scope: StreamScope): string[] {
  if (scope.deviceId) return [deviceInterest(scope.deviceId)];
  if (scope.deviceIds) return scope.deviceIds.map(deviceInterest);
  return [
    ...[...actor.visibleOrgIds].map(orgInterest),
    ...[...(actor.grants?.keys() ?? [])].map(deviceInterest),
  ];
}
