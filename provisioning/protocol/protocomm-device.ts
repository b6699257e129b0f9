/**
 * The device side of ESP-IDF unified provisioning, as an EndpointHandler any transport can serve
 * (SoftAP HTTP, BLE GATT, the in-memory link). proto-ver and prov-session travel in the clear;
 * every other endpoint is decrypted and encrypted with the session's security. One security
 * session per transport session id; a PoP limiter shared by all of them.
 *
 * Beyond esp-idf: a failed Wi-Fi attempt does not end the session — the companion may send
 * corrected credentials and apply again; and wrong PoPs lock the device out for a while.
 */
import type { Clock } from '../../shared/clock.js';
import { SystemClock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import { type Logger, silentLogger } from '../../shared/logger.js';
import type { EndpointHandler } from '../transport/transport.js';
import { handleActivation, handleCustomDataActivation } from './device/activation-endpoint.js';
import { handleConfig } from './device/config-endpoint.js';
import { handleCtrl } from './device/ctrl-endpoint.js';
import { handleScan } from './device/scan-endpoint.js';
import type {
  ActivationHandler,
  ControlHandler,
  WifiConfigHandler,
  WifiScanHandler,
} from './device-handlers.js';
import { Endpoint } from './endpoints.js';
import { decodeSessionData, encodeSessionData } from './messages/session-messages.js';
import { buildProtoVersion } from './proto-version.js';
import type { CryptoProvider } from './security/crypto-provider.js';
import { PopAttemptLimiter, type PopLockoutPolicy } from './security/pop-attempt-limiter.js';
import type { RandomSource } from './security/random-source.js';
import {
  createDeviceSecuritySession,
  type DeviceSecurityConfig,
  popBytes,
} from './security/security-factory.js';
import type { DeviceSecuritySession } from './security/security-session.js';

export interface ProtocommDeviceOptions {
  security: DeviceSecurityConfig;
  /** The template this device is made from; advertised in proto-ver and checked on activation. */
  templateId: string;
  wifi: WifiConfigHandler;
  scan?: WifiScanHandler;
  control?: ControlHandler;
  activation?: ActivationHandler;
  /** Wrong-PoP lockout: 5 refused proofs → 5 minutes by default. */
  lockout?: Partial<PopLockoutPolicy>;
  clock?: Clock;
  logger?: Logger;
  random?: RandomSource;
  /** Default: the platform's (node:crypto under Node). */
  crypto?: CryptoProvider;
  /** Security sessions kept at once (oldest dropped first). Default 4. */
  maxSessions?: number;
}

interface SessionSlot {
  security: DeviceSecuritySession;
  /**
   * Requests of one session, handshake steps included, run one after another: each step builds on
   * the state the one before left, and the security 2 nonce counter depends on order.
   */
  queue: Promise<unknown>;
}

export class ProtocommDevice implements EndpointHandler {
  readonly endpoints: readonly string[];
  readonly #options: ProtocommDeviceOptions;
  readonly #limiter: PopAttemptLimiter;
  readonly #log: Logger;
  readonly #sessions = new Map<string, SessionSlot>();
  readonly #version: Uint8Array;

  constructor(options: ProtocommDeviceOptions) {
    this.#options = options;
    this.#limiter = new PopAttemptLimiter(options.clock ?? new SystemClock(), options.lockout);
    this.#log = (options.logger ?? silentLogger()).child({ module: 'protocomm-device' });
    const endpoints: string[] = [Endpoint.version, Endpoint.session, Endpoint.config];
    if (options.scan) endpoints.push(Endpoint.scan);
    if (options.control) endpoints.push(Endpoint.ctrl);
    if (options.activation) endpoints.push(Endpoint.activation, Endpoint.customData);
    this.endpoints = endpoints;
    const security = options.security;
    this.#version = new TextEncoder().encode(
      buildProtoVersion({
        secVer: security.version,
        noPop: security.version === 1 && popBytes(security.pop).length === 0,
        wifiScan: options.scan !== undefined,
        templateId: options.templateId,
        activation: options.activation !== undefined,
      }),
    );
  }

  /** Milliseconds until the device accepts a new PoP attempt (0 when not locked out). */
  get lockedOutForMs(): number {
    return this.#limiter.retryAfterMs();
  }

  async handle(endpoint: string, request: Uint8Array, sessionId: string): Promise<Uint8Array> {
    if (endpoint === Endpoint.version) return this.#version;
    if (!this.endpoints.includes(endpoint)) {
      throw new TetherError('NOT_FOUND', `This device has no "${endpoint}" endpoint.`, {
        details: { endpoint },
      });
    }
    if (endpoint === Endpoint.session) return this.#handshake(request, sessionId);
    const slot = this.#sessions.get(sessionId);
    if (!slot?.security.established) {
      throw new TetherError(
        'SESSION_EXPIRED',
        'No secure session on this link: establish one on prov-session first.',
        {
          details: { endpoint },
        },
      );
    }
    return this.#inTurn(slot, () => this.#encrypted(slot.security, endpoint, request));
  }

  #inTurn<T>(slot: SessionSlot, work: () => Promise<T>): Promise<T> {
    const run = slot.queue.then(work);
    slot.queue = run.catch(() => {});
    return run;
  }

  closeSession(sessionId: string): void {
    if (this.#sessions.delete(sessionId)) this.#log.debug('session closed');
  }

  async #handshake(request: Uint8Array, sessionId: string): Promise<Uint8Array> {
    let message: ReturnType<typeof decodeSessionData>;
    try {
      message = decodeSessionData(request);
    } catch (error) {
      throw new TetherError('VALIDATION_FAILED', 'The handshake message is malformed.', { cause: error });
    }
    const version = this.#options.security.version;
    if (message.secVer !== version) {
      throw new TetherError(
        'SECURITY_MISMATCH',
        `This device uses security ${version}; the companion asked for security ${message.secVer}.`,
        { details: { device: version, requested: message.secVer } },
      );
    }
    let slot = this.#sessions.get(sessionId);
    if (!slot) {
      const deps = {
        guard: this.#limiter,
        ...(this.#options.random ? { random: this.#options.random } : {}),
        ...(this.#options.crypto ? { crypto: this.#options.crypto } : {}),
      };
      slot = {
        security: createDeviceSecuritySession(this.#options.security, deps),
        queue: Promise.resolve(),
      };
      this.#sessions.set(sessionId, slot);
      const max = this.#options.maxSessions ?? 4;
      for (const id of this.#sessions.keys()) {
        if (this.#sessions.size <= max) break;
        this.#sessions.delete(id);
      }
    }
    const security = slot.security;
    const { response, event } = await this.#inTurn(slot, () => security.handshake(message));
    if (event === 'established') this.#log.info({ security: version }, 'secure session established');
    if (event === 'proof-rejected') {
      this.#log.warn({ attemptsRemaining: response.attemptsRemaining }, 'proof of possession refused');
    }
    if (event === 'locked-out')
      this.#log.warn({ retryAfterMs: response.retryAfterMs }, 'refused: PoP lockout');
    return encodeSessionData(response);
  }

  async #encrypted(
    security: DeviceSecuritySession,
    endpoint: string,
    request: Uint8Array,
  ): Promise<Uint8Array> {
    const plaintext = await security.decrypt(request);
    try {
      return await security.encrypt(await this.#route(endpoint, plaintext));
    } catch (error) {
      // A request that decrypts but does not parse is the companion's fault: 400, not 502.
      if (error instanceof TetherError && error.code === 'PROTOCOL_ERROR') {
        throw new TetherError('VALIDATION_FAILED', error.message, { cause: error, details: { endpoint } });
      }
      throw error;
    }
  }

  async #route(endpoint: string, plaintext: Uint8Array): Promise<Uint8Array> {
    const log = this.#log;
    const options = this.#options;
    let answer: Uint8Array;
    switch (endpoint) {
      case Endpoint.config:
        answer = await handleConfig(options.wifi, plaintext, log);
        break;
      case Endpoint.scan:
        answer = await handleScan(options.scan!, plaintext, log);
        break;
      case Endpoint.ctrl:
        answer = await handleCtrl(options.control!, plaintext, log);
        break;
      case Endpoint.activation:
        answer = await handleActivation(options.activation!, options.templateId, plaintext, log);
        break;
      case Endpoint.customData:
        answer = await handleCustomDataActivation(options.activation!, options.templateId, plaintext, log);
        break;
      default:
        throw new TetherError('NOT_FOUND', `This device has no "${endpoint}" endpoint.`);
    }
    return answer;
  }
}
