import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEdgentClient } from '../../provisioning/edgent/edgent-client.js';

const TOKEN = 'c'.repeat(32);

/** A Blynk-made Edgent device: no Tether cfg_* fields, last_error only. */
function blynkDevice(onConfig: (state: { lastError: number; server: Server }) => void) {
  const state = { lastError: 703, server: undefined as unknown as Server };
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    res.setHeader('Content-Type', 'application/json');
    if (path === '/board_info.json') {
      res.end(
        JSON.stringify({
          board: 'Lamp',
          tmpl_id: 'TMPLlamp',
          fw_type: 'Lamp',
          fw_ver: '1.0.0',
          ssid: 'Blynk Lamp-ABCD',
          bssid: '02:00:00:00:00:01',
          mac: '02:00:00:00:00:02',
          last_error: state.lastError,
          wifi_scan: true,
          static_ip: true,
        }),
      );
    } else if (path === '/wifi_scan.json') {
      res.end(
        JSON.stringify([{ ssid: 'HomeNet', bssid: '10:00:00:00:00:01', rssi: -50, sec: 'WPA2', ch: 6 }]),
      );
    } else if (path === '/config') {
      res.end(JSON.stringify({ status: 'ok', msg: 'Trying to connect...' }));
      onConfig(state);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  state.server = server;
  return server;
}

describe('Edgent companion against a Blynk-made device (no Tether extensions)', () => {
  let server: Server | undefined;

  afterEach(async () => {
    if (server?.listening) {
      server.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
    }
  });

  const start = async (s: Server) => {
    server = s;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(s.address() as AddressInfo).port}`;
  };

  it('reports a new last_error as its stable code (an old one does not count)', async () => {
    const address = await start(
      blynkDevice((state) => {
        setTimeout(() => (state.lastError = 701), 30);
      }),
    );
    const client = createEdgentClient({ address, allowPlaintext: true });
    const failure = await client
      .provision({ ssid: 'HomeNet', passphrase: 'wrong', token: TOKEN }, { pollMs: 10, timeoutMs: 2_000 })
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({
      code: 'WIFI_AUTH_FAILED',
      details: { edgentError: 701, ssid: 'HomeNet' },
    });
  });

  it('ends as left-config-mode when the device drops its access point', async () => {
    const address = await start(
      blynkDevice((state) => {
        setTimeout(() => {
          state.server.closeAllConnections();
          state.server.close();
        }, 20);
      }),
    );
    const client = createEdgentClient({ address, allowPlaintext: true, timeoutMs: 500 });
    const result = await client.provision(
      { ssid: 'HomeNet', passphrase: 'right', token: TOKEN },
      { pollMs: 10 },
    );
    expect(result.outcome).toBe('left-config-mode');
    expect(result.board.templateId).toBe('TMPLlamp');
  });
});
