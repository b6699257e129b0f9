/**
 * Security 1's cipher: AES-256-CTR with the device random as the initial 128-bit counter, and ONE
 * keystream per session that both directions consume in turn (esp-idf security1.c keeps a single
 * mbedtls CTR context with its nc_off/stream block for decrypt and encrypt alike; esp_prov
 * security1.py one `cipher.encryptor()` for both). Encrypt and decrypt are the same operation.
 *
 * The provider's AES-CTR keeps no state (WebCrypto cannot), so the stream does: it counts the bytes
 * used so far, starts each message at counter = initial + ⌊offset / 16⌋ and drops the offset mod 16
 * keystream bytes already spent from that block. Positions are taken in call order, before any
 * await, so the keystream is consumed in the order messages are sent.
 */
import { bigIntToPaddedBytes, bytesToBigInt } from './big-bytes.js';
import type { AesCtrKey, CryptoProvider } from './crypto-provider.js';

const BLOCK = 16;
const COUNTER_SPACE = 1n << 128n;

export class AesCtrStream {
  readonly #key: AesCtrKey;
  readonly #initial: bigint;
  #offset = 0;

  private constructor(key: AesCtrKey, initialCounter: Uint8Array) {
    this.#key = key;
    this.#initial = bytesToBigInt(initialCounter);
  }

  static async create(
    crypto: CryptoProvider,
    key: Uint8Array,
    initialCounter: Uint8Array,
  ): Promise<AesCtrStream> {
    return new AesCtrStream(await crypto.aesCtrKey(key), initialCounter);
  }

  /** XOR with the next bytes of the session's keystream. */
  async apply(data: Uint8Array): Promise<Uint8Array> {
    const start = this.#offset;
    this.#offset += data.length;
    const skip = start % BLOCK;
    const counter = (this.#initial + BigInt(Math.floor(start / BLOCK))) % COUNTER_SPACE;
    const input = new Uint8Array(skip + data.length);
    input.set(data, skip);
    const out = await this.#key.xor(bigIntToPaddedBytes(counter, BLOCK), input);
    return out.subarray(skip);
  }
}
