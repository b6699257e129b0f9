/**
 * The device side of Blynk.Edgent legacy provisioning: the HTTP server a device runs on its open
 * access point in config mode (real devices: 192.168.4.1:80; the firmware-sim: loopback, port 0).
 * Routes and answers follow Edgent's ConfigMode.h; the firmware behind them is an
 * EdgentDeviceHandler. Like Edgent, /config answers at once ("Trying to connect...") and the
 * attempt runs afterwards; its outcome shows in board_info's last_error (and Tether's cfg_state).
 *
 * Every failure is an HTTP answer with a JSON status, never a crash: bad query → 400, unknown
 * path → 404, other methods → 405, a failing handler → 500.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isTetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { parseEdgentConfigQuery } from './edgent-config-query.js';
import type {
  EdgentApplyResult,
  EdgentBoardInfoJson,
  EdgentConfig,
  EdgentConfigState,
  EdgentDeviceHandler,
  EdgentStatusJson,
  EdgentWifiNetworkJson,
} from './edgent-types.js';

export interface EdgentConfigServerOptions {
  handler: EdgentDeviceHandler;
  /** Default 127.0.0.1 (a real device: 192.168.4.1). */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  logger?: Logger;
}

/** ConfigMode.h lists at most 15 networks, strongest first. */
const MAX_SCAN_RESULTS = 15;

export class EdgentConfigServer {
  readonly #options: EdgentConfigServerOptions;
  #server: Server | undefined;
  #attempt = 0;
  #state: EdgentConfigState = 'idle';
  #lastFailure = 0;

  constructor(options: EdgentConfigServerOptions) {
    this.#options = options;
  }

  /** host:port once started. */
  get address(): string {
    const info = this.#server?.address() as AddressInfo | null | undefined;
    if (!info) throw new Error('The Edgent config server is not running.');
    return info.family === 'IPv6' ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`;
  }

  get configState(): { attempt: number; state: EdgentConfigState } {
    return { attempt: this.#attempt, state: this.#state };
  }

  async start(): Promise<string> {
    if (this.#server) return this.address;
    const server = createServer((req, res) => {
      this.#route(req, res).catch((error: unknown) => {
        this.#options.logger?.warn({ err: error }, 'edgent request failed');
        if (!res.headersSent) send(res, 500, status('error', 'Internal error'));
        else res.destroy();
      });
    });
    // A config-mode device serves one phone: no keep-alive sockets lingering after stop().
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port ?? 0, this.#options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#options.logger?.debug({ address: this.address }, 'edgent config server listening');
    return this.address;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q === -1 ? raw : raw.slice(0, q);
    const query = q === -1 ? '' : raw.slice(q + 1);
    // GET only: /config and /reset act, so not even HEAD may trigger them.
    if (req.method !== 'GET') {
      res.setHeader('Allow', 'GET');
      send(res, 405, status('error', 'Only GET is supported'));
      return;
    }
    const handler = this.#options.handler;
    switch (path) {
      case '/board_info.json': {
        const info = await handler.boardInfo();
        const body: EdgentBoardInfoJson = {
          board: info.board,
          tmpl_id: info.templateId,
          fw_type: info.firmwareType,
          fw_ver: info.firmwareVersion,
          ssid: info.apSsid,
          bssid: info.apBssid,
          mac: info.mac,
          // The outcome of this boot's latest attempt is the freshest answer (a handler that threw
          // stored nothing); otherwise the firmware's stored last_error, as Edgent reports it.
          last_error: this.#state === 'failed' ? this.#lastFailure : info.lastError,
          wifi_scan: true,
          static_ip: info.staticIp ?? true,
          cfg_attempt: this.#attempt,
          cfg_state: this.#state,
        };
        send(res, 200, body);
        return;
      }
      case '/wifi_scan.json': {
        const networks = await handler.scanWifi();
        const body: EdgentWifiNetworkJson[] = networks
          .filter((n) => n.ssid.length > 0)
          .sort((a, b) => b.rssi - a.rssi)
          .slice(0, MAX_SCAN_RESULTS)
          .map((n) => ({ ssid: n.ssid, bssid: n.bssid, rssi: n.rssi, sec: n.security, ch: n.channel }));
        send(res, 200, body);
        return;
      }
      case '/config': {
        let config: EdgentConfig;
        try {
          config = parseEdgentConfigQuery(query);
        } catch (error) {
          const message = isTetherError(error) ? error.message : 'Configuration invalid';
          send(res, 400, status('error', `Configuration invalid: ${message}`));
          return;
        }
        const attempt = ++this.#attempt;
        this.#state = 'applying';
        send(res, 200, status('ok', config.save ? 'Configuration saved' : 'Trying to connect...'));
        this.#options.logger?.info(
          { ssid: config.ssid, host: config.host, port: config.portSsl ?? config.port, attempt },
          'edgent config received',
        );
        void this.#apply(config, attempt);
        return;
      }
      case '/reset': {
        await handler.resetConfig();
        this.#state = 'idle';
        send(res, 200, status('ok', 'Configuration reset'));
        return;
      }
      case '/reboot': {
        // Edgent restarts without answering; we answer first so the companion knows it was heard.
        send(res, 200, status('ok', 'Rebooting'));
        res.once('finish', () => {
          handler
            .reboot()
            .catch((error: unknown) => this.#options.logger?.warn({ err: error }, 'reboot failed'));
        });
        return;
      }
      default:
        send(res, 404, status('error', `Not found: ${path}`));
    }
  }

  async #apply(config: EdgentConfig, attempt: number): Promise<void> {
    let result: EdgentApplyResult;
    try {
      result = await this.#options.handler.applyConfig(config);
    } catch (error) {
      this.#options.logger?.warn({ err: error }, 'applying the edgent config failed');
      result = { ok: false, lastError: 704 };
    }
    if (attempt !== this.#attempt) return; // a newer /config superseded this one
    this.#state = result.ok ? 'applied' : 'failed';
    this.#lastFailure = result.ok ? 0 : result.lastError;
    this.#options.logger?.info({ attempt, result }, 'edgent config applied');
  }
}

const status = (s: EdgentStatusJson['status'], msg: string): EdgentStatusJson => ({ status: s, msg });

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}
