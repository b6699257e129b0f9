/**
 * The companion side of ESP-IDF unified provisioning over any ProvisioningLink. Each method is one
 * protocol step; each failure is a TetherError with a stable code, the step that failed in
 * `details.step`, and a message a person can act on. No silent downgrade: a device that offers
 * weaker security than required is refused before any secret is sent.
 */
import type { Clock } from '../../shared/clock.js';
import { SystemClock } from '../../shared/clock.js';
import { isTetherError, TetherError } from '../../shared/errors.js';
import { type Logger, silentLogger } from '../../shared/logger.js';
import type { ProvisioningLink } from '../transport/transport.js';
import { Endpoint } from './endpoints.js';
import {
  type ActivationRequest,
  type ActivationResponse,
  decodeActivationResponse,
  encodeActivationRequest,
} from './messages/activation-messages.js';
import { decodeSessionData, encodeSessionData, type SecurityVersion } from './messages/session-messages.js';
import { ProtocommStatus, statusName } from './messages/status.js';
import {
  decodeWifiConfigResponse,
  encodeWifiConfigRequest,
  setConfigRequest,
  type WifiConfigResponse,
  type WifiCredentials,
  type WifiStatus,
} from './messages/wifi-config-messages.js';
import {
  decodeWifiCtrlResponse,
  encodeWifiCtrlRequest,
  type WifiCtrlKind,
} from './messages/wifi-ctrl-messages.js';
import {
  DEFAULT_SCAN_OPTIONS,
  decodeWifiScanResponse,
  encodeWifiScanRequest,
  type ScanOptions,
  type ScanStatus,
  type WifiNetwork,
  type WifiScanRequest,
  type WifiScanResponse,
} from './messages/wifi-scan-messages.js';
import { type ProtoVersionInfo, parseProtoVersion } from './proto-version.js';
import type { CryptoProvider } from './security/crypto-provider.js';
import { popInvalidError } from './security/handshake-errors.js';
import type { RandomSource } from './security/random-source.js';
import { createClientSecuritySession } from './security/security-factory.js';
import type { ClientSecuritySession } from './security/security-session.js';

export interface ProtocommClientOptions {
  /** The weakest security this product accepts. Default 2: security 1 and 0 need an explicit opt-in. */
  minSecurity?: SecurityVersion;
  /** Accept security 2 devices with sec_patch_ver 0 (one fixed GCM nonce). Default false. */
  allowSec2PatchVer0?: boolean;
  clock?: Clock;
  logger?: Logger;
  random?: RandomSource;
  /** Default: the platform's (node:crypto under Node, WebCrypto in a browser). */
  crypto?: CryptoProvider;
}

export interface EstablishSessionOptions {
  /** The proof-of-possession code (security 1 and 2). */
  pop?: string | Uint8Array;
  /** Security to use; default: what the device advertises in proto-ver. */
  security?: SecurityVersion;
  /** Security 2 username (esp-idf: "wifiprov"). */
  username?: string;
}

export interface WaitForWifiOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

const utf8 = new TextDecoder();

function stepError(error: unknown, step: string): TetherError {
  if (isTetherError(error)) {
    if (error.details?.step === undefined) {
      return new TetherError(error.code, error.message, {
        cause: error.cause,
        details: { ...error.details, step },
      });
    }
    return error;
  }
  return new TetherError('INTERNAL', `Unexpected failure during ${step}.`, {
    cause: error,
    details: { step },
  });
}

export class ProtocommClient {
  readonly #link: ProvisioningLink;
  readonly #options: ProtocommClientOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  #version: ProtoVersionInfo | undefined;
  #session: ClientSecuritySession | undefined;

  constructor(link: ProvisioningLink, options: ProtocommClientOptions = {}) {
    this.#link = link;
    this.#options = options;
    this.#clock = options.clock ?? new SystemClock();
    this.#log = (options.logger ?? silentLogger()).child({ module: 'protocomm-client' });
  }

  /** proto-ver: what the device runs, which security it wants, what it can do. */
  async getVersion(): Promise<ProtoVersionInfo> {
    if (this.#version) return this.#version;
    try {
      // esp_prov sends a short placeholder; the device ignores the body but needs one.
      const answer = await this.#link.exchange(Endpoint.version, new TextEncoder().encode('---'));
      this.#version = parseProtoVersion(utf8.decode(answer));
      return this.#version;
    } catch (error) {
      throw stepError(error, 'get-version');
    }
  }

  get securityVersion(): SecurityVersion | undefined {
    return this.#session?.established ? this.#session.version : undefined;
  }

  /** prov-session: run the handshake. Throws SECURITY_MISMATCH, POP_INVALID or POP_LOCKED_OUT. */
  async establishSession(options: EstablishSessionOptions = {}): Promise<SecurityVersion> {
    const step = 'establish-session';
    const info = await this.getVersion();
    const advertised = info.prov.secVer;
    const security = options.security ?? advertised;
    const minimum = this.#options.minSecurity ?? 2;
    if (security === undefined) {
      throw new TetherError(
        'SECURITY_MISMATCH',
        'The device does not say which security it uses: choose the security version explicitly.',
        { details: { step } },
      );
    }
    if (advertised !== undefined && advertised < minimum) {
      throw new TetherError(
        'SECURITY_MISMATCH',
        `The device offers security ${advertised}, but this product requires security ${minimum} or better. It may be outdated firmware or not the device you meant; nothing was sent to it.`,
        { details: { step, advertised, required: minimum } },
      );
    }
    if (security < minimum || (advertised !== undefined && advertised !== security)) {
      throw new TetherError(
        'SECURITY_MISMATCH',
        `Security ${security} was requested but the device uses security ${advertised ?? 'unknown'} and this product requires ${minimum} or better.`,
        { details: { step, advertised, requested: security, required: minimum } },
      );
    }
    if (security === 2 && info.prov.secPatchVer < 1 && !this.#options.allowSec2PatchVer0) {
      throw new TetherError(
        'SECURITY_MISMATCH',
        'The device uses security 2 without per-message nonces (sec_patch_ver 0): update its firmware.',
        { details: { step, secPatchVer: info.prov.secPatchVer } },
      );
    }
    const session = createClientSecuritySession({
      version: security,
      secPatchVer: info.prov.secPatchVer,
      now: () => this.#clock.now(),
      ...(options.pop === undefined ? {} : { pop: options.pop }),
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(this.#options.random ? { random: this.#options.random } : {}),
      ...(this.#options.crypto ? { crypto: this.#options.crypto } : {}),
    });
    this.#session = undefined;
    try {
      let request: Awaited<ReturnType<typeof session.next>> = await session.start();
      while (request) {
        let answer: Uint8Array;
        try {
          answer = await this.#link.exchange(Endpoint.session, encodeSessionData(request));
        } catch (error) {
          // esp-idf devices answer a wrong proof by failing the request (HTTP 500, closed socket,
          // GATT error): at the proof step that means "PoP refused".
          const proofStep = request.secVer !== 0 && request.kind === 'cmd1';
          if (
            proofStep &&
            isTetherError(error) &&
            ['PROTOCOL_ERROR', 'DEVICE_UNREACHABLE'].includes(error.code)
          ) {
            throw popInvalidError(undefined, error);
          }
          throw error;
        }
        request = await session.next(decodeSessionData(answer));
      }
    } catch (error) {
      if (isTetherError(error) && error.code === 'POP_INVALID') this.#log.warn('proof of possession refused');
      throw stepError(error, step);
    }
    this.#session = session;
    this.#log.info({ security }, 'secure session established');
    return security;
  }

  /** prov-config get-status */
  async getWifiStatus(): Promise<WifiStatus> {
    const response = await this.#config({ kind: 'get-status' }, 'get-wifi-status');
    if (response.kind !== 'get-status') throw this.#mismatch('get-wifi-status');
    return response.wifi;
  }

  /** prov-config set-config: may be called again after a failed attempt, in the same session. */
  async setWifiConfig(credentials: WifiCredentials): Promise<void> {
    const step = 'set-wifi-config';
    let request: ReturnType<typeof setConfigRequest>;
    try {
      request = setConfigRequest(credentials);
    } catch (error) {
      throw stepError(error, step);
    }
    const response = await this.#config(request, step);
    if (response.status === ProtocommStatus.invalidArgument) {
      throw new TetherError(
        'VALIDATION_FAILED',
        'The device refused the Wi-Fi settings: the network name must be 1–32 bytes and the password at most 64 characters.',
        { details: { step } },
      );
    }
    this.#expectSuccess(response.status, step);
  }

  /** prov-config apply: the device starts joining; follow it with getWifiStatus or waitForWifi. */
  async applyWifiConfig(): Promise<void> {
    const response = await this.#config({ kind: 'apply' }, 'apply-wifi-config');
    this.#expectSuccess(response.status, 'apply-wifi-config');
  }

  /**
   * Poll the device until it has joined the network. A refused password or a missing network
   * throws WIFI_AUTH_FAILED / WIFI_NETWORK_NOT_FOUND while the session stays open, so the person can
   * correct the setting and apply again.
   */
  async waitForWifi(options: WaitForWifiOptions = {}): Promise<Extract<WifiStatus, { state: 'connected' }>> {
    const step = 'wait-for-wifi';
    const timeoutMs = options.timeoutMs ?? 60_000;
    const intervalMs = options.intervalMs ?? 1_000;
    const deadline = this.#clock.now() + timeoutMs;
    for (;;) {
      const status = await this.getWifiStatus();
      if (status.state === 'connected') return status;
      if (status.state === 'failed') {
        throw status.reason === 'network-not-found'
          ? new TetherError(
              'WIFI_NETWORK_NOT_FOUND',
              'The device cannot find that Wi-Fi network. Check the name, move the device closer to the router, and send the settings again.',
              { details: { step } },
            )
          : new TetherError(
              'WIFI_AUTH_FAILED',
              'The Wi-Fi password was refused by the router. Enter it again; the device is still waiting.',
              { details: { step } },
            );
      }
      if (this.#clock.now() >= deadline) {
        throw new TetherError(
          'TIMEOUT',
          `The device did not join Wi-Fi within ${Math.round(timeoutMs / 1000)} s.`,
          {
            details: { step, lastState: status.state },
          },
        );
      }
      await this.#clock.sleep(intervalMs);
    }
  }

  /** prov-scan start */
  async startScan(options: ScanOptions = {}): Promise<void> {
    const response = await this.#scan(
      { kind: 'start', options: { ...DEFAULT_SCAN_OPTIONS, ...options } },
      'start-scan',
    );
    this.#expectSuccess(response.status, 'start-scan');
  }

  /** prov-scan status */
  async getScanStatus(): Promise<ScanStatus> {
    const response = await this.#scan({ kind: 'status' }, 'scan-status');
    this.#expectSuccess(response.status, 'scan-status');
    if (response.kind !== 'status') throw this.#mismatch('scan-status');
    return response.scan;
  }

  /** prov-scan result: one page. */
  async getScanResults(startIndex: number, count: number): Promise<WifiNetwork[]> {
    const response = await this.#scan({ kind: 'result', startIndex, count }, 'scan-results');
    this.#expectSuccess(response.status, 'scan-results');
    if (response.kind !== 'result') throw this.#mismatch('scan-results');
    return response.networks;
  }

  /** A whole blocking scan, read in pages (esp_prov: 4 per page over BLE, 100 otherwise). */
  async scanWifi(options: ScanOptions & { pageSize?: number } = {}): Promise<WifiNetwork[]> {
    const { pageSize, ...scan } = options;
    await this.startScan({ blocking: true, ...scan });
    const status = await this.getScanStatus();
    const page = pageSize ?? (this.#link.kind === 'ble' ? 4 : 100);
    const networks: WifiNetwork[] = [];
    for (let index = 0; index < status.resultCount; index += page) {
      networks.push(...(await this.getScanResults(index, Math.min(page, status.resultCount - index))));
    }
    return networks;
  }

  /** prov-ctrl reset: forget the Wi-Fi settings sent so far. */
  ctrlReset(): Promise<void> {
    return this.#ctrl('reset');
  }

  /** prov-ctrl reprov: put the device back into provisioning. */
  ctrlReprovision(): Promise<void> {
    return this.#ctrl('reprovision');
  }

  /** tether-activation: hand over token, broker URL and template; get the device's hardware id. */
  async activate(request: ActivationRequest): Promise<{ hardwareId: string }> {
    const step = 'activate';
    const endpoint = this.#version?.tether?.activation ?? Endpoint.activation;
    const response = await this.#call(
      endpoint,
      encodeActivationRequest(request),
      step,
      decodeActivationResponse,
    );
    if (response.status === 'ok') return { hardwareId: response.hardwareId };
    throw activationError(response, step);
  }

  async close(): Promise<void> {
    this.#session = undefined;
    await this.#link.close();
  }

  #config(request: Parameters<typeof encodeWifiConfigRequest>[0], step: string): Promise<WifiConfigResponse> {
    return this.#call(Endpoint.config, encodeWifiConfigRequest(request), step, decodeWifiConfigResponse);
  }

  #scan(request: WifiScanRequest, step: string): Promise<WifiScanResponse> {
    return this.#call(Endpoint.scan, encodeWifiScanRequest(request), step, decodeWifiScanResponse);
  }

  async #ctrl(kind: WifiCtrlKind): Promise<void> {
    const step = kind === 'reset' ? 'ctrl-reset' : 'ctrl-reprovision';
    const response = await this.#call(
      Endpoint.ctrl,
      encodeWifiCtrlRequest(kind),
      step,
      decodeWifiCtrlResponse,
    );
    this.#expectSuccess(response.status, step);
  }

  async #call<T>(
    endpoint: string,
    plaintext: Uint8Array,
    step: string,
    decode: (bytes: Uint8Array) => T,
  ): Promise<T> {
    const session = this.#session;
    if (!session?.established) {
      throw new TetherError('SESSION_EXPIRED', 'No secure session with the device: establish one first.', {
        details: { step },
      });
    }
    try {
      const answer = await this.#link.exchange(endpoint, await session.encrypt(plaintext));
      return decode(await session.decrypt(answer));
    } catch (error) {
      throw stepError(error, step);
    }
  }

  #expectSuccess(status: number, step: string): void {
    if (status !== ProtocommStatus.success) {
      throw new TetherError(
        'PROTOCOL_ERROR',
        `The device could not complete ${step} (${statusName(status)}).`,
        {
          details: { step, status },
        },
      );
    }
  }

  #mismatch(step: string): TetherError {
    return new TetherError('PROTOCOL_ERROR', `The device answered ${step} with a different message.`, {
      details: { step },
    });
  }
}

function activationError(response: ActivationResponse, step: string): TetherError {
  const reason = response.message ? ` ${response.message}` : '';
  const details = { step, status: response.status };
  switch (response.status) {
    case 'template-mismatch':
      return new TetherError(
        'TEMPLATE_MISMATCH',
        `The device belongs to a different product than the one being activated.${reason}`,
        { details },
      );
    case 'invalid-argument':
      return new TetherError('VALIDATION_FAILED', `The device refused the activation data.${reason}`, {
        details,
      });
    case 'not-ready':
      return new TetherError('PROTOCOL_ERROR', `The device is not ready to be activated yet.${reason}`, {
        details,
      });
    default:
      return new TetherError('PROTOCOL_ERROR', `The device could not store the activation data.${reason}`, {
        details,
      });
  }
}
