import { request } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createEdgentClient,
  EDGENT_PLAINTEXT_WARNING,
  type EdgentClient,
} from '../../provisioning/edgent/edgent-client.js';
import {
  buildEdgentConfigQuery,
  parseEdgentConfigQuery,
} from '../../provisioning/edgent/edgent-config-query.js';
import { EdgentConfigServer } from '../../provisioning/edgent/edgent-config-server.js';
import { edgentErrorToTetherError } from '../../provisioning/edgent/edgent-types.js';
import { isTetherError } from '../../shared/errors.js';
import { SimEdgentDevice } from './sim-edgent-device.js';

const TOKEN = 'A'.repeat(32);

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isTetherError(error)) return { code: error.code, message: error.message };
    return { code: `not a TetherError: ${String(error)}`, message: '' };
  }
  return { code: 'resolved', message: '' };
}

/** A raw GET, as a phone's browser or Blynk app would send it. */
// biome-ignore lint/suspicious/noExplicitAny: raw JSON from the wire, checked field by field below
function get(address: string, path: string, method = 'GET'): Promise<{ status: number; body: any }> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path, method, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Blynk.Edgent legacy provisioning', () => {
  let device: SimEdgentDevice;
  let server: EdgentConfigServer;
  let address: string;
  let client: EdgentClient;

  beforeEach(async () => {
    device = new SimEdgentDevice();
    server = new EdgentConfigServer({ handler: device });
    address = await server.start();
    client = createEdgentClient({ address, allowPlaintext: true });
  });

  afterEach(async () => {
    await server.stop();
  });

  describe('device side', () => {
    it('serves board_info.json with Edgent field names', async () => {
      const { status, body } = await get(address, '/board_info.json');
      expect(status).toBe(200);
      expect(body).toEqual({
        board: 'Thermostat',
        tmpl_id: 'TMPL0123456789',
        fw_type: 'Thermostat',
        fw_ver: '0.1.0',
        ssid: 'Tether Thermostat-8W4N',
        bssid: '02:00:00:00:00:aa',
        mac: '02:00:00:00:00:ab',
        last_error: 0,
        wifi_scan: true,
        static_ip: true,
        cfg_attempt: 0,
        cfg_state: 'idle',
      });
    });

    it('serves wifi_scan.json strongest first, at most 15, without hidden networks', async () => {
      for (let i = 0; i < 20; i++) {
        device.networks.push({
          ssid: i === 0 ? '' : `N${i}`,
          bssid: `20:00:00:00:00:${i}`,
          rssi: -60 - i,
          security: 'WPA2',
          channel: 3,
          passphrase: 'x',
        });
      }
      const { body } = await get(address, '/wifi_scan.json');
      expect(body).toHaveLength(15);
      expect(body[0]).toEqual({ ssid: 'Office', bssid: '10:00:00:00:00:03', rssi: -40, sec: 'WPA2', ch: 11 });
      expect(body.map((n: { rssi: number }) => n.rssi)).toEqual(
        [...body.map((n: { rssi: number }) => n.rssi)].sort((a, b) => b - a),
      );
      expect(body.some((n: { ssid: string }) => n.ssid === '')).toBe(false);
    });

    it('answers bad /config queries with 400 and a clear message, and keeps serving', async () => {
      const bad: [string, RegExp][] = [
        [`/config?pass=x&blynk=${TOKEN}`, /network name/],
        ['/config?ssid=HomeNet&blynk=short', /32 characters/],
        [`/config?ssid=HomeNet&blynk=${TOKEN}&port_ssl=70000`, /port_ssl.*1 to 65535/],
        [`/config?ssid=HomeNet&blynk=${TOKEN}&port=abc`, /port/],
        [`/config?ssid=Home%ZZNet&blynk=${TOKEN}`, /malformed %-escape/],
        [`/config?ssid=a&ssid=b&blynk=${TOKEN}`, /more than once/],
        [`/config?ssid=HomeNet&blynk=${TOKEN}&save=yes`, /save/],
        [`/config?ssid=HomeNet&blynk=${TOKEN}&ip=300.1.1.1`, /IPv4/],
        [`/config?ssid=${'x'.repeat(33)}&blynk=${TOKEN}`, /32 bytes/],
        [`/config?ssid=Home%0ANet&blynk=${TOKEN}`, /control characters/],
        [`/config?ssid=Home%FFNet&blynk=${TOKEN}`, /UTF-8/],
        [`/config?${'a'.repeat(3000)}`, /longer than/],
      ];
      for (const [path, message] of bad) {
        const { status, body } = await get(address, path);
        expect(status, path).toBe(400);
        expect(body.status).toBe('error');
        expect(body.msg).toMatch(message);
      }
      expect(device.applied).toEqual([]);
      expect((await get(address, '/nope')).status).toBe(404);
      expect((await get(address, '/board_info.json', 'POST')).status).toBe(405);
      expect((await get(address, '/board_info.json')).status).toBe(200);
    });

    it('takes ssidManual over ssid, port and port_ssl, save, and static IP settings', async () => {
      const { status, body } = await get(
        address,
        `/config?ssid=Cafe&ssidManual=Office&pass=office-pass&blynk=${TOKEN}&host=tether.local&port=1883&port_ssl=8883&save=1&ip=192.168.1.50&mask=255.255.255.0&gw=192.168.1.1&dns=1.1.1.1&extra=ignored`,
      );
      expect(status).toBe(200);
      expect(body).toEqual({ status: 'ok', msg: 'Configuration saved' });
      await expect.poll(() => device.applied.length).toBe(1);
      expect(device.applied[0]).toEqual({
        ssid: 'Office',
        passphrase: 'office-pass',
        token: TOKEN,
        host: 'tether.local',
        port: 1883,
        portSsl: 8883,
        save: true,
        staticIp: { ip: '192.168.1.50', mask: '255.255.255.0', gw: '192.168.1.1', dns: '1.1.1.1' },
      });
    });

    it('resets and reboots through the handler (reboot after the answer is sent)', async () => {
      expect((await get(address, '/reset')).body).toEqual({ status: 'ok', msg: 'Configuration reset' });
      expect(device.resets).toBe(1);
      await client.reboot();
      await expect.poll(() => device.reboots).toBe(1);
    });

    it('closes every connection on stop, keep-alive ones included', async () => {
      const { Agent } = await import('node:http');
      const agent = new Agent({ keepAlive: true });
      const [host, port] = address.split(':');
      await new Promise<void>((resolve, reject) => {
        request({ host, port: Number(port), path: '/board_info.json', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        })
          .on('error', reject)
          .end();
      });
      const started = Date.now();
      await server.stop();
      expect(Date.now() - started).toBeLessThan(1_000);
      expect((await errorOf(client.boardInfo())).code).toBe('DEVICE_UNREACHABLE');
      agent.destroy();
    });
  });

  describe('companion side', () => {
    it('refuses without the product opt-in, and always carries and logs the plaintext warning', () => {
      expect(() => createEdgentClient({ address, allowPlaintext: false })).toThrow(
        expect.objectContaining({ code: 'SECURITY_MISMATCH' }),
      );
      const lines: string[] = [];
      const logger = pino(
        { level: 'warn' },
        new Writable({
          write(chunk, _enc, done) {
            lines.push(String(chunk));
            done();
          },
        }),
      );
      const c = createEdgentClient({ address, allowPlaintext: true, logger });
      expect(c.warning).toBe(EDGENT_PLAINTEXT_WARNING);
      expect(lines.join('')).toMatch(/not encrypted/);
    });

    it('reads the board and the scan as typed values', async () => {
      expect(await client.boardInfo()).toMatchObject({
        templateId: 'TMPL0123456789',
        lastError: 0,
        wifiScan: true,
        configState: 'idle',
      });
      expect((await client.scanWifi())[0]).toEqual({
        ssid: 'Office',
        bssid: '10:00:00:00:00:03',
        rssi: -40,
        security: 'WPA2',
        channel: 11,
      });
    });

    it('provisions end to end and reports the outcome with the warning', async () => {
      const result = await client.provision(
        { ssid: 'HomeNet', passphrase: 'correct horse', token: TOKEN, host: 'tether.local', portSsl: 8883 },
        { pollMs: 10 },
      );
      expect(result).toMatchObject({ outcome: 'applied', warning: EDGENT_PLAINTEXT_WARNING });
      expect(device.applied[0]).toMatchObject({
        ssid: 'HomeNet',
        passphrase: 'correct horse',
        portSsl: 8883,
        save: false,
      });
    });

    it('maps every last_error to a stable code, and a corrected config then succeeds without a reset', async () => {
      const base = { ssid: 'HomeNet', passphrase: 'correct horse', token: TOKEN, host: 'tether.local' };
      const cases: [Partial<typeof base> & { staticIp?: { ip: string } }, string, number][] = [
        [{ staticIp: { ip: '192.168.1.0' } }, 'VALIDATION_FAILED', 700],
        [{ passphrase: 'wrong' }, 'WIFI_AUTH_FAILED', 701],
        [{ ssid: 'NotAround' }, 'WIFI_NETWORK_NOT_FOUND', 701],
        [{ host: 'unreachable.example' }, 'GATEWAY_UNREACHABLE', 702],
        [{ token: 'B'.repeat(32) }, 'TOKEN_INVALID', 703],
        [{ ssid: 'BROKEN-RADIO' }, 'INTERNAL', 704],
      ];
      for (const [change, code, lastError] of cases) {
        const failure = await errorOf(client.provision({ ...base, ...change }, { pollMs: 10 }));
        expect(failure.code, JSON.stringify(change)).toBe(code);
        expect((await client.boardInfo()).lastError).toBe(lastError);
      }
      expect(device.resets).toBe(0);
      expect((await client.provision(base, { pollMs: 10 })).outcome).toBe('applied');
      expect((await client.boardInfo()).lastError).toBe(0);
    });

    it('ends as left-config-mode when the device switches its access point off to try', async () => {
      device.onApplied = () => server.stop();
      const result = await client.provision(
        { ssid: 'Cafe', passphrase: '', token: TOKEN, host: 'tether.local' },
        { pollMs: 10 },
      );
      expect(result.outcome).toBe('left-config-mode');
    });

    it('checks the config with the device rules before sending anything', async () => {
      const failure = await errorOf(
        client.configure({ ssid: 'HomeNet', passphrase: '', token: 'short', save: false }),
      );
      expect(failure.code).toBe('VALIDATION_FAILED');
      expect(device.applied).toEqual([]);
    });

    it('says DEVICE_UNREACHABLE when nothing listens, TIMEOUT when the device hangs', async () => {
      await server.stop();
      expect((await errorOf(client.boardInfo())).code).toBe('DEVICE_UNREACHABLE');
      const { createServer } = await import('node:http');
      const silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const port = (silent.address() as { port: number }).port;
        const slow = createEdgentClient({
          address: `127.0.0.1:${port}`,
          allowPlaintext: true,
          timeoutMs: 100,
        });
        expect((await errorOf(slow.boardInfo())).code).toBe('TIMEOUT');
      } finally {
        silent.closeAllConnections();
        await new Promise((resolve) => silent.close(resolve));
      }
    });
  });
});

describe('Edgent config query and error table', () => {
  it('round-trips a config through the query string', () => {
    const config = {
      ssid: 'Wi-Fi & Café',
      passphrase: 'p@ss word+%',
      token: 'abcdefghijklmnopqrstuvwxyz-_0123',
      host: 'gw.example.com',
      portSsl: 443,
      save: true,
      staticIp: { ip: '10.0.0.9', gw: '10.0.0.1' },
    };
    expect(parseEdgentConfigQuery(buildEdgentConfigQuery(config))).toEqual(config);
  });

  it('maps last_error codes, using the scan to tell a wrong password from a missing network', () => {
    expect(edgentErrorToTetherError(0)).toBeUndefined();
    expect(edgentErrorToTetherError(701, { ssid: 'Home', scannedSsids: ['Home'] })?.code).toBe(
      'WIFI_AUTH_FAILED',
    );
    expect(edgentErrorToTetherError(701, { ssid: 'Home', scannedSsids: ['Other'] })?.code).toBe(
      'WIFI_NETWORK_NOT_FOUND',
    );
    expect(edgentErrorToTetherError(701)?.code).toBe('WIFI_AUTH_FAILED');
    expect(edgentErrorToTetherError(702)?.code).toBe('GATEWAY_UNREACHABLE');
    expect(edgentErrorToTetherError(703)?.code).toBe('TOKEN_INVALID');
    expect(edgentErrorToTetherError(704)?.code).toBe('INTERNAL');
    expect(edgentErrorToTetherError(700)?.code).toBe('VALIDATION_FAILED');
    expect(edgentErrorToTetherError(799)?.details).toEqual({ edgentError: 799 });
  });
});
