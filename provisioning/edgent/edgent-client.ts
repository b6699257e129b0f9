/**
 * The companion side of Blynk.Edgent legacy provisioning: read the board, list the networks the
 * device sees, send Wi-Fi credentials and the token with /config, and follow the attempt.
 *
 * The channel is plaintext HTTP on an open access point: anyone in radio range can read the Wi-Fi
 * password and the device token. So the client refuses to exist unless the product opted in
 * (`allowPlaintext`, SECURITY_MISMATCH otherwise) and always carries and logs a warning.
 */
import { request as httpRequest } from 'node:http';
import { type Clock, SystemClock } from '../../shared/clock.js';
import { isTetherError, TetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { buildEdgentConfigQuery } from './edgent-config-query.js';
import {
  type EdgentBoardInfoJson,
  type EdgentConfig,
  type EdgentConfigState,
  type EdgentStatusJson,
  type EdgentWifiNetwork,
  type EdgentWifiNetworkJson,
  edgentErrorToTetherError,
} from './edgent-types.js';

export const EDGENT_DEFAULT_ADDRESS = '192.168.4.1:80';

export const EDGENT_PLAINTEXT_WARNING =
  'Blynk.Edgent provisioning is not encrypted: anyone in radio range of the device access point can read ' +
  'the Wi-Fi password and the device token. Use secure provisioning where the device supports it.';

export interface EdgentClientOptions {
  /** host:port of the device (default 192.168.4.1:80, Edgent's WIFI_AP_IP). */
  address?: string;
  /** The product's opt-in to plaintext provisioning. Without it the client refuses to start. */
  allowPlaintext: boolean;
  /** One request (default 10 s). Scans get at least 25 s: Edgent waits up to 20 s for its radio. */
  timeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface EdgentBoardInfo {
  board: string;
  templateId: string;
  firmwareType: string;
  firmwareVersion: string;
  /** The device's own access point. */
  apSsid: string;
  apBssid: string;
  mac: string;
  lastError: number;
  wifiScan: boolean;
  staticIp: boolean;
  /** Present on Tether devices only. */
  configAttempt?: number;
  configState?: EdgentConfigState;
}

/** What is known after /config was accepted. */
export type EdgentOutcome =
  /** A Tether device reports that it joined Wi-Fi and reached the cloud. */
  | { outcome: 'applied' }
  /** The access point went away: the device left config mode to try; the gateway confirms activation. */
  | { outcome: 'left-config-mode' };

export interface EdgentProvisionResult {
  outcome: EdgentOutcome['outcome'];
  board: EdgentBoardInfo;
  /** Always the plaintext warning: the caller shows it to the person. */
  warning: string;
}

export interface EdgentWaitOptions {
  timeoutMs?: number;
  pollMs?: number;
}

interface Answer {
  status: number;
  body: unknown;
}

export class EdgentClient {
  readonly warning = EDGENT_PLAINTEXT_WARNING;
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;

  constructor(options: EdgentClientOptions) {
    if (options.allowPlaintext !== true) {
      throw new TetherError(
        'SECURITY_MISMATCH',
        'This product does not allow plaintext (Blynk.Edgent) provisioning; use secure provisioning.',
      );
    }
    const address = options.address ?? EDGENT_DEFAULT_ADDRESS;
    const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(address.trim());
    const port = Number(match?.[3] ?? 80);
    const host = match?.[1] ?? match?.[2];
    if (!host || port < 1 || port > 65535) {
      throw new TetherError('VALIDATION_FAILED', `"${address}" is not a host:port address.`);
    }
    this.#host = host;
    this.#port = port;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#clock = options.clock ?? new SystemClock();
    this.#logger = options.logger;
    this.#logger?.warn(EDGENT_PLAINTEXT_WARNING);
  }

  async boardInfo(): Promise<EdgentBoardInfo> {
    const { body } = await this.#expectOk('/board_info.json');
    return parseBoardInfo(body);
  }

  /** Networks the device sees, strongest first. */
  async scanWifi(): Promise<EdgentWifiNetwork[]> {
    const { body } = await this.#expectOk('/wifi_scan.json', Math.max(this.#timeoutMs, 25_000));
    if (!Array.isArray(body)) throw protocol('wifi_scan.json is not a list.');
    return body.map((n: Partial<EdgentWifiNetworkJson>) => {
      if (typeof n?.ssid !== 'string' || typeof n.rssi !== 'number')
        throw protocol('wifi_scan.json has a bad entry.');
      return {
        ssid: n.ssid,
        bssid: String(n.bssid ?? ''),
        rssi: n.rssi,
        security: String(n.sec ?? 'unknown'),
        channel: Number(n.ch ?? 0),
      };
    });
  }

  /** Send /config. Resolves when the device accepted it (it then tries in the background). */
  async configure(config: EdgentConfig): Promise<EdgentStatusJson> {
    const query = buildEdgentConfigQuery(config); // the device's own rules, checked before sending
    const answer = await this.#get(`/config?${query}`);
    const body = answer.body as Partial<EdgentStatusJson> | undefined;
    if (answer.status === 200 && body?.status === 'ok') return { status: 'ok', msg: String(body.msg ?? '') };
    throw new TetherError(
      'VALIDATION_FAILED',
      `The device refused the configuration: ${body?.msg ?? answer.status}.`,
      {
        details: { httpStatus: answer.status },
      },
    );
  }

  /**
   * Follow the attempt /config started. A Tether device reports it through cfg_state; any device
   * that leaves config mode (its access point goes away) ends the wait as 'left-config-mode'.
   * A failure reported by the device is thrown as its stable TetherError.
   */
  async waitForOutcome(
    attempt: {
      configAttempt?: number;
      ssid?: string;
      scannedSsids?: readonly string[];
      baselineLastError?: number;
    },
    options: EdgentWaitOptions = {},
  ): Promise<EdgentOutcome> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = this.#clock.now() + timeoutMs;
    const context = {
      ...(attempt.ssid === undefined ? {} : { ssid: attempt.ssid }),
      ...(attempt.scannedSsids === undefined ? {} : { scannedSsids: attempt.scannedSsids }),
    };
    for (;;) {
      let board: EdgentBoardInfo;
      try {
        board = await this.boardInfo();
      } catch (error) {
        if (isTetherError(error) && (error.code === 'DEVICE_UNREACHABLE' || error.code === 'TIMEOUT')) {
          return { outcome: 'left-config-mode' };
        }
        throw error;
      }
      if (board.configState !== undefined && board.configAttempt !== undefined) {
        const ours = attempt.configAttempt === undefined || board.configAttempt >= attempt.configAttempt;
        if (ours && board.configState === 'applied') return { outcome: 'applied' };
        if (ours && board.configState === 'failed') {
          throw (
            edgentErrorToTetherError(board.lastError, context) ??
            new TetherError('PROTOCOL_ERROR', 'The device reports a failed attempt without an error code.')
          );
        }
      } else if (board.lastError !== 0 && board.lastError !== (attempt.baselineLastError ?? 0)) {
        throw edgentErrorToTetherError(board.lastError, context)!;
      }
      if (this.#clock.now() >= deadline) {
        throw new TetherError('TIMEOUT', `The device did not finish joining Wi-Fi within ${timeoutMs} ms.`);
      }
      await this.#clock.sleep(options.pollMs ?? 500);
    }
  }

  /**
   * The whole flow: board info, the device's scan (to tell a wrong password from a missing
   * network), /config, then the outcome. Throws the stable code of whatever failed.
   */
  async provision(
    config: Omit<EdgentConfig, 'save'> & { save?: boolean },
    options: EdgentWaitOptions = {},
  ): Promise<EdgentProvisionResult> {
    const board = await this.boardInfo();
    let scannedSsids: string[] | undefined;
    if (board.wifiScan) {
      scannedSsids = (await this.scanWifi().catch(() => undefined))?.map((n) => n.ssid);
    }
    await this.configure({ ...config, save: config.save ?? false });
    const attempt: Parameters<EdgentClient['waitForOutcome']>[0] = {
      ssid: config.ssid,
      baselineLastError: board.lastError,
    };
    if (board.configAttempt !== undefined) attempt.configAttempt = board.configAttempt + 1;
    if (scannedSsids) attempt.scannedSsids = scannedSsids;
    const { outcome } = await this.waitForOutcome(attempt, options);
    return { outcome, board, warning: this.warning };
  }

  /** The device's stored failure, if any, as a stable error (after it came back to config mode). */
  async lastFailure(
    context: { ssid?: string; scannedSsids?: readonly string[] } = {},
  ): Promise<TetherError | undefined> {
    const board = await this.boardInfo();
    return edgentErrorToTetherError(board.lastError, context);
  }

  async reset(): Promise<void> {
    await this.#expectOk('/reset');
  }

  /** Edgent restarts without answering: a dropped connection counts as done. */
  async reboot(): Promise<void> {
    try {
      await this.#expectOk('/reboot');
    } catch (error) {
      if (isTetherError(error) && error.code === 'DEVICE_UNREACHABLE' && error.details?.afterConnect) return;
      throw error;
    }
  }

  async #expectOk(path: string, timeoutMs?: number): Promise<Answer> {
    const answer = await this.#get(path, timeoutMs);
    if (answer.status !== 200) {
      const msg = (answer.body as Partial<EdgentStatusJson> | undefined)?.msg;
      throw protocol(`${path} answered ${answer.status}${msg ? `: ${msg}` : ''}.`);
    }
    return answer;
  }

  #get(path: string, timeoutMs = this.#timeoutMs): Promise<Answer> {
    const where = `${this.#host}:${this.#port}`;
    return new Promise<Answer>((resolve, reject) => {
      let connected = false;
      const timer = this.#clock.setTimeout(() => {
        req.destroy(
          new TetherError('TIMEOUT', `The device at ${where} did not answer within ${timeoutMs} ms.`),
        );
      }, timeoutMs);
      const req = httpRequest(
        {
          host: this.#host,
          port: this.#port,
          path,
          method: 'GET',
          agent: false, // one connection per request, closed after: nothing lingers
          headers: { Connection: 'close', Accept: 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > 64 * 1024) req.destroy(protocol('The device answer is too large.'));
            else chunks.push(chunk);
          });
          res.on('end', () => {
            this.#clock.clearTimeout(timer);
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
            } catch (error) {
              reject(protocol(`${path} did not answer JSON.`, error));
            }
          });
          res.on('error', () => undefined); // req's 'error' reports it
        },
      );
      req.on('socket', (socket) => socket.once('connect', () => (connected = true)));
      req.on('error', (error: NodeJS.ErrnoException) => {
        this.#clock.clearTimeout(timer);
        if (isTetherError(error)) reject(error);
        else {
          reject(
            new TetherError(
              'DEVICE_UNREACHABLE',
              `Cannot reach the device at ${where} (${error.code ?? error.message}).`,
              {
                cause: error,
                details: { address: where, afterConnect: connected },
              },
            ),
          );
        }
      });
      req.end();
    });
  }
}

/** Create a client for a product; refuses (SECURITY_MISMATCH) unless the product allows plaintext. */
export function createEdgentClient(options: EdgentClientOptions): EdgentClient {
  return new EdgentClient(options);
}

const protocol = (message: string, cause?: unknown): TetherError =>
  new TetherError('PROTOCOL_ERROR', message, cause === undefined ? {} : { cause });

function parseBoardInfo(body: unknown): EdgentBoardInfo {
  const b = body as Partial<EdgentBoardInfoJson> | undefined;
  if (!b || typeof b !== 'object' || typeof b.last_error !== 'number' || typeof b.tmpl_id !== 'string') {
    throw protocol('board_info.json is not an Edgent board description.');
  }
  const info: EdgentBoardInfo = {
    board: String(b.board ?? ''),
    templateId: b.tmpl_id,
    firmwareType: String(b.fw_type ?? ''),
    firmwareVersion: String(b.fw_ver ?? ''),
    apSsid: String(b.ssid ?? ''),
    apBssid: String(b.bssid ?? ''),
    mac: String(b.mac ?? ''),
    lastError: b.last_error,
    wifiScan: b.wifi_scan === true,
    staticIp: b.static_ip === true,
  };
  if (typeof b.cfg_attempt === 'number') info.configAttempt = b.cfg_attempt;
  if (
    b.cfg_state === 'idle' ||
    b.cfg_state === 'applying' ||
    b.cfg_state === 'applied' ||
    b.cfg_state === 'failed'
  ) {
    info.configState = b.cfg_state;
  }
  return info;
}
