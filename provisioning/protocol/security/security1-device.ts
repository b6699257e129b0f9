/**
 * Security 1, device side (esp-idf security1.c):
 *   cmd0 {client_pubkey}  → resp0 {device_pubkey, device_random}
 *       key = X25519(device, client) xor SHA-256(PoP) when a PoP is set
 *       cipher = AES-256-CTR(key, counter = device_random), one stream for the session
 *   cmd1 {client_verify_data = E(device_pubkey)} → resp1 {device_verify_data = E(client_pubkey)}
 * The verify check is constant-time; a mismatch is a refused PoP and counts toward the lockout.
 */
import { TetherError } from '../../../shared/errors.js';
import type { SessionMessage } from '../messages/session-messages.js';
import { ProtocommStatus } from '../messages/status.js';
import { AesCtrStream } from './aes-ctr-stream.js';
import { bytesEqual } from './big-bytes.js';
import type { CryptoProvider } from './crypto-provider.js';
import type { PopGuard } from './pop-attempt-limiter.js';
import type { RandomSource } from './random-source.js';
import type { DeviceHandshakeResult, DeviceSecuritySession } from './security-session.js';
import { X25519_BASE_POINT, X25519_KEY_LENGTH, x25519SharedSecret } from './x25519.js';

export const SEC1_RANDOM_LENGTH = 16;

/** esp-idf security1.c: the session key is the X25519 secret, xor SHA-256(PoP) if there is a PoP. */
export async function sec1SessionKey(
  crypto: CryptoProvider,
  shared: Uint8Array,
  pop: Uint8Array,
): Promise<Uint8Array> {
  if (pop.length === 0) return Uint8Array.from(shared);
  const digest = await crypto.digest('sha256', pop);
  return shared.map((byte, i) => byte ^ digest[i]!);
}

// The X25519 base point (u = 9): a valid public key with no secret behind it. A locked-out device
// sends it so esp_prov's handshake fails at the verify step with its usual "check your PoP"
// message instead of a crash on an empty key.
const BASE_POINT = X25519_BASE_POINT;

type State =
  | { step: 'idle' }
  | { step: 'awaiting-cmd1'; devicePubkey: Uint8Array; clientPubkey: Uint8Array; stream: AesCtrStream }
  | { step: 'done'; stream: AesCtrStream };

export interface Security1DeviceOptions {
  pop: Uint8Array;
  guard: PopGuard;
  random: RandomSource;
  crypto: CryptoProvider;
}

export class Security1DeviceSession implements DeviceSecuritySession {
  readonly version = 1;
  readonly #options: Security1DeviceOptions;
  #state: State = { step: 'idle' };

  constructor(options: Security1DeviceOptions) {
    this.#options = options;
  }

  get established(): boolean {
    return this.#state.step === 'done';
  }

  async handshake(request: SessionMessage): Promise<DeviceHandshakeResult> {
    if (request.secVer !== 1) throw new TetherError('SECURITY_MISMATCH', 'This device speaks security 1.');
    if (request.kind === 'cmd0') return this.#cmd0(request.clientPubkey);
    if (request.kind === 'cmd1') return this.#cmd1(request.clientVerifyData);
    throw new TetherError('VALIDATION_FAILED', `A device does not accept a security 1 ${request.kind}.`);
  }

  async #cmd0(clientPubkey: Uint8Array): Promise<DeviceHandshakeResult> {
    // security1.c: a cmd0 in any state restarts the session.
    this.#state = { step: 'idle' };
    if (clientPubkey.length !== X25519_KEY_LENGTH) {
      throw new TetherError(
        'VALIDATION_FAILED',
        `The client public key has ${clientPubkey.length} bytes, not 32.`,
      );
    }
    const retryAfterMs = this.#options.guard.retryAfterMs();
    if (retryAfterMs > 0) {
      return {
        response: {
          secVer: 1,
          kind: 'resp0',
          status: ProtocommStatus.tooManySessions,
          devicePubkey: BASE_POINT,
          deviceRandom: new Uint8Array(SEC1_RANDOM_LENGTH),
          retryAfterMs,
        },
        event: 'locked-out',
      };
    }
    const crypto = this.#options.crypto;
    const own = await crypto.x25519(this.#options.random(32));
    const shared = await x25519SharedSecret(own, clientPubkey);
    const key = await sec1SessionKey(crypto, shared, this.#options.pop);
    const deviceRandom = this.#options.random(SEC1_RANDOM_LENGTH);
    const publicKey = own.publicKey;
    this.#state = {
      step: 'awaiting-cmd1',
      devicePubkey: publicKey,
      clientPubkey: Uint8Array.from(clientPubkey),
      stream: await AesCtrStream.create(crypto, key, deviceRandom),
    };
    return {
      response: {
        secVer: 1,
        kind: 'resp0',
        status: ProtocommStatus.success,
        devicePubkey: publicKey,
        deviceRandom,
      },
      event: 'step',
    };
  }

  async #cmd1(clientVerifyData: Uint8Array): Promise<DeviceHandshakeResult> {
    const state = this.#state;
    const retryAfterMs = this.#options.guard.retryAfterMs();
    if (retryAfterMs > 0) {
      this.#state = { step: 'idle' };
      return {
        response: {
          secVer: 1,
          kind: 'resp1',
          status: ProtocommStatus.tooManySessions,
          deviceVerifyData: new Uint8Array(0),
          retryAfterMs,
        },
        event: 'locked-out',
      };
    }
    if (state.step !== 'awaiting-cmd1') {
      throw new TetherError(
        'VALIDATION_FAILED',
        'Security 1 command 1 before command 0: start the session again.',
      );
    }
    const check =
      clientVerifyData.length === X25519_KEY_LENGTH ? await state.stream.apply(clientVerifyData) : undefined;
    if (!check || !bytesEqual(check, state.devicePubkey)) {
      this.#state = { step: 'idle' };
      const outcome = this.#options.guard.recordFailure();
      const response: SessionMessage = {
        secVer: 1,
        kind: 'resp1',
        status: ProtocommStatus.cryptoError,
        deviceVerifyData: new Uint8Array(0),
        attemptsRemaining: outcome.attemptsRemaining,
      };
      if (outcome.retryAfterMs > 0) response.retryAfterMs = outcome.retryAfterMs;
      return { response, event: 'proof-rejected' };
    }
    this.#options.guard.recordSuccess();
    const deviceVerifyData = await state.stream.apply(state.clientPubkey);
    this.#state = { step: 'done', stream: state.stream };
    return {
      response: { secVer: 1, kind: 'resp1', status: ProtocommStatus.success, deviceVerifyData },
      event: 'established',
    };
  }

  async encrypt(plaintext: Uint8Array): Promise<Uint8Array> {
    return this.#stream().apply(plaintext);
  }

  async decrypt(data: Uint8Array): Promise<Uint8Array> {
    return this.#stream().apply(data);
  }

  #stream(): AesCtrStream {
    if (this.#state.step !== 'done') {
      throw new TetherError('SESSION_EXPIRED', 'No secure session: establish one on prov-session first.');
    }
    return this.#state.stream;
  }
}
