/**
 * Security 2, device side (esp-idf security2.c + esp_srp.c). The device holds salt and verifier
 * only:
 *   cmd0 {username, A (384 bytes)} → resp0 {B, salt}; b is 256 random bits, B = k·v + g^b
 *   cmd1 {M1}                      → resp1 {M2, nonce = 8 random bytes || be32(1)}
 * then AES-256-GCM with K[0..32) and the counter nonce of sec_patch_ver 1. A wrong M1 is a refused
 * PoP and counts toward the lockout.
 */
import { TetherError } from '../../../shared/errors.js';
import type { SessionMessage } from '../messages/session-messages.js';
import { ProtocommStatus } from '../messages/status.js';
import { bigIntToBytes, bytesToBigInt } from './big-bytes.js';
import { GCM_KEY_LENGTH, GcmCounterCipher } from './gcm-counter-cipher.js';
import type { PopGuard } from './pop-attempt-limiter.js';
import type { RandomSource } from './random-source.js';
import type { DeviceHandshakeResult, DeviceSecuritySession } from './security-session.js';
import type { SrpVerifier } from './srp-verifier.js';
import { proofsEqual, type Srp6a } from './srp6a.js';

export const SEC2_SESSION_ID_LENGTH = 8;
/** esp_srp.c: b is 256 random bits. */
const EPHEMERAL_BYTES = 32;

type State =
  | { step: 'idle' }
  | { step: 'awaiting-cmd1'; username: Uint8Array; A: Uint8Array; B: Uint8Array; K: Uint8Array }
  | { step: 'done'; cipher: GcmCounterCipher };

export interface Security2DeviceOptions {
  credential: SrpVerifier;
  srp: Srp6a;
  guard: PopGuard;
  random: RandomSource;
}

const latin1 = new TextDecoder('latin1');

export class Security2DeviceSession implements DeviceSecuritySession {
  readonly version = 2;
  readonly #options: Security2DeviceOptions;
  readonly #v: bigint;
  #state: State = { step: 'idle' };

  constructor(options: Security2DeviceOptions) {
    this.#options = options;
    this.#v = bytesToBigInt(options.credential.verifier);
  }

  get established(): boolean {
    return this.#state.step === 'done';
  }

  async handshake(request: SessionMessage): Promise<DeviceHandshakeResult> {
    if (request.secVer !== 2) throw new TetherError('SECURITY_MISMATCH', 'This device speaks security 2.');
    if (request.kind === 'cmd0') return this.#cmd0(request.clientUsername, request.clientPubkey);
    if (request.kind === 'cmd1') return this.#cmd1(request.clientProof);
    throw new TetherError('VALIDATION_FAILED', `A device does not accept a security 2 ${request.kind}.`);
  }

  async #cmd0(username: Uint8Array, clientPubkey: Uint8Array): Promise<DeviceHandshakeResult> {
    const srp = this.#options.srp;
    // security2.c: a cmd0 in any state restarts the session.
    this.#state = { step: 'idle' };
    if (clientPubkey.length !== srp.width) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `The SRP public key A has ${clientPubkey.length} bytes, not ${srp.width}.`,
      );
    }
    if (username.length === 0 || username.length > 0xffff) {
      throw new TetherError('VALIDATION_FAILED', 'The SRP username is empty or too long.');
    }
    const retryAfterMs = this.#options.guard.retryAfterMs();
    if (retryAfterMs > 0) {
      // No B and no salt: esp_prov stops with "Failed to generate client proof!".
      return {
        response: {
          secVer: 2,
          kind: 'resp0',
          status: ProtocommStatus.tooManySessions,
          devicePubkey: new Uint8Array(0),
          deviceSalt: new Uint8Array(0),
          retryAfterMs,
        },
        event: 'locked-out',
      };
    }
    const A = bytesToBigInt(clientPubkey);
    // RFC 5054 §2.5.4: abort if A % N == 0.
    if (A % srp.N === 0n)
      throw new TetherError('VALIDATION_FAILED', 'The SRP public key A is invalid (A mod N = 0).');
    const b = bytesToBigInt(this.#options.random(EPHEMERAL_BYTES));
    const B = await srp.serverPublic(b, this.#v);
    const u = await srp.u(A, B);
    if (u === 0n) throw new TetherError('VALIDATION_FAILED', 'The SRP scrambling parameter is zero.');
    const S = srp.serverSecret(A, this.#v, u, b);
    const bBytes = bigIntToBytes(B);
    this.#state = {
      step: 'awaiting-cmd1',
      username: Uint8Array.from(username),
      A: Uint8Array.from(clientPubkey),
      B: bBytes,
      K: await srp.sessionKey(S),
    };
    return {
      response: {
        secVer: 2,
        kind: 'resp0',
        status: ProtocommStatus.success,
        devicePubkey: bBytes,
        deviceSalt: this.#options.credential.salt,
      },
      event: 'step',
    };
  }

  async #cmd1(clientProof: Uint8Array): Promise<DeviceHandshakeResult> {
    const state = this.#state;
    const retryAfterMs = this.#options.guard.retryAfterMs();
    if (retryAfterMs > 0) {
      this.#state = { step: 'idle' };
      return {
        response: {
          secVer: 2,
          kind: 'resp1',
          status: ProtocommStatus.tooManySessions,
          deviceProof: new Uint8Array(0),
          deviceNonce: new Uint8Array(0),
          retryAfterMs,
        },
        event: 'locked-out',
      };
    }
    if (state.step !== 'awaiting-cmd1') {
      throw new TetherError(
        'VALIDATION_FAILED',
        'Security 2 command 1 before command 0: start the session again.',
      );
    }
    const srp = this.#options.srp;
    const expected = await srp.clientProof(
      latin1.decode(state.username),
      this.#options.credential.salt,
      state.A,
      state.B,
      state.K,
    );
    if (!proofsEqual(clientProof, expected)) {
      this.#state = { step: 'idle' };
      const outcome = this.#options.guard.recordFailure();
      const response: SessionMessage = {
        secVer: 2,
        kind: 'resp1',
        status: ProtocommStatus.cryptoError,
        deviceProof: new Uint8Array(0),
        deviceNonce: new Uint8Array(0),
        attemptsRemaining: outcome.attemptsRemaining,
      };
      if (outcome.retryAfterMs > 0) response.retryAfterMs = outcome.retryAfterMs;
      return { response, event: 'proof-rejected' };
    }
    this.#options.guard.recordSuccess();
    const deviceProof = await srp.serverProof(state.A, expected, state.K);
    // security2.c: nonce = session id (8 random bytes) || counter, counter starting at 1.
    const deviceNonce = new Uint8Array(12);
    deviceNonce.set(this.#options.random(SEC2_SESSION_ID_LENGTH), 0);
    deviceNonce[11] = 1;
    this.#state = {
      step: 'done',
      cipher: await GcmCounterCipher.create(srp.crypto, state.K.subarray(0, GCM_KEY_LENGTH), deviceNonce, 1),
    };
    return {
      response: { secVer: 2, kind: 'resp1', status: ProtocommStatus.success, deviceProof, deviceNonce },
      event: 'established',
    };
  }

  async encrypt(plaintext: Uint8Array): Promise<Uint8Array> {
    return this.#cipher().encrypt(plaintext);
  }

  async decrypt(data: Uint8Array): Promise<Uint8Array> {
    try {
      return await this.#cipher().decrypt(data);
    } catch (error) {
      if (error instanceof TetherError && error.code === 'PROTOCOL_ERROR') {
        throw new TetherError('VALIDATION_FAILED', error.message, { cause: error });
      }
      throw error;
    }
  }

  #cipher(): GcmCounterCipher {
    if (this.#state.step !== 'done') {
      throw new TetherError('SESSION_EXPIRED', 'No secure session: establish one on prov-session first.');
    }
    return this.#state.cipher;
  }
}
