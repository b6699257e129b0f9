/**
 * Sessions for the web console. A browser never holds the refresh token where a script can read it:
 * it lives in an httpOnly, SameSite=Strict cookie scoped to these routes, and the page keeps only the
 * short-lived access token, in memory. Every cookie-authenticated request must also carry the
 * console's custom header and, when the browser sends an Origin, come from this origin: a form on
 * another site can do neither (CSRF), and a script there would need a CORS grant the gateway never gives.
 */
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CONSOLE_CSRF_HEADER } from '../../shared/console-pages.js';
import { TetherError } from '../../shared/errors.js';
import type { SessionTokens } from '../accounts/auth-service.js';
import type { GatewayServices } from '../services.js';

export const BROWSER_SESSION_PATH = '/api/browser-session';
export const REFRESH_COOKIE = 'tether_refresh';

/** The value of one cookie of a Cookie header (first match), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{16,256}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** Refuses a request that a page of another site could have sent. */
export function assertSameOriginConsole(request: FastifyRequest): void {
  if (request.headers[CONSOLE_CSRF_HEADER] !== '1') {
    throw new TetherError(
      'PERMISSION_DENIED',
      `This request needs the "${CONSOLE_CSRF_HEADER}: 1" header the web console sends.`,
    );
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `${request.protocol}://${request.host}`) {
    throw new TetherError('PERMISSION_DENIED', 'This request came from another site.');
  }
}

export const browserAuthRoutes: FastifyPluginAsyncTypebox<{ services: GatewayServices }> = async (
  app,
  { services },
) => {
  const { auth, config } = services;
  const maxAge = config.auth.refreshTokenTtlDays * 86_400;

  const setCookie = (request: FastifyRequest, reply: FastifyReply, value: string, seconds: number) => {
    const flags = [
      `${REFRESH_COOKIE}=${value}`,
      `Path=${BROWSER_SESSION_PATH}`,
      `Max-Age=${seconds}`,
      'HttpOnly',
      'SameSite=Strict',
      // Over plain HTTP (a LAN gateway without TLS) a Secure cookie would be dropped by the browser.
      ...(request.protocol === 'https' ? ['Secure'] : []),
    ];
    reply.header('set-cookie', flags.join('; '));
  };
  /** What the page gets: the access token and who it is, never the refresh token. */
  const answer = (request: FastifyRequest, reply: FastifyReply, session: SessionTokens) => {
    setCookie(request, reply, session.refreshToken, maxAge);
    reply.header('cache-control', 'no-store');
    return { accessToken: session.accessToken, expiresIn: session.expiresIn, user: session.user };
  };

  app.post(
    '/browser-session',
    {
      schema: {
        body: Type.Object(
          {
            email: Type.String({ minLength: 3, maxLength: 320 }),
            password: Type.String({ minLength: 1, maxLength: 256 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      assertSameOriginConsole(request);
      return answer(request, reply, await auth.login({ ...request.body, ip: request.ip }));
    },
  );

  app.post('/browser-session/refresh', async (request, reply) => {
    assertSameOriginConsole(request);
    const token = readCookie(request.headers.cookie, REFRESH_COOKIE);
    if (!token) throw new TetherError('AUTH_REQUIRED', 'Sign in first.');
    try {
      return answer(request, reply, await auth.refresh(token, request.ip));
    } catch (error) {
      setCookie(request, reply, '', 0);
      throw error;
    }
  });

  app.delete('/browser-session', async (request, reply) => {
    assertSameOriginConsole(request);
    const token = readCookie(request.headers.cookie, REFRESH_COOKIE);
    if (token) await auth.logout(token, request.ip);
    setCookie(request, reply, '', 0);
    return reply.status(204).send();
  });
};
