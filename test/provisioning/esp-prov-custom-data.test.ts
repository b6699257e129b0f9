/**
 * Activation data from stock esp_prov (`--custom_data`), byte for byte.
 *
 * fixtures/esp-prov-custom-data.json holds every HTTP body esp-idf v5.5.5's esp_prov sent to a
 * Tether device and every answer, for security 1 and 2, recorded with both sides' randomness pinned
 * (recipe in esp-prov/README.md). Here a device built the same way answers esp_prov's own bytes with
 * the recorded bytes; a client that speaks as esp_prov does produces esp_prov's bytes; and that
 * client activates a simulated device against a real gateway through custom-data.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceHost } from '../../firmware-sim/device-host.js';
import { decodeCustomDataActivation } from '../../provisioning/protocol/messages/custom-data-activation.js';
import { ProtocommDevice } from '../../provisioning/protocol/protocomm-device.js';
import { seededRandom } from '../../provisioning/protocol/security/seeded-random.js';
import { makeSrpVerifier } from '../../provisioning/protocol/security/srp-verifier.js';
import { SoftApHttpLink } from '../../provisioning/transport/softap-http.js';
import { SoftApHttpServer } from '../../provisioning/transport/softap-http-server.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { runCli, startCli, stopCli } from '../support/run-cli.js';
import { HOME_WIFI, startSimDevice } from '../support/sim-device.js';
import { runEspProv } from './esp-prov-client.js';
import { FakeDevice, homeNetworks } from './fake-device.js';

interface Recording {
  pop: string;
  templateId: string;
  srpSalt: string;
  customData: string;
  wifi: { ssid: string; passphrase: string };
  runs: Record<
    'sec1' | 'sec2',
    {
      clientSeed: string;
      deviceSeed: string;
      exchanges: Array<{ endpoint: string; request: string; response: string }>;
    }
  >;
}

const recording = JSON.parse(
  readFileSync(new URL('./fixtures/esp-prov-custom-data.json', import.meta.url), 'utf8'),
) as Recording;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** The device the recording was made against: FakeDevice behind protocomm, randomness pinned. */
async function recordedDevice(secVer: 1 | 2) {
  const { pop, srpSalt, templateId } = recording;
  const fake = new FakeDevice(homeNetworks(3));
  const device = new ProtocommDevice({
    security:
      secVer === 1
        ? { version: 1, pop }
        : {
            version: 2,
            credential: await makeSrpVerifier(pop, Uint8Array.from(Buffer.from(srpSalt, 'hex'))),
          },
    templateId,
    wifi: fake,
    scan: fake,
    control: fake,
    activation: fake,
    random: seededRandom(recording.runs[`sec${secVer}`].deviceSeed),
  });
  const server = new SoftApHttpServer({ handler: device, port: 0 });
  const { port } = await server.start();
  return { fake, server, address: `127.0.0.1:${port}` };
}

describe.each([1, 2] as const)('esp_prov --custom_data, security %i', (secVer) => {
  const run = recording.runs[`sec${secVer}`];

  it("answers esp_prov's own requests with the recorded bytes, and takes the activation data", async () => {
    const { fake, server, address } = await recordedDevice(secVer);
    const link = new SoftApHttpLink(address);
    try {
      const endpoints: string[] = [];
      for (const exchange of run.exchanges) {
        const answer = await link.exchange(
          exchange.endpoint,
          Uint8Array.from(Buffer.from(exchange.request, 'hex')),
        );
        expect(hex(answer), `answer on ${exchange.endpoint}`).toBe(exchange.response);
        endpoints.push(exchange.endpoint);
      }
      // esp_prov's order: custom data after the secure session, before the Wi-Fi credentials.
      expect(endpoints.indexOf('custom-data')).toBe(endpoints.lastIndexOf('prov-session') + 1);
      expect(fake.activations).toEqual([
        {
          token: 'AXd9RrMiJex0X37GCYXwL0HDFnQxQ548',
          brokerUrl: 'mqtt://192.168.1.10:1883',
          templateId: 'TMPL0001',
        },
      ]);
    } finally {
      await link.close();
      await server.stop();
    }
  });

  it('is spoken byte for byte by the esp_prov-protocol client the other tests use', async () => {
    const { server, address } = await recordedDevice(secVer);
    const link = new SoftApHttpLink(address);
    try {
      const result = await runEspProv(link, {
        secVer,
        pop: recording.pop,
        customData: recording.customData,
        ...recording.wifi,
        random: seededRandom(run.clientSeed),
        pollMs: 0,
      });
      expect(
        result.exchanges.map((e) => ({
          endpoint: e.endpoint,
          request: hex(e.request),
          response: hex(e.response),
        })),
      ).toEqual(run.exchanges);
      // What esp_prov printed: ++++ CustomData response: b'{"status":"ok","hardwareId":"esp32-a1b2c3"}'++++
      expect(result.customDataResponse).toBe('{"status":"ok","hardwareId":"esp32-a1b2c3"}');
      expect(result.wifi).toBe('connected');
    } finally {
      await link.close();
      await server.stop();
    }
  });
});

describe('activation through custom-data, as a field technician does it with esp_prov', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;
  const hosts: DeviceHost[] = [];

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    const res = await gw.api<{ id: string }>(
      'POST',
      '/api/templates',
      { name: 'Plug', datastreams: [{ name: 'temp', type: 'double' }] },
      admin,
    );
    templateId = res.body.id;
  });
  afterAll(async () => {
    for (const host of hosts) await host.stop();
    await gw.stop();
  });

  const session = async () =>
    (
      await gw.api<{ deviceId: string; token: string; brokerUrl: string }>(
        'POST',
        '/api/provisioning/sessions',
        { templateId },
        admin,
      )
    ).body;

  it('activates a simulated device with a token from POST /api/provisioning/sessions', async () => {
    const host = await startSimDevice({ templateId, pop: 'abcd1234' });
    hosts.push(host);
    const { deviceId, token, brokerUrl } = await session();
    const link = new SoftApHttpLink(host.softApAddress!);
    const result = await runEspProv(link, {
      secVer: 2,
      pop: 'abcd1234',
      customData: JSON.stringify({ token, broker: brokerUrl, template: templateId }),
      ssid: HOME_WIFI.ssid,
      passphrase: HOME_WIFI.passphrase,
      pollMs: 50,
    }).finally(() => link.close());
    expect(JSON.parse(result.customDataResponse)).toEqual({
      status: 'ok',
      hardwareId: host.device.factory.hardwareId,
    });
    expect(result.wifi).toBe('connected');
    await expect
      .poll(
        async () =>
          (await gw.api<{ state: string }>('GET', `/api/provisioning/sessions/${deviceId}`, undefined, admin))
            .body.state,
      )
      .toBe('active');
    const device = await gw.api<{ hardwareId: string; status: string }>(
      'GET',
      `/api/devices/${deviceId}`,
      undefined,
      admin,
    );
    expect(device.body).toMatchObject({ status: 'active', hardwareId: host.device.factory.hardwareId });
  });

  it('refuses custom data for another product before the Wi-Fi credentials, as esp_prov sees it', async () => {
    const host = await startSimDevice({ templateId, pop: 'abcd1234' });
    hosts.push(host);
    const { token, brokerUrl } = await session();
    for (const [customData, status] of [
      [JSON.stringify({ token, broker: brokerUrl, template: 'TMPLother123' }), 409],
      [JSON.stringify({ token, broker: brokerUrl }), 400],
      [`token=${token}`, 400],
      [JSON.stringify({ token, broker: brokerUrl, template: templateId, constructor: 1 }), 400],
    ] as const) {
      const link = new SoftApHttpLink(host.softApAddress!);
      const failed = runEspProv(link, {
        secVer: 2,
        pop: 'abcd1234',
        customData,
        ssid: HOME_WIFI.ssid,
        passphrase: HOME_WIFI.passphrase,
        pollMs: 0,
      });
      // esp_prov: "Server responded with error code 409", then "Error in custom data", exit status 1.
      await expect(failed).rejects.toMatchObject({
        details: { endpoint: 'custom-data', httpStatus: status },
      });
      await link.close();
    }
    expect(host.device.wifiStatus.state).toBe('disconnected');
  });

  it('tether provision token --wait prints the --custom_data text, then the activation', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tether-cli-home-'));
    const env = { TETHER_HOME: home, TETHER_GATEWAY_URL: gw.baseUrl };
    try {
      const login = await runCli(['login', '--email', ADMIN.email, '--password', ADMIN.password], env);
      expect(login.code, login.stderr).toBe(0);
      const host = await startSimDevice({ templateId, pop: 'abcd1234' });
      hosts.push(host);
      const cli = await startCli(
        ['provision', 'token', '--template', templateId, '--wait', '--json'],
        env,
        /^(\{.*\})\n/,
      );
      const printed = JSON.parse(cli.match[1]!) as { deviceId: string; customData: string };
      expect(JSON.parse(printed.customData)).toMatchObject({ template: templateId, broker: gw.brokerUrl });
      const exited = new Promise<number | null>((resolve) => cli.child.once('exit', resolve));
      const link = new SoftApHttpLink(host.softApAddress!);
      await runEspProv(link, {
        secVer: 2,
        pop: 'abcd1234',
        customData: printed.customData,
        ssid: HOME_WIFI.ssid,
        passphrase: HOME_WIFI.passphrase,
        pollMs: 50,
      }).finally(() => link.close());
      expect(await exited).toBe(0);
      const outcome = JSON.parse(cli.output().trim().split('\n').pop()!) as {
        state: string;
        device: { id: string };
      };
      expect(outcome).toMatchObject({ state: 'active', device: { id: printed.deviceId } });

      // For a person: the token, the broker and the esp_prov command line to paste.
      const human = await runCli(['provision', 'token', '--template', templateId], env);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/Token {8}[A-Za-z0-9_-]{32}\n/);
      expect(human.stdout).toContain(`Broker       ${gw.brokerUrl}`);
      expect(human.stdout).toMatch(
        /--sec2_username wifiprov .*\n.*--custom_data '\{"token":"[A-Za-z0-9_-]{32}","broker":"mqtt:/s,
      );
      await stopCli(cli.child);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
    // Three CLI processes on a 2-core machine that may be busy with other suites.
  }, 90_000);
});

describe('the custom-data payload', () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  const good = { token: 'AXd9RrMiJex0X37GCYXwL0HDFnQxQ548', broker: 'mqtt://gw:1883', template: 'TMPL0001' };

  it('reads the documented JSON object', () => {
    expect(decodeCustomDataActivation(bytes(JSON.stringify(good)))).toEqual({
      token: good.token,
      brokerUrl: good.broker,
      templateId: good.template,
    });
  });

  it.each([
    ['not JSON', 'token=abc'],
    ['an array', '[1]'],
    ['a missing field', JSON.stringify({ token: 'x', broker: 'mqtt://gw' })],
    ['a number for a string', JSON.stringify({ ...good, token: 5 })],
    ['an unknown field', JSON.stringify({ ...good, extra: '1' })],
    ['a prototype key', `{"token":"a","broker":"mqtt://gw","template":"T","__proto__":{"x":1}}`],
    ['more than 1024 bytes', JSON.stringify({ ...good, token: 'a'.repeat(1100) })],
  ])('refuses %s with VALIDATION_FAILED', (_what, text) => {
    expect(() => decodeCustomDataActivation(bytes(text))).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringContaining('custom-data') }),
    );
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(() => decodeCustomDataActivation(Uint8Array.from([0x7b, 0xff, 0x7d]))).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });
});
