/**
 * The HTTP API (fastify): builds the app without listening, so tests call it with inject().
 * Every body is validated by its schema (unknown fields refused, no type coercion); every error
 * leaves as `{ error: { code, message } }` with the status from the error table.
 */
import { createServer as createHttpServer, type Server as HttpServer, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify';
import { isTetherError, TetherError, toTetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { GatewayServices } from '../services.js';
import type { TlsMaterial } from '../tls-material.js';
import { browserAuthRoutes } from './browser-auth-routes.js';
import { consoleRoutes } from './console-routes.js';
import { lazyRequestLogger } from './lazy-request-logger.js';
import { accountRoutes } from './routes/account-routes.js';
import { auditRoutes } from './routes/audit-routes.js';
import { authRoutes } from './routes/auth-routes.js';
import { backupRoutes } from './routes/backup-routes.js';
import { claimRoutes } from './routes/claim-routes.js';
import { deviceRoutes } from './routes/device-routes.js';
import { externalApiRoutes } from './routes/external-api-routes.js';
import { healthRoutes } from './routes/health-routes.js';
import { invitationRoutes } from './routes/invitation-routes.js';
import { metricsRoutes } from './routes/metrics-routes.js';
import { orgRoutes } from './routes/org-routes.js';
import { planUsageRoutes } from './routes/plan-usage-routes.js';
import { provisioningRoutes } from './routes/provisioning-routes.js';
import { roleRoutes } from './routes/role-routes.js';
import { shareRoutes } from './routes/share-routes.js';
import { staticTokenRoutes } from './routes/static-token-routes.js';
import { streamRoutes } from './routes/stream-routes.js';
import { templateRoutes } from './routes/template-routes.js';
import { userRoutes } from './routes/user-routes.js';
import { type SchemaError, schemaError } from './validation-messages.js';

export type HttpApp = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface RouteEntry {
  method: string;
  url: string;
  /** The route's JSON schemas (body, querystring, params), for tests that generate requests. */
  schema?: unknown;
}

const ROUTES = new WeakMap<object, RouteEntry[]>();

/** The routes an app registered (filled as it becomes ready). */
export const registeredRoutes = (app: HttpApp): readonly RouteEntry[] => ROUTES.get(app) ?? [];

export interface HttpAppOptions {
  services: GatewayServices;
  logger: Logger;
  bodyLimitBytes: number;
  /** The built web console (dist/console); found beside the code when absent. */
  consoleDir?: string | undefined;
  /** Serve HTTPS with this certificate and key instead of plain HTTP. */
  tls?: TlsMaterial | undefined;
}

export function buildHttpApp({ services, logger, bodyLimitBytes, consoleDir, tls }: HttpAppOptions): HttpApp {
  const app = Fastify({
    // HTTPS when a certificate is configured: the same routes, and the broker's WebSocket upgrade
    // on this server then answers wss. An https.Server emits the same request and upgrade events.
    serverFactory: (handler) => {
      if (!tls) return createHttpServer(handler);
      const server = createHttpsServer(tls, handler);
      server.on('tlsClientError', answerPlainHttpOnTls);
      return server as unknown as HttpServer;
    },
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // A request's child logger (with its id) is made only when the request logs something.
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: bodyLimitBytes,
    // The router's own refusals (a bad %-escape, an overlong path segment) and requests that are
    // not HTTP at all answer in the same envelope as every other error.
    frameworkErrors: (error, _request, reply) => {
      const tether = toHttpError(error);
      void (reply as FastifyReply).status(tether.httpStatus).send({ error: tether.toJSON() });
    },
    clientErrorHandler: answerClientError,
    // Refuse what the schema does not name; never coerce "5" into 5 silently.
    // verbose: each error carries the value and its schema, for messages people can read.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, verbose: true } },
    forceCloseConnections: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler((error, request, reply) => {
    const tether = toHttpError(error);
    if (tether.code === 'INTERNAL') request.log.error({ err: error }, 'request failed');
    if (tether.code === 'RATE_LIMITED' && typeof tether.details?.retryAfterSeconds === 'number') {
      reply.header('retry-after', String(tether.details.retryAfterSeconds));
    }
    return reply.status(tether.httpStatus).send({ error: tether.toJSON() });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: { code: 'NOT_FOUND', message: `No route ${request.method} ${request.url.split('?')[0]}.` },
    }),
  );

  // A 2xx means on disk: whatever a response shows (its own changes, or another request's it
  // read) is durable before it leaves. Writes already wait for their commit; this also covers
  // reads of a change still on its way, and costs nothing when no commit is pending.
  //
  // Responses then leave together at the end of the event loop's turn, as downlinks do
  // (broker/downlink-outbox.ts): a write that wakes a sleeping reader on this host (a proxy in
  // front of the gateway, the bench's driver) costs the gateway far more than writes made back to
  // back; at 32 requests in flight this cut S2's CPU per command by about 30 % (bench/RESULTS.md).
  const endOfTurn = turnEnds();
  app.addHook('onSend', async () => {
    await services.store.committed();
    await endOfTurn();
  });
  // Requests by route pattern (never the raw URL: its cardinality is the caller's to choose).
  app.addHook('onResponse', async (request, reply) => {
    services.metrics.httpRequest(
      request.method,
      request.routeOptions.url ?? '(no route)',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });

  // Every route, as registered: the permission-matrix test checks that none is left out of it.
  const routes: RouteEntry[] = [];
  ROUTES.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      if (method !== 'HEAD') routes.push({ method, url: route.url, schema: route.schema });
  });

  // A general limit per IP address on the API, beside the specific ones (logins, claims,
  // sign-ups): in memory, O(1) per request, at most 5000 addresses tracked (an LRU). Pages,
  // assets and health checks are not counted.
  const { requestsPerMinute } = services.config.http;
  if (requestsPerMinute > 0) {
    app.register(rateLimit, {
      max: requestsPerMinute,
      timeWindow: 60_000,
      allowList: (request) => !request.url.startsWith('/api/'),
      errorResponseBuilder: (_request, context) => {
        const retryAfterSeconds = Math.max(1, Math.ceil(context.ttl / 1000));
        return new TetherError(
          'RATE_LIMITED',
          `Too many requests from your address: at most ${context.max} a minute. Try again in ${retryAfterSeconds} s.`,
          { details: { retryAfterSeconds, limit: context.max } },
        );
      },
    });
  }
  app.register(healthRoutes, { services });
  app.register(metricsRoutes, { services });
  app.register(authRoutes, { services, prefix: '/api' });
  app.register(templateRoutes, { services, prefix: '/api' });
  app.register(provisioningRoutes, { services, prefix: '/api' });
  app.register(deviceRoutes, { services, prefix: '/api' });
  // Blynk's HTTPS device API, authenticated by the device token in the query.
  app.register(externalApiRoutes, { services, prefix: '/external/api' });
  app.register(staticTokenRoutes, { services, prefix: '/api' });
  app.register(claimRoutes, { services, prefix: '/api' });
  app.register(streamRoutes, { services, prefix: '/api' });
  app.register(orgRoutes, { services, prefix: '/api' });
  app.register(planUsageRoutes, { services, prefix: '/api' });
  app.register(roleRoutes, { services, prefix: '/api' });
  app.register(userRoutes, { services, prefix: '/api' });
  app.register(accountRoutes, { services, prefix: '/api' });
  app.register(invitationRoutes, { services, prefix: '/api' });
  app.register(shareRoutes, { services, prefix: '/api' });
  app.register(auditRoutes, { services, prefix: '/api' });
  app.register(backupRoutes, { services, prefix: '/api' });
  app.register(browserAuthRoutes, { services, prefix: '/api' });
  app.register(consoleRoutes, { consoleDir });
  return app;
}

/** A promise that resolves at the end of this turn of the event loop: one for all who ask in it. */
function turnEnds(): () => Promise<void> {
  let ends: Promise<void> | undefined;
  const end = (resolve: () => void) =>
    setImmediate(() => {
      ends = undefined;
      resolve();
    });
  return () => {
    ends ??= new Promise<void>(end);
    return ends;
  };
}

function toHttpError(error: unknown): TetherError {
  if (isTetherError(error)) return error;
  const e = error as {
    validation?: SchemaError[];
    validationContext?: string;
    code?: string;
    statusCode?: number;
    message?: string;
  };
  if (Array.isArray(e.validation)) return schemaError(e.validation, e.validationContext ?? 'body');
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new TetherError('PAYLOAD_TOO_LARGE', 'The request body is too large.');
  if (e.code === 'FST_ERR_BAD_URL')
    return new TetherError('VALIDATION_FAILED', 'The URL holds a %-escape that is not valid UTF-8.');
  if (e.code === 'FST_ERR_MAX_PARAM_LENGTH')
    return new TetherError(
      'VALIDATION_FAILED',
      'A part of the URL path is too long: 100 characters at most.',
    );
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return new TetherError('VALIDATION_FAILED', e.message ?? 'Bad request.');
  }
  return toTetherError(error);
}

/**
 * A request Node's HTTP parser refuses before fastify sees it (headers too large, not HTTP, too
 * slow): the answer is the same envelope, written on the raw socket, which then closes.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const tether =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new TetherError('HEADERS_TOO_LARGE', 'The request headers are too large.')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new TetherError('REQUEST_TIMEOUT', 'The request did not arrive in time.')
        : new TetherError('VALIDATION_FAILED', 'This is not a valid HTTP request.');
  writeRawError(socket, tether);
}

/**
 * Plain HTTP (or ws://) sent to the HTTPS port: OpenSSL sees an HTTP request instead of a
 * handshake. Without this the client gets an empty reply ("curl: (52)"); with it, an answer in
 * the error envelope that says to use https. The TLS socket is already gone, its TCP socket
 * (`_parent`, not in Node's typings) is still open; if a later Node hides it, the connection
 * just closes as before.
 */
function answerPlainHttpOnTls(error: NodeJS.ErrnoException, tlsSocket: Duplex): void {
  if (error.code !== 'ERR_SSL_HTTP_REQUEST') return;
  const raw = (tlsSocket as Duplex & { _parent?: unknown })._parent;
  if (!(raw instanceof Socket)) return;
  writeRawError(
    raw,
    new TetherError(
      'VALIDATION_FAILED',
      'This port speaks HTTPS: use https:// (and wss:// for MQTT over WebSocket).',
    ),
  );
}

/** An error in the envelope, written on a socket no HTTP parser owns any more, which then closes. */
function writeRawError(socket: Duplex, tether: TetherError): void {
  const body = JSON.stringify({ error: tether.toJSON() });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${tether.httpStatus} ${STATUS_CODES[tether.httpStatus]}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
