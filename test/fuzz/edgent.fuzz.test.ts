/**
 * Fuzz: Blynk.Edgent legacy provisioning query strings, parsed on their own and sent to the
 * simulated device's config server over HTTP. A query is either a valid configuration or a
 * VALIDATION_FAILED naming the problem; the server answers every request with a JSON status (never
 * a 500), nothing escapes or is logged as an unexpected error, and the device keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceHost } from '../../firmware-sim/device-host.js';
import {
  EDGENT_QUERY_FIELDS,
  parseEdgentConfigQuery,
  validateEdgentConfig,
} from '../../provisioning/edgent/edgent-config-query.js';
import { isTetherError } from '../../shared/errors.js';
import { startSimDevice } from '../support/sim-device.js';
import {
  errorLog,
  fc,
  fuzzSuite,
  hostileString,
  PROTOTYPE_KEYS,
  uriEncode,
  watchEscapes,
} from './fuzz-harness.js';

const suite = fuzzSuite('Edgent query strings', 2);
const KEYS = EDGENT_QUERY_FIELDS;

const value = fc.oneof(
  hostileString(50),
  fc.constantFrom(
    'A'.repeat(32),
    'home',
    '1883',
    '0',
    '65536',
    '192.168.1.10',
    '255.255.255.0',
    '1',
    '-1',
    '%',
    '%zz',
    '%E0%A4',
    '%00',
  ),
);
const pair = fc.tuple(
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...KEYS) },
    { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
    { weight: 1, arbitrary: hostileString(10) },
  ),
  value,
  fc.boolean(),
);
const query: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(pair, { maxLength: 10 })
      .map((pairs) => pairs.map(([k, v, encode]) => `${k}=${encode ? uriEncode(v) : v}`).join('&')),
  },
  { weight: 1, arbitrary: hostileString(300) },
  { weight: 1, arbitrary: fc.string({ maxLength: 3000, unit: 'binary-ascii' }) },
);

describe('fuzz: Edgent query strings', () => {
  const log = errorLog();
  const escapes = watchEscapes();
  let host: DeviceHost;

  beforeAll(async () => {
    host = await startSimDevice({ templateId: 'TMPLFUZZ', security: 0, edgent: true, logger: log.logger });
  });
  afterAll(async () => {
    escapes.stop();
    await host?.stop();
  });

  it(
    'parses a query into a valid configuration or a VALIDATION_FAILED',
    async () => {
      await suite.check(
        'parse',
        fc.property(query, (q) => {
          try {
            const config = parseEdgentConfigQuery(q);
            expect(validateEdgentConfig(config)).toBe(config);
            expect(Object.getPrototypeOf(config)).toBe(Object.prototype);
          } catch (error) {
            expect(isTetherError(error) && error.code, String(error)).toBe('VALIDATION_FAILED');
          }
        }),
        2_000,
      );
    },
    suite.timeout(30_000),
  );

  /** After /reboot or /reset the device comes back to its config server (same address). */
  const backInProvisioning = async (): Promise<string> => {
    for (let i = 0; i < 500; i++) {
      await host.settled();
      const address = host.edgentAddress;
      const up =
        address &&
        (await fetch(`http://${address}/board_info.json`).then(
          (r) => r.ok,
          () => false,
        ));
      if (address && up) return address;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the device did not come back to its config server');
  };

  it(
    'answers every request at the config server with a JSON status and keeps serving',
    async () => {
      await suite.check(
        'config server requests',
        fc.asyncProperty(
          fc.oneof(
            { weight: 4, arbitrary: fc.constant('/config') },
            {
              weight: 1,
              arbitrary: fc.constantFrom(
                '/board_info.json',
                '/wifi_scan.json',
                '/reset',
                '/reboot',
                '/',
                '/config/',
                '/CONFIG',
              ),
            },
            { weight: 1, arbitrary: hostileString(30).map((p) => `/${uriEncode(p)}`) },
          ),
          query,
          fc.constantFrom('GET', 'GET', 'GET', 'POST', 'HEAD'),
          async (path, q, method) => {
            const address = await backInProvisioning();
            const res = await fetch(`http://${address}${path}?${q.replace(/#/g, '%23')}`, { method });
            const body = await res.text();
            // 431: Node's HTTP parser refuses a request line over its header limit, before the server.
            expect([200, 400, 404, 405, 431], body).toContain(res.status);
            if (method !== 'HEAD' && res.status !== 431) {
              const json = JSON.parse(body) as unknown;
              if (res.status !== 200)
                expect(json).toMatchObject({ status: 'error', msg: expect.any(String) });
            }
            expect(escapes.take()).toEqual([]);
            expect(log.take()).toEqual([]);
          },
        ),
        150,
      );
      const res = await fetch(`http://${await backInProvisioning()}/board_info.json`);
      expect(res.status).toBe(200);
    },
    suite.timeout(60_000),
  );
});
