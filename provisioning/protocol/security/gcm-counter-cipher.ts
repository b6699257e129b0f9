/**
 * Security 2's cipher: AES-256-GCM, 16-byte tag appended, no AAD. With sec_patch_ver 1 the 12-byte
 * nonce is the device's 8-byte session id followed by a 4-byte big-endian counter that starts at 1
 * and is incremented after every successful encrypt AND decrypt, on both sides, so each message of
 * the session has its own nonce (esp-idf security2.c sec2_gcm_iv_counter_increment; esp_prov
 * security2.py _increment_nonce). The device decrypts request n with counter c and encrypts its
 * answer with c + 1; the client does the mirror image. Patch 0 devices reuse one nonce (insecure).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { TetherError } from '../../../shared/errors.js';

export const GCM_NONCE_LENGTH = 12;
export const GCM_TAG_LENGTH = 16;
export const GCM_KEY_LENGTH = 32;

export class GcmCounterCipher {
  readonly #key: Uint8Array;
  readonly #nonce: Uint8Array;
  readonly #increment: boolean;

  constructor(key: Uint8Array, nonce: Uint8Array, secPatchVer: 0 | 1 = 1) {
    if (key.length !== GCM_KEY_LENGTH || nonce.length !== GCM_NONCE_LENGTH) {
      throw new TetherError('PROTOCOL_ERROR', 'Security 2 needs a 32-byte key and a 12-byte nonce.', {
        details: { keyLength: key.length, nonceLength: nonce.length },
      });
    }
    this.#key = Uint8Array.from(key);
    this.#nonce = Uint8Array.from(nonce);
    this.#increment = secPatchVer === 1;
  }

  /** The nonce the next operation will use (for tests and transcripts). */
  get nextNonce(): Uint8Array {
    return Uint8Array.from(this.#nonce);
  }

  encrypt(plaintext: Uint8Array): Uint8Array {
    const cipher = createCipheriv('aes-256-gcm', this.#key, this.#nonce, { authTagLength: GCM_TAG_LENGTH });
    const out = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    this.#advance();
    return new Uint8Array(out);
  }

  /** Throws PROTOCOL_ERROR when the tag does not verify; the counter then stays where it was. */
  decrypt(data: Uint8Array): Uint8Array {
    if (data.length < GCM_TAG_LENGTH) {
      throw new TetherError('PROTOCOL_ERROR', 'An encrypted message is shorter than its authentication tag.');
    }
    const body = data.subarray(0, data.length - GCM_TAG_LENGTH);
    const tag = data.subarray(data.length - GCM_TAG_LENGTH);
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, this.#nonce, {
        authTagLength: GCM_TAG_LENGTH,
      });
      decipher.setAuthTag(tag);
      plain = Buffer.concat([decipher.update(body), decipher.final()]);
    } catch (error) {
      throw new TetherError(
        'PROTOCOL_ERROR',
        'An encrypted message failed authentication: it was altered, or the session keys differ.',
        { cause: error },
      );
    }
    this.#advance();
    return new Uint8Array(plain);
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
