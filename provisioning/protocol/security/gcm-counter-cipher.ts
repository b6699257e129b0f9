/**
 * Security 2's cipher: AES-256-GCM, 16-byte tag appended, no AAD. With sec_patch_ver 1 the 12-byte
 * nonce is the device's 8-byte session id followed by a 4-byte big-endian counter that starts at 1
 * and is incremented after every successful encrypt AND decrypt, on both sides, so each message of
 * the session has its own nonce (esp-idf security2.c sec2_gcm_iv_counter_increment; esp_prov
 * security2.py _increment_nonce). The device decrypts request n with counter c and encrypts its
 * answer with c + 1; the client does the mirror image. Patch 0 devices reuse one nonce (insecure).
 *
 * Operations run one after another in call order: the nonce of one depends on the outcome of the
 * one before (a failed decrypt leaves the counter where it was), and two at once must never share
 * a nonce.
 */
import { TetherError } from '../../../shared/errors.js';
import type { AesGcmKey, CryptoProvider } from './crypto-provider.js';

export const GCM_NONCE_LENGTH = 12;
export const GCM_TAG_LENGTH = 16;
export const GCM_KEY_LENGTH = 32;

export class GcmCounterCipher {
  readonly #key: AesGcmKey;
  readonly #nonce: Uint8Array;
  readonly #increment: boolean;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(key: AesGcmKey, nonce: Uint8Array, secPatchVer: 0 | 1) {
    this.#key = key;
    this.#nonce = Uint8Array.from(nonce);
    this.#increment = secPatchVer === 1;
  }

  static async create(
    crypto: CryptoProvider,
    key: Uint8Array,
    nonce: Uint8Array,
    secPatchVer: 0 | 1 = 1,
  ): Promise<GcmCounterCipher> {
    if (key.length !== GCM_KEY_LENGTH || nonce.length !== GCM_NONCE_LENGTH) {
      throw new TetherError('PROTOCOL_ERROR', 'Security 2 needs a 32-byte key and a 12-byte nonce.', {
        details: { keyLength: key.length, nonceLength: nonce.length },
      });
    }
    return new GcmCounterCipher(await crypto.aesGcmKey(key), nonce, secPatchVer);
  }

  /** The nonce the next operation will use (for tests and transcripts), once earlier ones finished. */
  get nextNonce(): Uint8Array {
    return Uint8Array.from(this.#nonce);
  }

  encrypt(plaintext: Uint8Array): Promise<Uint8Array> {
    return this.#inTurn(async () => {
      const sealed = await this.#key.seal(Uint8Array.from(this.#nonce), plaintext);
      this.#advance();
      return sealed;
    });
  }

  /** Rejects with PROTOCOL_ERROR when the tag does not verify; the counter then stays where it was. */
  decrypt(data: Uint8Array): Promise<Uint8Array> {
    return this.#inTurn(async () => {
      if (data.length < GCM_TAG_LENGTH) {
        throw new TetherError(
          'PROTOCOL_ERROR',
          'An encrypted message is shorter than its authentication tag.',
        );
      }
      let plain: Uint8Array;
      try {
        plain = await this.#key.open(Uint8Array.from(this.#nonce), data);
      } catch (error) {
        throw new TetherError(
          'PROTOCOL_ERROR',
          'An encrypted message failed authentication: it was altered, or the session keys differ.',
          { cause: error },
        );
      }
      this.#advance();
      return plain;
    });
  }

  #inTurn<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(operation);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #advance(): void {
    if (!this.#increment) return;
    const view = new DataView(this.#nonce.buffer, this.#nonce.byteOffset, this.#nonce.byteLength);
    const counter = view.getUint32(8, false);
    if (counter === 0xffffffff) {
      throw new TetherError('SESSION_EXPIRED', 'The session has used all its nonces: start a new session.');
    }
    view.setUint32(8, counter + 1, false);
  }
}
