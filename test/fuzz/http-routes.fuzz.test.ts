/**
 * Fuzz: HTTP bodies, params, query strings and headers on every route the gateway registers (the
 * list comes from the app itself, so a new route is covered without touching this file). Values
 * follow each route's own schema about half the time, to get past validation into the handlers.
 * Every answer is a coded error or a valid answer, never INTERNAL; nothing escapes or is logged as
 * an unexpected error; the store file still loads afterwards.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredRoutes } from '../../gateway/http/http-app.js';
import { blynkHttpStatus } from '../../gateway/http/routes/external-api-routes.js';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { ERROR_TABLE, type ErrorCode, isErrorCode } from '../../shared/errors.js';
import { activeDevice, addOrg, addUser, createTemplate, mint } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import {
  errorLog,
  fc,
  fuzzSuite,
  hostileJson,
  hostileString,
  PROTOTYPE_KEYS,
  uriEncode,
  watchEscapes,
} from './fuzz-harness.js';

const suite = fuzzSuite('HTTP API', 1);

/** Refusals of Node's HTTP parser, written on the socket before a route is known. */
const BEFORE_ANY_ROUTE = new Set<ErrorCode>(['HEADERS_TOO_LARGE', 'REQUEST_TIMEOUT']);

interface JsonSchema {
  type?: string;
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
}

/**
 * Strings a route's pattern accepts (lengths may still miss), or undefined where fast-check cannot
 * generate from the pattern (it has no lookahead, for one): plain strings stand in for those.
 */
function matching(pattern: string): fc.Arbitrary<string> | undefined {
  try {
    return fc.stringMatching(new RegExp(pattern), { size: 'small' });
  } catch {
    return undefined;
  }
}

/** A value shaped by a route's JSON schema, drawn from known records and hostile strings. */
function shaped(
  schema: JsonSchema | undefined,
  pool: fc.Arbitrary<string>,
  depth = 0,
): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return hostileJson();
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => shaped(s, pool, depth + 1)));
  switch (schema.type) {
    case 'string': {
      const minLength = schema.minLength ?? 0;
      const maxLength = Math.min(schema.maxLength ?? 80, 200);
      // A value the schema accepts, to reach the handler behind the validation.
      const valid = (schema.pattern && matching(schema.pattern)) || fc.string({ minLength, maxLength });
      return fc.oneof(
        { weight: 2, arbitrary: pool },
        { weight: 6, arbitrary: valid },
        { weight: 1, arbitrary: hostileString(60) },
      );
    }
    case 'integer':
    case 'number':
      return fc.oneof(
        fc.integer({
          min: Math.max(schema.minimum ?? -1e6, -1e9),
          max: Math.min(schema.maximum ?? 1e6, 1e9),
        }),
        fc.constantFrom(0, -1, 1.5, 1e12),
      );
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(shaped(schema.items, pool, depth + 1), { maxLength: 4 });
    case 'object': {
      const props = schema.properties ?? {};
      const fields = Object.fromEntries(
        Object.entries(props).map(([k, s]) => [k, shaped(s, pool, depth + 1)]),
      );
      return fc
        .tuple(
          fc.oneof(
            { weight: 3, arbitrary: fc.record(fields) },
            { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) },
          ),
          fc.option(fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS, 'extra'), hostileJson()), { freq: 8 }),
        )
        .map(([value, extra]) => (extra ? { ...value, [extra[0]]: extra[1] } : value));
    }
    default:
      return hostileJson();
  }
}

interface Case {
  /** "METHOD /url" of a registered route. */
  route: string;
  params: string[];
  query: Array<[string, unknown]>;
  body: { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; text: string; type: string };
  auth: 'admin' | 'user' | 'none' | 'garbage';
}

describe('fuzz: HTTP API', () => {
  let gw: TestGateway;
  let dataDir: string;
  const tokens = { admin: '', user: '' };
  const log = errorLog();
  const escapes = watchEscapes();
  const known: string[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({}, { logger: log.logger, keepData: true });
    dataDir = gw.dataDir;
    tokens.admin = await gw.login();
    const templateId = await createTemplate(gw, tokens.admin);
    const device = await activeDevice(gw, tokens.admin, templateId);
    const [unclaimed] = await mint(gw, tokens.admin, templateId);
    const { user, token } = await addUser(gw);
    tokens.user = token;
    const orgId = await addOrg(gw, user.orgId);
    known.push(
      templateId,
      device.deviceId,
      unclaimed!.deviceId,
      unclaimed!.claimCode,
      user.id,
      user.email,
      orgId,
      'admin',
      'staff',
      'user',
      'free',
      'enterprise',
      'devices.org-view',
      'someone@example.com',
      'a good long password',
    );
  });

  afterAll(async () => {
    escapes.stop();
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'answers every route with a coded error or a valid answer, and keeps its store loadable',
    async () => {
      const routes = registeredRoutes(gw.gateway.http);
      expect(routes.length).toBeGreaterThan(40);
      const pool = fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...known) },
        { weight: 1, arbitrary: hostileString(40) },
      );
      const segment = fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...known) },
        { weight: 2, arbitrary: hostileString(60) },
        { weight: 1, arbitrary: fc.constantFrom('%', '%E0%A4%A', '%00', '..', '%2F', 'a'.repeat(600)) },
      );
      const byKey = new Map(routes.map((r) => [`${r.method} ${r.url}`, r]));
      const caseOf: fc.Arbitrary<Case> = fc.constantFrom(...byKey.keys()).chain((key) => {
        const route = byKey.get(key)!;
        const schema = route.schema as { body?: JsonSchema; querystring?: JsonSchema } | undefined;
        const names = (route.url.match(/:[A-Za-z]+/g) ?? []).length;
        return fc.record({
          route: fc.constant(key),
          params: fc.array(segment, { minLength: names, maxLength: names }),
          query: fc.oneof(
            fc.constant<Array<[string, unknown]>>([]),
            shaped(schema?.querystring, pool).map((q) =>
              q && typeof q === 'object' && !Array.isArray(q) ? Object.entries(q as object) : [],
            ),
            fc.array(fc.tuple(hostileString(20), hostileString(40)), { maxLength: 3 }),
          ),
          body: fc.oneof(
            { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
            {
              weight: 4,
              arbitrary: shaped(schema?.body, pool).map((value) => ({ kind: 'json' as const, value })),
            },
            { weight: 1, arbitrary: hostileJson().map((value) => ({ kind: 'json' as const, value })) },
            {
              weight: 1,
              arbitrary: fc.record({
                kind: fc.constant('raw' as const),
                text: fc.oneof(
                  hostileString(200),
                  fc.constantFrom(
                    '{',
                    '{"__proto__":{"a":1}}',
                    '{"constructor":{"prototype":{"a":1}}}',
                    'x'.repeat(70_000),
                  ),
                ),
                type: fc.constantFrom(
                  'application/json',
                  'text/plain',
                  'application/x-www-form-urlencoded',
                  'application/json; charset=utf-16',
                ),
              }),
            },
          ),
          auth: fc.constantFrom<Case['auth']>('admin', 'admin', 'admin', 'user', 'none', 'garbage'),
        });
      });

      await suite.check(
        'requests',
        fc.asyncProperty(caseOf, async (c) => {
          const route = byKey.get(c.route)!;
          let i = 0;
          const path = route.url.replace(/:[A-Za-z]+/g, () => uriEncode(c.params[i++] ?? ''));
          const query = c.query
            .map(
              ([k, v]) =>
                `${uriEncode(k)}=${uriEncode(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}`,
            )
            .join('&');
          const headers: Record<string, string> = {};
          if (c.auth === 'admin' || c.auth === 'user') headers.authorization = `Bearer ${tokens[c.auth]}`;
          if (c.auth === 'garbage') headers.authorization = 'Bearer eyJhbGciOiJub25lIn0.e30.';
          let body: string | undefined;
          if (c.body.kind === 'json') {
            body = JSON.stringify(c.body.value);
            headers['content-type'] = 'application/json';
          } else if (c.body.kind === 'raw') {
            body = c.body.text;
            headers['content-type'] = c.body.type;
          }
          const method = route.method;
          const controller = new AbortController();
          const res = await fetch(`${gw.baseUrl}${path}${query ? `?${query}` : ''}`, {
            method,
            headers,
            ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { body }),
            signal: controller.signal,
          });
          const type = res.headers.get('content-type') ?? '';
          const label = `${method} ${path}?${query} -> ${res.status}`;
          if (type.startsWith('text/event-stream')) {
            controller.abort(); // a push stream that opened: a valid answer
            expect(res.status, label).toBe(200);
          } else {
            const text = await res.text();
            if (res.status >= 400) {
              const error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
              expect(isErrorCode(error?.code), `${label} ${text}`).toBe(true);
              expect(error!.code, `${label} ${text}`).not.toBe('INTERNAL');
              // Blynk's device API keeps Blynk's statuses (400 for most refusals), so its scripts still
              // match; what Node's parser refuses (headers too large) is answered before any route.
              const status =
                route.url.startsWith('/external/api/') && !BEFORE_ANY_ROUTE.has(error!.code as ErrorCode)
                  ? blynkHttpStatus(error!.code as ErrorCode)
                  : ERROR_TABLE[error!.code as keyof typeof ERROR_TABLE].http;
              expect(status, `${label} ${text}`).toBe(res.status);
              expect(typeof error!.message).toBe('string');
            } else if (type.startsWith('application/json')) {
              JSON.parse(text);
            }
          }
          expect(escapes.take()).toEqual([]);
          expect(log.take()).toEqual([]);
        }),
        300,
      );

      // The store on disk loads, and a gateway starts on it.
      await gw.stop();
      const store = new EmbeddedStore({ file: `${dataDir}/tether.json` });
      await store.open();
      await store.close();
      gw = await startTestGateway({}, { dataDir, logger: log.logger });
      expect((await gw.api('GET', '/api/devices', undefined, await gw.login())).status).toBe(200);
      expect(log.take()).toEqual([]);
    },
    suite.timeout(120_000),
  );
});
