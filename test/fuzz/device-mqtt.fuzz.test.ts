/**
 * Fuzz: device topics × payloads over real MQTT against a real gateway (its store in a file).
 * For every sequence of publishes from a device: the process stays up (nothing escapes, nothing is
 * logged as an unexpected error), every answer on downlink/diag is a coded error and every other
 * downlink is text, the gateway keeps serving another device and the HTTP API, and the store file
 * still loads afterwards.
 */
import { rm } from 'node:fs/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { isErrorCode, MqttReturnCode } from '../../shared/errors.js';
import {
  activeDevice,
  connectDevice,
  createTemplate,
  DATASTREAMS,
  mint,
  type TestDevice,
} from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import {
  errorLog,
  fc,
  fuzzSuite,
  hostileJson,
  hostileString,
  PROTOTYPE_KEYS,
  watchEscapes,
} from './fuzz-harness.js';

const suite = fuzzSuite('device MQTT', 2);

const NAMES = [
  ...DATASTREAMS.map((d) => d.name),
  ...PROTOTYPE_KEYS,
  'Device Name',
  'Device Owner',
  'x',
  'label',
  'color',
  'min',
  'max',
];
const name = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 1, arbitrary: hostileString(70) },
);

const topic: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: name.map((n) => `ds/${n}`) },
  { weight: 1, arbitrary: name.map((n) => `ds/${n}/erase`) },
  { weight: 2, arbitrary: fc.tuple(name, name).map(([n, p]) => `ds/${n}/prop/${p}`) },
  { weight: 2, arbitrary: name.map((n) => `meta/${n}`) },
  { weight: 1, arbitrary: name.map((n) => `event/${n}`) },
  { weight: 4, arbitrary: fc.constantFrom('batch_ds', 'get/ds', 'get/ds/all', 'get/meta', 'info/mcu') },
  { weight: 1, arbitrary: hostileString(100) },
);

const payload: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.array(name, { minLength: 1, maxLength: 6 }).map((ns) => ns.join(',')) },
  { weight: 3, arbitrary: hostileJson().map((v) => JSON.stringify(v) ?? '') },
  {
    weight: 2,
    arbitrary: fc
      .dictionary(name, fc.oneof(fc.double(), fc.integer(), fc.boolean(), hostileString(20), hostileJson()), {
        maxKeys: 5,
      })
      .map((o) => JSON.stringify(o)),
  },
  {
    weight: 1,
    arbitrary: fc
      .record(
        {
          tmpl: fc.oneof(fc.constant('TMPL'), hostileString(40)),
          ver: hostileString(20),
          hwid: hostileString(40),
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
  },
  { weight: 2, arbitrary: hostileString(60) },
  { weight: 1, arbitrary: fc.constantFrom('', '21.5', '-1e309', 'NaN', '1,2', '\0', 'true') },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 5000 }).map((n) => Buffer.alloc(n, 0x41)) },
);

const publish = fc.record({ topic, payload, qos: fc.constantFrom<0 | 1>(0, 1) });

describe('fuzz: device topics and payloads over MQTT', () => {
  let gw: TestGateway;
  let dataDir: string;
  let admin: string;
  let control: TestDevice;
  const log = errorLog();
  const escapes = watchEscapes();
  const targets: Array<{ deviceId: string; token: string }> = [];

  beforeAll(async () => {
    gw = await startTestGateway(
      { mqtt: { publishesPerSecond: 100_000 } },
      { logger: log.logger, keepData: true },
    );
    dataDir = gw.dataDir;
    admin = await gw.login();
    const templateId = await createTemplate(gw, admin);
    const claimed = await activeDevice(gw, admin, templateId);
    const [unclaimed] = await mint(gw, admin, templateId);
    const other = await activeDevice(gw, admin, templateId);
    targets.push(claimed, unclaimed!);
    control = await connectDevice(gw.brokerUrl, other.token);
  });

  afterAll(async () => {
    escapes.stop();
    await control?.client.endAsync(true);
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'keeps serving and answers every publish sequence with a valid answer or a code',
    async () => {
      const clients = new Map<
        string,
        { client: MqttClient; inbox: Array<{ topic: string; payload: Buffer }> }
      >();
      const connect = async (token: string) => {
        const known = clients.get(token);
        if (known?.client.connected) return known;
        known?.client.end(true);
        const client = await mqtt.connectAsync(gw.brokerUrl, {
          username: 'device',
          password: token,
          reconnectPeriod: 0,
          connectTimeout: 5000,
        });
        const entry = { client, inbox: [] as Array<{ topic: string; payload: Buffer }> };
        client.on('message', (t, p) => entry.inbox.push({ topic: t, payload: p }));
        client.on('error', () => {});
        await client.subscribeAsync('downlink/#');
        clients.set(token, entry);
        return entry;
      };
      /** A round trip after the publishes: every uplink before it has been handled (one chain per device). */
      const fence = async (entry: { client: MqttClient; inbox: Array<{ topic: string }> }): Promise<void> => {
        if (!entry.client.connected) return;
        const closed = new Promise<void>((resolve) => entry.client.once('close', () => resolve()));
        entry.client.publish('get/utc/all/json', '');
        const answered = (async () => {
          while (!entry.inbox.some((m) => m.topic === 'downlink/utc/all/json'))
            await new Promise((r) => setTimeout(r, 2));
        })();
        const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000));
        const outcome = await Promise.race([answered, closed, timeout]);
        if (outcome === 'timeout') throw new Error('the gateway neither answered nor closed the device');
      };

      await suite.check(
        'publish sequences',
        fc.asyncProperty(
          fc.nat(targets.length - 1),
          fc.array(publish, { minLength: 1, maxLength: 6 }),
          async (which, publishes) => {
            const target = targets[which]!;
            const entry = await connect(target.token).catch((error: unknown) => {
              // After a flood the gateway refuses this device's CONNECTs for a growing window
              // (CONNACK 3): the documented back-off, a coded answer. Nothing to publish then.
              if ((error as { code?: number }).code === MqttReturnCode.serverUnavailable) return null;
              throw error;
            });
            if (!entry) return;
            entry.inbox.length = 0;
            for (const p of publishes) {
              // A topic mqtt.js itself refuses to send never reaches the gateway.
              entry.client.publish(p.topic, p.payload, { qos: p.qos }, () => {});
            }
            await fence(entry);

            expect(escapes.take()).toEqual([]);
            expect(log.take()).toEqual([]);
            for (const m of entry.inbox) {
              const text = m.payload.toString('utf8');
              // An inherited function or a missing value turned into text (the get/meta crash's cousins).
              expect(text).not.toMatch(/\[native code\]|^undefined$/);
              if (m.topic === 'downlink/diag') {
                const diag = JSON.parse(text) as { code: unknown; message: unknown };
                expect(isErrorCode(diag.code), text).toBe(true);
                expect(diag.code).not.toBe('INTERNAL');
                expect(typeof diag.message).toBe('string');
              }
            }
            // Another device and the HTTP API are still served.
            control.client.publish('get/utc/all/json', '');
            await control.next('downlink/utc/all/json', 10_000);
            const read = await gw.api('GET', `/api/devices/${target.deviceId}`, undefined, admin);
            expect(read.status).toBe(200);
          },
        ),
        60,
      );
      for (const { client } of clients.values()) await client.endAsync(true);
    },
    suite.timeout(90_000),
  );

  it(
    'answers every CONNECT (client id, username, password) with a CONNACK or a close',
    async () => {
      const known = targets.map((t) => t.token);
      await suite.check(
        'connects',
        fc.asyncProperty(
          fc.record({
            clientId: fc.oneof(fc.constant(''), hostileString(70)),
            username: fc.option(fc.oneof(fc.constant('device'), hostileString(30)), { nil: undefined }),
            password: fc.option(fc.oneof(fc.constantFrom(...known), hostileString(40)), { nil: undefined }),
            clean: fc.boolean(),
          }),
          async (c) => {
            const code = await new Promise<number | 'closed' | 'not sent'>((resolve) => {
              let client: MqttClient;
              try {
                client = mqtt.connect(gw.brokerUrl, { ...c, reconnectPeriod: 0, connectTimeout: 5000 });
              } catch {
                return resolve('not sent'); // mqtt.js itself refuses it (an unclean session without id)
              }
              client.on('connect', () => {
                client.end(true);
                resolve(MqttReturnCode.accepted);
              });
              client.on('error', (error) => {
                client.end(true);
                resolve((error as { code?: number }).code ?? 'closed');
              });
              client.on('close', () => resolve('closed'));
            });
            // 3 (server unavailable) is the back-off after a flood in an earlier case.
            expect([0, 2, 3, 4, 5, 'closed', 'not sent'], String(code)).toContain(code);
            expect(escapes.take()).toEqual([]);
            expect(log.take()).toEqual([]);
          },
        ),
        60,
      );
      control.client.publish('get/utc/all/json', '');
      await control.next('downlink/utc/all/json', 10_000);
    },
    suite.timeout(60_000),
  );

  it('leaves a store file that loads, and a gateway starts on it', async () => {
    await control.client.endAsync();
    await gw.stop();
    const store = new EmbeddedStore({ file: `${dataDir}/tether.json` });
    await store.open();
    for (const t of targets) expect(await store.devices.get(t.deviceId)).toBeDefined();
    await store.close();
    gw = await startTestGateway({}, { dataDir, logger: log.logger });
    const res = await gw.api('GET', '/api/devices', undefined, await gw.login());
    expect(res.status).toBe(200);
    expect(log.take()).toEqual([]);
  });
});
