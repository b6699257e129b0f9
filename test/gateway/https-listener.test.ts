/**
 * TLS on the HTTP listener: with http.tlsCertFile and http.tlsKeyFile the API speaks HTTPS and MQTT
 * over WebSocket at /mqtt becomes wss (Blynk's HTML5 sample connects to wss://host:443/mqtt; a
 * browser console needs HTTPS on a LAN for Web Bluetooth). Real clients: node's https, mqtt.js over
 * wss, the tether CLI trusting the certificate through NODE_EXTRA_CA_CERTS, and the start-up banner.
 */
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { connectDevice } from '../devices/device-fixtures.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { runCli, startCli, stopCli } from '../support/run-cli.js';
import { makeSelfSignedCert, type TestCertificate, toolAvailable } from '../support/tls-cert.js';

const HAS_OPENSSL = toolAvailable('openssl', 'openssl');

function httpsJson(
  url: string,
  options: { ca?: Buffer; method?: string; body?: unknown; token?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        ...(options.ca ? { ca: options.ca } : {}),
        headers: {
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(!HAS_OPENSSL)('HTTPS and WSS on the HTTP listener', () => {
  let cert: TestCertificate;
  let gw: TestGateway;
  let https: string;

  beforeAll(async () => {
    cert = await makeSelfSignedCert();
    const tls = { tlsCertFile: cert.certFile, tlsKeyFile: cert.keyFile };
    gw = await startTestGateway({ http: tls, mqtt: { ...tls, tlsPort: 0 } });
    https = gw.gateway.httpUrl;
  });
  afterAll(async () => {
    await gw?.stop();
    await cert?.remove();
  });

  it('serves the API over HTTPS only, to clients that trust the certificate', async () => {
    expect(https).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await httpsJson(`${https}/healthz`, { ca: cert.cert })).body).toMatchObject({ status: 'ok' });
    const login = await httpsJson(`${https}/api/auth/login`, {
      ca: cert.cert,
      method: 'POST',
      body: { email: ADMIN.email, password: ADMIN.password },
    });
    expect(login.status).toBe(200);
    const me = await httpsJson(`${https}/api/me`, { ca: cert.cert, token: String(login.body.accessToken) });
    expect(me.body).toMatchObject({ user: { email: ADMIN.email } });
    // Not trusted: the handshake fails before any byte of HTTP.
    await expect(httpsJson(`${https}/healthz`)).rejects.toThrow(/self[- ]signed|certificate/i);
    // Plain HTTP on the TLS port is never served (tokens never travel in the clear there); it is
    // told to use https instead of getting an empty reply.
    const plain = await fetch(`${https.replace('https:', 'http:')}/api/me`);
    expect(plain.status).toBe(400);
    expect(await plain.json()).toEqual({
      error: { code: 'VALIDATION_FAILED', message: expect.stringContaining('use https://') },
    });
  });

  it('serves MQTT over WebSocket as wss at /mqtt, next to the API', async () => {
    const admin = String(
      (
        await httpsJson(`${https}/api/auth/login`, {
          ca: cert.cert,
          method: 'POST',
          body: { email: ADMIN.email, password: ADMIN.password },
        })
      ).body.accessToken,
    );
    const api = (method: string, path: string, body?: unknown) =>
      httpsJson(`${https}${path}`, { ca: cert.cert, method, body, token: admin });
    const template = await api('POST', '/api/templates', {
      name: 'Heater',
      datastreams: [
        { name: 'temp', type: 'double' },
        { name: 'power', type: 'int' },
      ],
    });
    const mint = await api('POST', '/api/static-tokens', { templateId: template.body.id, count: 1 });
    const [minted] = mint.body.devices as Array<{ deviceId: string; token: string; claimCode: string }>;
    expect((await api('POST', '/api/claims', { claimCode: minted!.claimCode })).status).toBe(200);
    const wss = `${https.replace(/^https/, 'wss')}/mqtt`;
    const dev = await connectDevice(wss, minted!.token, { ca: cert.cert });
    await dev.client.publishAsync('ds/temp', '23.5');
    await dev.client.publishAsync('get/ds', 'temp');
    expect(await dev.next('downlink/ds/temp')).toBe('23.5');
    const write = await api('PUT', `/api/devices/${minted!.deviceId}/datastreams/power`, { value: 1 });
    expect(write.status).toBe(200);
    expect(await dev.next('downlink/ds/power')).toBe('1');
    await dev.client.endAsync();
    // A device that does not trust the certificate never reaches MQTT; plain ws is not served.
    await expect(connectDevice(wss, minted!.token)).rejects.toThrow(/self[- ]signed|certificate/i);
    const plainWs = new WebSocket(wss.replace(/^wss/, 'ws'), 'mqtt');
    const refused = await new Promise<Error>((resolve) => plainWs.once('error', resolve));
    expect(refused.message).toMatch(/Unexpected server response: 400/);
    // Left connected on purpose: stopping the gateway must close wss clients too (afterAll).
    await connectDevice(wss, minted!.token, { ca: cert.cert });
    // Blynk's HTTPS device API answers on the same port.
    const connected = await httpsJson(`${https}/external/api/isHardwareConnected?token=${minted!.token}`, {
      ca: cert.cert,
    });
    expect(connected).toEqual({ status: 200, body: true });
  });

  it('refuses half a configuration, an unreadable file or a key of another certificate, naming the setting', async () => {
    const other = await makeSelfSignedCert('other');
    try {
      await expect(startTestGateway({ http: { tlsCertFile: cert.certFile } })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/needs both http.tlsCertFile and http.tlsKeyFile/),
      });
      await expect(
        startTestGateway({ http: { tlsCertFile: join(cert.dir, 'nope.pem'), tlsKeyFile: cert.keyFile } }),
      ).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/http.tlsCertFile: cannot read/),
      });
      await expect(
        startTestGateway({ http: { tlsCertFile: cert.certFile, tlsKeyFile: other.keyFile } }),
      ).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/not a PEM certificate and its private key/),
      });
      await expect(
        startTestGateway({ mqtt: { tlsCertFile: cert.certFile, tlsKeyFile: other.keyFile } }),
      ).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/^mqtt.tlsCertFile and mqtt.tlsKeyFile/),
      });
    } finally {
      await other.remove();
    }
  });
});

describe.skipIf(!HAS_OPENSSL)('tether gateway start with TLS, and the CLI against it', () => {
  vi.setConfig({ testTimeout: 90_000, hookTimeout: 60_000 });
  let cert: TestCertificate;

  beforeAll(async () => {
    cert = await makeSelfSignedCert();
  });
  afterAll(async () => cert?.remove());

  it('lists every listener in the banner, and tether login trusts the certificate through NODE_EXTRA_CA_CERTS', async () => {
    const env = {
      TETHER_HOME: join(cert.dir, 'home'),
      TETHER_ADMIN_EMAIL: 'you@example.com',
      TETHER_ADMIN_PASSWORD: 'a long password',
      TETHER_LOG_LEVEL: 'warn',
      TETHER_MQTT_TLS_PORT: '0',
    };
    const started = await startCli(
      [
        'gateway',
        'start',
        '--data-dir',
        join(cert.dir, 'data'),
        '--http-port',
        '0',
        '--mqtt-port',
        '0',
        '--tls-cert',
        cert.certFile,
        '--tls-key',
        cert.keyFile,
      ],
      env,
      /Data folder/,
      // The first admin is hashed at production cost (scrypt, 128 MiB): slow on a busy machine.
      55_000,
    );
    try {
      const banner = started.output();
      const url = /HTTPS API +(https:\/\/127\.0\.0\.1:(\d+))/.exec(banner);
      expect(url, banner).not.toBeNull();
      expect(banner).toMatch(/MQTT +mqtt:\/\/127\.0\.0\.1:\d+\n/);
      expect(banner).toMatch(/MQTT over TLS +mqtts:\/\/127\.0\.0\.1:\d+\n/);
      expect(banner).toContain(`MQTT over WSS  wss://127.0.0.1:${url![2]}/mqtt`);
      const login = await runCli(
        ['login', '--email', 'you@example.com', '--password', 'a long password', '--gateway', url![1]!],
        { ...env, NODE_EXTRA_CA_CERTS: cert.certFile },
      );
      expect(login.code, login.stderr).toBe(0);
      expect(login.stdout).toContain(`Logged in to ${url![1]}`);
    } finally {
      expect(await stopCli(started.child)).toBe(0);
    }
  });

  it('says which listeners are off and what opens them', async () => {
    const started = await startCli(
      ['gateway', 'start', '--data-dir', join(cert.dir, 'plain'), '--http-port', '0', '--mqtt-port', '0'],
      { TETHER_LOG_LEVEL: 'warn' },
      /Ctrl-C stops the gateway/,
      45_000,
    );
    const banner = started.output();
    expect(await stopCli(started.child)).toBe(0);
    expect(banner).toMatch(/HTTP API +http:\/\/127\.0\.0\.1:(\d+)/);
    expect(banner).toContain('MQTT over TLS  off (set mqtt.tlsCertFile and mqtt.tlsKeyFile)');
    expect(banner).toMatch(/MQTT over WS +ws:\/\/127\.0\.0\.1:\d+\/mqtt/);
  });
});
