/**
 * Security 1's cipher: AES-256-CTR with the device random as the initial 128-bit counter, and ONE
 * keystream per session that both directions consume in turn (esp-idf security1.c keeps a single
 * mbedtls CTR context with its nc_off/stream block for decrypt and encrypt alike; esp_prov
 * security1.py one `cipher.encryptor()` for both). Encrypt and decrypt are the same operation.
 */
import { type Cipher, createCipheriv } from 'node:crypto';

export class AesCtrStream {
  readonly #cipher: Cipher;

  constructor(key: Uint8Array, initialCounter: Uint8Array) {
    this.#cipher = createCipheriv('aes-256-ctr', key, initialCounter);
  }

  /** XOR with the next bytes of the session's keystream. */
  apply(data: Uint8Array): Uint8Array {
    return new Uint8Array(this.#cipher.update(data));
  }
}
