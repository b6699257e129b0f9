/**
 * Fuzz: provisioning frames at every protocomm endpoint, in every session state (none, mid
 * handshake, established), for security 0, 1 and 2, against the simulated device's real endpoints;
 * and raw HTTP requests at its SoftAP server. Every frame gets an answer or a coded refusal, nothing
 * escapes or is logged as an unexpected error, and the device keeps serving a real companion.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceHost } from '../../firmware-sim/device-host.js';
import { Endpoint } from '../../provisioning/protocol/endpoints.js';
import { encodeActivationRequest } from '../../provisioning/protocol/messages/activation-messages.js';
import {
  decodeSessionData,
  encodeSessionData,
} from '../../provisioning/protocol/messages/session-messages.js';
import {
  encodeWifiConfigRequest,
  setConfigRequest,
} from '../../provisioning/protocol/messages/wifi-config-messages.js';
import { encodeWifiCtrlRequest } from '../../provisioning/protocol/messages/wifi-ctrl-messages.js';
import { encodeWifiScanRequest } from '../../provisioning/protocol/messages/wifi-scan-messages.js';
import { ProtocommClient } from '../../provisioning/protocol/protocomm-client.js';
import { createClientSecuritySession } from '../../provisioning/protocol/security/security-factory.js';
import type { ClientSecuritySession } from '../../provisioning/protocol/security/security-session.js';
import { SoftApHttpTransport } from '../../provisioning/transport/softap-http.js';
import { isTetherError } from '../../shared/errors.js';
import { startSimDevice } from '../support/sim-device.js';
import { errorLog, fc, fuzzSuite, hostileString, PROTOTYPE_KEYS, watchEscapes } from './fuzz-harness.js';

const suite = fuzzSuite('provisioning', 2);
const POP = 'fuzz-pop-1234';
const ENDPOINTS = Object.values(Endpoint) as string[];

/** Protobuf wire bytes of random fields (varints, nested messages, bytes, fixed), some truncated. */
const protobufNoise: fc.Arbitrary<Uint8Array> = fc
  .letrec<{ message: number[] }>((tie) => ({
    message: fc
      .array(
        fc.oneof(
          { depthSize: 'small' },
          fc
            .tuple(fc.integer({ min: 1, max: 24 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
            .map(([f, v]) => [...varint(BigInt(f << 3)), ...varint(v)]),
          fc
            .tuple(fc.integer({ min: 1, max: 24 }), tie('message'))
            .map(([f, m]) => [...varint(BigInt((f << 3) | 2)), ...varint(BigInt(m.length)), ...m]),
          fc
            .tuple(fc.integer({ min: 1, max: 24 }), fc.uint8Array({ maxLength: 40 }))
            .map(([f, b]) => [...varint(BigInt((f << 3) | 2)), ...varint(BigInt(b.length)), ...b]),
          fc
            .tuple(fc.integer({ min: 1, max: 24 }), fc.constantFrom(1, 5))
            .map(([f, w]) => [...varint(BigInt((f << 3) | w)), ...new Array(w === 1 ? 8 : 4).fill(0xff)]),
        ),
        { maxLength: 6 },
      )
      .map((fields) => fields.flat()),
  }))
  .message.chain((bytes) =>
    fc
      .integer({ min: 0, max: bytes.length })
      .map((cut) => new Uint8Array(bytes.slice(0, cut === 0 ? bytes.length : cut))),
  );

function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const text = fc.oneof(hostileString(40), fc.constantFrom(...PROTOTYPE_KEYS));

/** Requests a real companion could send, with hostile contents. */
const endpointRequest: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .tuple(text, text, fc.integer({ min: -1, max: 300 }))
    .map(([ssid, passphrase, channel]) =>
      encodeWifiConfigRequest({ ...(setConfigRequest({ ssid, passphrase }) as object), channel } as never),
    ),
  fc.constantFrom('get-status', 'apply').map((kind) => encodeWifiConfigRequest({ kind } as never)),
  fc
    .record({
      blocking: fc.boolean(),
      passive: fc.boolean(),
      groupChannels: fc.nat(300),
      periodMs: fc.nat(100_000),
    })
    .map((options) => encodeWifiScanRequest({ kind: 'start', options })),
  fc.constant(encodeWifiScanRequest({ kind: 'status' })),
  fc
    .tuple(fc.nat(1000), fc.nat(1000))
    .map(([startIndex, count]) => encodeWifiScanRequest({ kind: 'result', startIndex, count })),
  fc.constantFrom('reset', 'reprovision').map((k) => encodeWifiCtrlRequest(k as 'reset')),
  fc
    .record({ token: text, brokerUrl: text, templateId: fc.oneof(text, fc.constant('TMPLFUZZ')) })
    .map(encodeActivationRequest),
);

type State = 'none' | 'started' | 'established';

describe('fuzz: provisioning frames', () => {
  const log = errorLog();
  const escapes = watchEscapes();
  const hosts = new Map<0 | 1 | 2, DeviceHost>();

  beforeAll(async () => {
    for (const security of [0, 1, 2] as const) {
      hosts.set(
        security,
        await startSimDevice({
          templateId: 'TMPLFUZZ',
          security,
          pop: POP,
          edgent: false,
          logger: log.logger,
          lockout: { maxFailures: 1_000_000 },
        }),
      );
    }
  });

  afterAll(async () => {
    escapes.stop();
    for (const host of hosts.values()) await host.stop();
  });

  /** The device still serves a real companion end to end (version, secure session, scan). */
  const stillServes = async (security: 0 | 1 | 2): Promise<void> => {
    const host = hosts.get(security)!;
    await host.settled();
    const link = await new SoftApHttpTransport().connect(host.softApAddress!);
    const client = new ProtocommClient(link, { minSecurity: security });
    await client.getVersion();
    await client.establishSession({ pop: POP });
    await client.scanWifi();
    await client.close();
  };

  let session = 0;
  it(
    'answers or refuses every frame with a code, in every session state',
    async () => {
      await suite.check(
        'protocomm frames',
        fc.asyncProperty(
          fc.constantFrom<0 | 1 | 2>(0, 1, 2),
          fc.constantFrom<State>('none', 'started', 'established'),
          fc.oneof(fc.constantFrom(...ENDPOINTS), hostileString(30)),
          fc.oneof(
            { weight: 2, arbitrary: protobufNoise },
            { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
            { weight: 3, arbitrary: endpointRequest },
          ),
          fc.boolean(),
          async (security, state, endpoint, frame, encrypt) => {
            const device = hosts.get(security)!.endpoints;
            const id = `fuzz-${++session}`;
            const handle = (ep: string, bytes: Uint8Array) => device.handle(ep, bytes, id);
            let client: ClientSecuritySession | undefined;
            if (state !== 'none') {
              client = createClientSecuritySession({ version: security, pop: POP });
              let request = await client.start();
              const first = decodeSessionData(await handle(Endpoint.session, encodeSessionData(request)));
              if (state === 'established') {
                for (let next = await client.next(first); next; ) {
                  request = next;
                  next = await client.next(
                    decodeSessionData(await handle(Endpoint.session, encodeSessionData(request))),
                  );
                }
              }
            }
            const bytes = encrypt && client?.established ? await client.encrypt(frame) : frame;
            try {
              const answer = await handle(endpoint, bytes);
              expect(answer).toBeInstanceOf(Uint8Array);
            } catch (error) {
              expect(isTetherError(error), String((error as Error)?.stack ?? error)).toBe(true);
            } finally {
              device.closeSession(id);
            }
            expect(escapes.take()).toEqual([]);
            expect(log.take()).toEqual([]);
          },
        ),
        150,
      );
      for (const security of [0, 1, 2] as const) await stillServes(security);
    },
    suite.timeout(90_000),
  );

  it(
    'answers every raw HTTP request at the SoftAP server and keeps serving',
    async () => {
      const request = fc.record({
        method: fc.oneof(fc.constantFrom('POST', 'GET', 'PUT', 'OPTIONS'), hostileString(8)),
        path: fc.oneof(
          fc.constantFrom(...ENDPOINTS.map((e) => `/${e}`)),
          hostileString(40).map((p) => `/${p}`),
        ),
        cookie: fc.option(
          fc.oneof(
            fc.constant('session=1'),
            hostileString(60).map((c) => `session=${c}`),
          ),
          { nil: undefined },
        ),
        length: fc.option(fc.oneof(fc.nat(10_000), fc.constantFrom(-1, 4097)), { nil: undefined }),
        body: fc.oneof(protobufNoise, fc.uint8Array({ maxLength: 300 })),
      });
      await suite.check(
        'SoftAP HTTP requests',
        fc.asyncProperty(fc.constantFrom<0 | 1 | 2>(0, 1, 2), request, async (security, r) => {
          const [host, port] = hosts.get(security)!.softApAddress!.split(':') as [string, string];
          const head = [
            `${r.method.replace(/[\r\n ]/g, '') || 'X'} ${r.path.replace(/[\r\n ]/g, '%20')} HTTP/1.1`,
            `Host: 192.168.4.1`,
            ...(r.cookie === undefined ? [] : [`Cookie: ${r.cookie.replace(/[\r\n]/g, '')}`]),
            `Content-Length: ${r.length ?? r.body.length}`,
            'Connection: close',
            '',
            '',
          ].join('\r\n');
          const answer = await new Promise<string>((resolve, reject) => {
            const socket = connect(Number(port), host);
            let received = '';
            socket.on('data', (d) => {
              received += d.toString('latin1');
            });
            socket.on('error', reject);
            socket.on('close', () => resolve(received));
            socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
            socket.write(Buffer.concat([Buffer.from(head, 'latin1'), r.body]));
            // A declared length longer than the body: the server waits for the rest; end our side.
            socket.end();
          });
          expect(answer).toMatch(/^HTTP\/1\.1 \d{3} /);
          expect(escapes.take()).toEqual([]);
          expect(log.take()).toEqual([]);
        }),
        150,
      );
      for (const security of [0, 1, 2] as const) await stillServes(security);
    },
    suite.timeout(90_000),
  );
});
