import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProtocommClient } from '../../provisioning/protocol/protocomm-client.js';
import { ProtocommDevice } from '../../provisioning/protocol/protocomm-device.js';
import type { DeviceSecurityConfig } from '../../provisioning/protocol/security/security-factory.js';
import { makeSrpVerifier } from '../../provisioning/protocol/security/srp-verifier.js';
import { parseHostPort, SoftApHttpLink } from '../../provisioning/transport/softap-http.js';
import { SoftApHttpServer } from '../../provisioning/transport/softap-http-server.js';
import { ManualClock } from '../../shared/clock.js';
import { FakeDevice, homeNetworks } from './fake-device.js';
import { RecordingDevice } from './transport-contract.js';

/** Made once: a security 2 credential costs a verifier computation. */
const SEC2_CREDENTIAL = await makeSrpVerifier('abcd1234');

interface RawAnswer {
  status: number;
  cookie: string | undefined;
  body: Buffer;
}

function post(port: number, path: string, body: Uint8Array | string, headers: Record<string, string> = {}) {
  return new Promise<RawAnswer>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          cookie: res.headers['set-cookie']?.[0],
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sockets = () => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;

describe('SoftApHttpServer', () => {
  let server: SoftApHttpServer | undefined;
  let before = 0;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    // Closed sockets leave the handle list within a few ticks; a leak never does.
    for (let i = 0; i < 50 && sockets() > before; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(sockets()).toBeLessThanOrEqual(before);
  });
  const start = async (device = new RecordingDevice()) => {
    before = sockets();
    server = new SoftApHttpServer({ handler: device, port: 0 });
    const { port } = await server.start();
    return { device, port };
  };

  it('keeps the session by cookie and starts a new one (closing the old) without it', async () => {
    const { device, port } = await start();
    const first = await post(port, '/echo', 'ab');
    expect(first.status).toBe(200);
    expect(first.cookie).toMatch(/^session=\d+$/);
    const again = await post(port, '/echo', 'cd', { Cookie: first.cookie! });
    expect(again.cookie).toBeUndefined();
    expect(device.sessions[0]).toBe(device.sessions[1]);
    const stranger = await post(port, '/echo', 'ef');
    expect(stranger.cookie).toMatch(/^session=\d+$/);
    expect(stranger.cookie).not.toBe(first.cookie);
    expect(device.closed).toEqual([device.sessions[0]]);
  });

  it('answers bad input with 4xx and keeps serving', async () => {
    const { port } = await start();
    expect((await post(port, '/echo', '')).status).toBe(400);
    expect((await post(port, '/nothing', 'x')).status).toBe(404);
    expect((await post(port, '/fail', 'x')).status).toBe(400);
    expect((await post(port, '/echo', Buffer.alloc(5000))).status).toBe(413);
    const get = await new Promise<number>((resolve) =>
      request({ host: '127.0.0.1', port, path: '/echo', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).end(),
    );
    expect(get).toBe(405);
    const garbage = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => {
        text += d.toString();
      });
      socket.on('close', () => resolve(text));
    });
    expect(garbage).toMatch(/^HTTP\/1.1 400/);
    expect((await post(port, '/echo', 'ok')).body.toString()).toBe('ko');
  });

  it('stop() closes idle keep-alive connections, and the link then reports the device unreachable', async () => {
    const { port } = await start();
    const link = new SoftApHttpLink(`127.0.0.1:${port}`, { timeoutMs: 2000 });
    await link.exchange('echo', Uint8Array.from([1]));
    await server!.stop();
    server = undefined;
    await expect(link.exchange('echo', Uint8Array.from([1]))).rejects.toMatchObject({
      code: 'DEVICE_UNREACHABLE',
    });
    await link.close();
  });

  it('parses device addresses', () => {
    expect(parseHostPort('192.168.4.1')).toEqual({ host: '192.168.4.1', port: 80 });
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(() => parseHostPort('host:99999')).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  const POP = 'abcd1234';
  const configs: Array<[string, DeviceSecurityConfig]> = [
    ['security 0', { version: 0 }],
    ['security 1', { version: 1, pop: POP }],
    ['security 2', { version: 2, credential: SEC2_CREDENTIAL }],
  ];

  it.each(configs)('runs the whole protocol over loopback HTTP, %s', async (_name, security) => {
    const fake = new FakeDevice(homeNetworks(5));
    const clock = new ManualClock();
    const device = new ProtocommDevice({
      security,
      templateId: 'TMPL0001',
      wifi: fake,
      scan: fake,
      control: fake,
      activation: fake,
      clock,
    });
    const { port } = await start(device as unknown as RecordingDevice);
    const client = new ProtocommClient(new SoftApHttpLink(`127.0.0.1:${port}`), {
      minSecurity: security.version,
      clock,
    });
    await client.establishSession({ pop: POP });
    expect((await client.scanWifi()).length).toBe(5);
    await client.setWifiConfig({ ssid: 'home', passphrase: 'nope' });
    await client.applyWifiConfig();
    await expect(client.waitForWifi()).rejects.toMatchObject({ code: 'WIFI_AUTH_FAILED' });
    await client.setWifiConfig({
      ssid: 'home',
      passphrase: 'correct horse',
      bssid: '02:00:00:00:00:01',
      channel: 1,
    });
    await client.applyWifiConfig();
    expect(await client.waitForWifi()).toMatchObject({ state: 'connected', bssid: '02:00:00:00:00:01' });
    expect(fake.pending).toEqual({
      ssid: 'home',
      passphrase: 'correct horse',
      bssid: '02:00:00:00:00:01',
      channel: 1,
    });
    expect(
      await client.activate({ token: 'x'.repeat(32), brokerUrl: 'mqtts://gw:8883', templateId: 'TMPL0001' }),
    ).toEqual({
      hardwareId: 'esp32-a1b2c3',
    });
    await client.close();
  });

  it('a wrong PoP over HTTP is POP_INVALID, and the device keeps serving', async () => {
    const device = new ProtocommDevice({
      security: { version: 2, credential: await makeSrpVerifier(POP) },
      templateId: 'T',
      wifi: new FakeDevice(),
      clock: new ManualClock(),
    });
    const { port } = await start(device as unknown as RecordingDevice);
    const wrong = new ProtocommClient(new SoftApHttpLink(`127.0.0.1:${port}`));
    await expect(wrong.establishSession({ pop: 'wrong' })).rejects.toMatchObject({
      code: 'POP_INVALID',
      details: { attemptsRemaining: 4 },
    });
    await wrong.close();
    const right = new ProtocommClient(new SoftApHttpLink(`127.0.0.1:${port}`));
    await expect(right.establishSession({ pop: POP })).resolves.toBe(2);
    await right.close();
  });
});
