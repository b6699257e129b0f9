/**
 * The broker's other doors: TLS with a self-signed certificate made here by the openssl CLI,
 * MQTT over WebSocket at /mqtt on the HTTP port, and a client that is not mqtt.js (Debian's
 * mosquitto-clients; CI installs it, see test/broker/README.md).
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeDevice, connectDevice, createTemplate } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { makeSelfSignedCert, type TestCertificate, toolAvailable } from '../support/tls-cert.js';

const run = promisify(execFile);
const HAS_OPENSSL = toolAvailable('openssl', 'openssl');
const HAS_MOSQUITTO =
  toolAvailable('mosquitto_pub', 'mosquitto-clients') && toolAvailable('mosquitto_sub', 'mosquitto-clients');

describe('broker listeners', () => {
  let gw: TestGateway;
  let admin: string;
  let templateId: string;
  let tlsCert: TestCertificate | undefined;
  let cert: Buffer | undefined;

  beforeAll(async () => {
    const tls: { tlsPort?: number; tlsCertFile?: string; tlsKeyFile?: string } = {};
    if (HAS_OPENSSL) {
      tlsCert = await makeSelfSignedCert();
      cert = tlsCert.cert;
      Object.assign(tls, { tlsPort: 0, tlsCertFile: tlsCert.certFile, tlsKeyFile: tlsCert.keyFile });
    }
    gw = await startTestGateway({ mqtt: tls });
    admin = await gw.login();
    templateId = await createTemplate(gw, admin);
  });
  afterAll(async () => {
    await gw?.stop();
    await tlsCert?.remove();
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

  it.skipIf(!HAS_OPENSSL)(
    'refuses to start with half a TLS configuration or an unreadable certificate',
    async () => {
      const certDir = tlsCert!.dir;
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
    },
  );

  it.skipIf(!HAS_MOSQUITTO || !HAS_OPENSSL)(
    'works with mosquitto_pub over TLS, trusting the certificate with --cafile',
    async () => {
      const minted = await activeDevice(gw, admin, templateId);
      const tls = [
        '-h',
        '127.0.0.1',
        '-p',
        String(gw.gateway.services.broker.tlsPort),
        '-u',
        'device',
        '-P',
        minted.token,
      ];
      await run('mosquitto_pub', [...tls, '--cafile', tlsCert!.certFile, '-t', 'ds/temp', '-m', '17.5']);
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
        .toBe(17.5);
      // Trusting only the public CAs, mosquitto refuses the self-signed certificate and exits non-zero.
      const refused = await run('mosquitto_pub', [
        ...tls,
        '--capath',
        '/etc/ssl/certs',
        '-t',
        'ds/temp',
        '-m',
        '1',
      ]).then(
        () => null,
        (e: { stderr: string }) => e.stderr,
      );
      expect(refused).toMatch(/certificate|protocol error|TLS|SSL/i);
    },
  );
});
