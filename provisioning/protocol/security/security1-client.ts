/**
 * Security 1, client side (esp_prov security1.py): send our X25519 key, derive the same
 * PoP-mixed key, prove it by encrypting the device's key, and check the device's proof in turn.
 */
import { TetherError } from '../../../shared/errors.js';
import type { SessionMessage } from '../messages/session-messages.js';
import { ProtocommStatus } from '../messages/status.js';
import { AesCtrStream } from './aes-ctr-stream.js';
import { bytesEqual } from './big-bytes.js';
import type { CryptoProvider, X25519Secret } from './crypto-provider.js';
import { refusal, unexpected } from './handshake-errors.js';
import type { RandomSource } from './random-source.js';
import type { ClientSecuritySession } from './security-session.js';
import { SEC1_RANDOM_LENGTH, sec1SessionKey } from './security1-device.js';
import { X25519_KEY_LENGTH, x25519SharedSecret } from './x25519.js';

export interface Security1ClientOptions {
  pop: Uint8Array;
  random: RandomSource;
  crypto: CryptoProvider;
  now?: () => number;
}

export class Security1ClientSession implements ClientSecuritySession {
  readonly version = 1;
  readonly #options: Security1ClientOptions;
  #keys: X25519Secret | undefined;
  #stream: AesCtrStream | undefined;
  #deviceKey: Uint8Array | undefined;
  #step: 'new' | 'sent-cmd0' | 'sent-cmd1' | 'done' = 'new';

  constructor(options: Security1ClientOptions) {
    this.#options = options;
  }

  get established(): boolean {
    return this.#step === 'done';
  }

  async start(): Promise<SessionMessage> {
    this.#keys = await this.#options.crypto.x25519(this.#options.random(32));
    this.#step = 'sent-cmd0';
    return { secVer: 1, kind: 'cmd0', clientPubkey: this.#keys.publicKey };
  }

  async next(response: SessionMessage): Promise<SessionMessage | undefined> {
    const now = this.#options.now?.();
    if (this.#step === 'sent-cmd0') {
      if (response.secVer !== 1 || response.kind !== 'resp0')
        throw unexpected('security 1 command 0', `${response.kind}`);
      if (response.status !== ProtocommStatus.success)
        throw refusal(response.status, response, 'command 0', now);
      if (
        response.devicePubkey.length !== X25519_KEY_LENGTH ||
        response.deviceRandom.length !== SEC1_RANDOM_LENGTH
      ) {
        throw new TetherError(
          'PROTOCOL_ERROR',
          'The device sent a security 1 key or random of the wrong size.',
        );
      }
      const keys = this.#keys!;
      let shared: Uint8Array;
      try {
        shared = await x25519SharedSecret(keys, response.devicePubkey);
      } catch (error) {
        throw new TetherError('PROTOCOL_ERROR', 'The device sent an unusable X25519 key.', { cause: error });
      }
      const crypto = this.#options.crypto;
      const key = await sec1SessionKey(crypto, shared, this.#options.pop);
      this.#stream = await AesCtrStream.create(crypto, key, response.deviceRandom);
      this.#deviceKey = Uint8Array.from(response.devicePubkey);
      this.#step = 'sent-cmd1';
      return { secVer: 1, kind: 'cmd1', clientVerifyData: await this.#stream.apply(response.devicePubkey) };
    }
    if (this.#step === 'sent-cmd1') {
      if (response.secVer !== 1 || response.kind !== 'resp1')
        throw unexpected('security 1 command 1', `${response.kind}`);
      if (response.status !== ProtocommStatus.success)
        throw refusal(response.status, response, 'command 1', now);
      const mine = this.#keys!.publicKey;
      const check =
        response.deviceVerifyData.length === mine.length
          ? await this.#stream!.apply(response.deviceVerifyData)
          : undefined;
      if (!check || !bytesEqual(check, mine)) {
        throw new TetherError(
          'SECURITY_MISMATCH',
          'The device could not prove it holds the session key: it may not be the device you meant. Move closer to your device and try again.',
        );
      }
      this.#step = 'done';
      return undefined;
    }
    throw new TetherError('PROTOCOL_ERROR', 'The security 1 handshake is already complete.');
  }

  /** The device's public key, once known (for transcripts). */
  get devicePublicKey(): Uint8Array | undefined {
    return this.#deviceKey;
  }

  async encrypt(plaintext: Uint8Array): Promise<Uint8Array> {
    return this.#established().apply(plaintext);
  }

  async decrypt(data: Uint8Array): Promise<Uint8Array> {
    return this.#established().apply(data);
  }

  #established(): AesCtrStream {
    if (this.#step !== 'done' || !this.#stream) {
      throw new TetherError('SESSION_EXPIRED', 'No secure session with the device: establish one first.');
    }
    return this.#stream;
  }
}
