/**
 * The broker's other doors: TLS with a self-signed certificate made here by the openssl CLI,
 * MQTT over WebSocket at /mqtt on the HTTP port, and a client that is not mqtt.js (Debian's
 * mosquitto-clients; CI installs it, see test/broker/README.md).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeDevice, connectDevice, createTemplate } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

const run = promisify(execFile);
const hasBinary = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
const HAS_OPENSSL = hasBinary('openssl');
const HAS_MOSQUITTO = hasBinary('mosquitto_pub') && hasBinary('mosquitto_sub');

describe('broker listeners', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;
  let certDir: string;
  let cert: Buffer | undefined;

  beforeAll(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'tether-tls-'));
    const tls: { tlsPort?: number; tlsCertFile?: string; tlsKeyFile?: string } = {};
    if (HAS_OPENSSL) {
      const certFile = join(certDir, 'cert.pem');
      const keyFile = join(certDir, 'key.pem');
      await run('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ]);
      cert = await readFile(certFile);
      Object.assign(tls, { tlsPort: 0, tlsCertFile: certFile, tlsKeyFile: keyFile });
    }
    gw = await startTestGateway({ mqtt: tls });
    admin = await gw.login();
    templateId = await createTemplate(gw, admin);
  });
  afterAll(async () => {
    await gw?.stop();
    await rm(certDir, { recursive: true, force: true });
  });

  it.skipIf(!HAS_OPENSSL)('serves MQTT over TLS when a certificate and key are configured', async () => {
    const port = gw.gateway.services.broker.tlsPort;
    expect(port).toBeGreaterThan(0);
    const minted = await activeDevice(gw, admin, templateId);
    const dev = await connectDevice(`mqtts://127.0.0.1:${port}`, minted.token, {
      ca: cert!,
      servername: 'localhost',
    });
    await dev.client.publishAsync('ds/temp', '19');
    await dev.client.publishAsync('get/ds', 'temp');
    expect(await dev.next('downlink/ds/temp')).toBe('19');
    await dev.client.endAsync();
    // A client that does not trust the certificate never gets to MQTT.
    await expect(connectDevice(`mqtts://127.0.0.1:${port}`, minted.token)).rejects.toThrow(
      /self[- ]signed|certificate/i,
    );
  });

  it('serves MQTT over WebSocket at /mqtt on the HTTP port, and nothing on other paths', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const url = `ws://127.0.0.1:${gw.gateway.httpPort}/mqtt`;
    const dev = await connectDevice(url, minted.token);
    await dev.client.publishAsync('ds/temp', '23.5');
    await dev.client.publishAsync('get/ds', 'temp');
    expect(await dev.next('downlink/ds/temp')).toBe('23.5');
    await gw.api('PUT', `/api/devices/${minted.deviceId}/datastreams/power`, { value: 1 }, admin);
    expect(await dev.next('downlink/ds/power')).toBe('1');
    await dev.client.endAsync();
    await expect(
      connectDevice(`ws://127.0.0.1:${gw.gateway.httpPort}/other`, minted.token),
    ).rejects.toThrow();
    // Left open on purpose: stopping the gateway (afterAll) must close WebSocket clients too.
    const lingering = await activeDevice(gw, admin, templateId);
    await connectDevice(url, lingering.token);
    // Plain HTTP keeps working next to the upgrade handler.
    expect((await gw.api('GET', '/api/devices', undefined, admin)).status).toBe(200);
  });

  it.skipIf(!HAS_MOSQUITTO)('works with mosquitto_pub and mosquitto_sub (not mqtt.js)', async () => {
    const minted = await activeDevice(gw, admin, templateId);
    const port = String(gw.gateway.mqttPort);
    const auth = ['-h', '127.0.0.1', '-p', port, '-u', 'device', '-P', minted.token, '-V', 'mqttv311'];
    await run('mosquitto_pub', [...auth, '-t', 'ds/temp', '-m', '31.25']);
    await expect
      .poll(
        async () =>
          (
            await gw.api<{ values: Record<string, { value: unknown }> }>(
              'GET',
              `/api/devices/${minted.deviceId}`,
              undefined,
              admin,
            )
          ).body.values.temp?.value,
      )
      .toBe(31.25);
    // mosquitto_sub waits for one downlink (-C 1) and prints "topic payload" (-v).
    const sub = spawn('mosquitto_sub', [
      ...auth,
      '-i',
      'sub-1',
      '-t',
      'downlink/#',
      '-C',
      '1',
      '-v',
      '-W',
      '10',
    ]);
    let out = '';
    let err = '';
    sub.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    sub.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => sub.once('exit', resolve));
    await expect
      .poll(() => gw.gateway.services.broker.isConnected(minted.deviceId), { message: err })
      .toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the SUBSCRIBE land
    await gw.api('PUT', `/api/devices/${minted.deviceId}/datastreams/mode`, { value: 'cool' }, admin);
    expect(await exited).toBe(0);
    expect(out.trim()).toBe('downlink/ds/mode cool');
    // And a wrong token: mosquitto reports the CONNACK refusal and exits non-zero.
    const refused = await run('mosquitto_pub', [
      ...auth.slice(0, 6),
      '-P',
      'wrong-token',
      '-t',
      'ds/temp',
      '-m',
      '1',
    ]).then(
      () => null,
      (e: { stderr: string }) => e.stderr,
    );
    expect(refused).toMatch(/not authori[sz]ed|bad user name or password|Connection Refused/i);
  });

  it('refuses to start with half a TLS configuration or an unreadable certificate', async () => {
    await expect(
      startTestGateway({ mqtt: { tlsCertFile: join(certDir, 'cert.pem') } }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/needs both/),
    });
    await expect(
      startTestGateway({
        mqtt: { tlsCertFile: join(certDir, 'nope.pem'), tlsKeyFile: join(certDir, 'nope.key') },
      }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/mqtt.tlsCertFile: cannot read/),
    });
  });

  it.runIf(!HAS_MOSQUITTO)('needs mosquitto-clients for the non-mqtt.js client test', () => {
    console.warn('mosquitto_pub/mosquitto_sub not found: install the Debian package mosquitto-clients.');
  });
});
