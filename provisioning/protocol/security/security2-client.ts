/**
 * Security 2, client side (esp_prov security2.py + srp6a.py): SRP6a with the PoP as password and
 * "wifiprov" as username, then AES-256-GCM keyed with the first 32 bytes of K.
 */
import { TetherError } from '../../../shared/errors.js';
import type { SessionMessage } from '../messages/session-messages.js';
import { ProtocommStatus } from '../messages/status.js';
import { bigIntToPaddedBytes, bytesToBigInt, stripLeadingZeros } from './big-bytes.js';
import { GCM_KEY_LENGTH, GCM_NONCE_LENGTH, GcmCounterCipher } from './gcm-counter-cipher.js';
import { refusal, unexpected } from './handshake-errors.js';
import type { RandomSource } from './random-source.js';
import type { ClientSecuritySession } from './security-session.js';
import { proofsEqual, SEC2_USERNAME, type Srp6a } from './srp6a.js';

export interface Security2ClientOptions {
  pop: Uint8Array;
  username?: string;
  /** Carries the crypto provider: its hashes, powers and AES-GCM key. */
  srp: Srp6a;
  random: RandomSource;
  /** From proto-ver's sec_patch_ver: 1 increments the nonce counter (0 is for old firmware). */
  secPatchVer: 0 | 1;
  now?: () => number;
}

const EPHEMERAL_BYTES = 32;
const utf8 = new TextEncoder();

export class Security2ClientSession implements ClientSecuritySession {
  readonly version = 2;
  readonly #options: Security2ClientOptions;
  readonly #username: string;
  #a = 0n;
  #A: Uint8Array = new Uint8Array(0);
  #expectedM2: Uint8Array | undefined;
  #K: Uint8Array | undefined;
  #cipher: GcmCounterCipher | undefined;
  #step: 'new' | 'sent-cmd0' | 'sent-cmd1' | 'done' = 'new';

  constructor(options: Security2ClientOptions) {
    this.#options = options;
    this.#username = options.username ?? SEC2_USERNAME;
  }

  get established(): boolean {
    return this.#step === 'done';
  }

  async start(): Promise<SessionMessage> {
    const srp = this.#options.srp;
    // srp6a.py: a is 256 random bits with the top bit set, re-rolled until A fills len(N) bytes,
    // because the device hashes A exactly as received.
    for (let attempt = 0; ; attempt++) {
      const bytes = this.#options.random(EPHEMERAL_BYTES);
      bytes[0]! |= 0x80;
      const a = bytesToBigInt(bytes);
      const A = srp.clientPublic(a);
      if (A.toString(16).length > (srp.width - 1) * 2 || attempt > 1000) {
        this.#a = a;
        this.#A = bigIntToPaddedBytes(A, srp.width);
        break;
      }
    }
    this.#step = 'sent-cmd0';
    return { secVer: 2, kind: 'cmd0', clientUsername: utf8.encode(this.#username), clientPubkey: this.#A };
  }

  async next(response: SessionMessage): Promise<SessionMessage | undefined> {
    const now = this.#options.now?.();
    const srp = this.#options.srp;
    if (this.#step === 'sent-cmd0') {
      if (response.secVer !== 2 || response.kind !== 'resp0')
        throw unexpected('security 2 command 0', response.kind);
      if (response.status !== ProtocommStatus.success)
        throw refusal(response.status, response, 'command 0', now);
      const bBytes = stripLeadingZeros(response.devicePubkey);
      const B = bytesToBigInt(bBytes);
      // RFC 5054 §2.6: abort if B % N == 0; and u must not be 0.
      if (B % srp.N === 0n)
        throw new TetherError('PROTOCOL_ERROR', 'The device sent an invalid SRP public key.');
      const A = bytesToBigInt(this.#A);
      const u = await srp.u(A, B);
      if (u === 0n)
        throw new TetherError('PROTOCOL_ERROR', 'The SRP scrambling parameter is zero: try again.');
      const salt = response.deviceSalt;
      const x = await srp.x(salt, this.#username, this.#options.pop);
      const K = await srp.sessionKey(await srp.clientSecret(B, this.#a, u, x));
      const M1 = await srp.clientProof(this.#username, salt, this.#A, bBytes, K);
      this.#expectedM2 = await srp.serverProof(this.#A, M1, K);
      this.#K = K;
      this.#step = 'sent-cmd1';
      return { secVer: 2, kind: 'cmd1', clientProof: M1 };
    }
    if (this.#step === 'sent-cmd1') {
      if (response.secVer !== 2 || response.kind !== 'resp1')
        throw unexpected('security 2 command 1', response.kind);
      if (response.status !== ProtocommStatus.success)
        throw refusal(response.status, response, 'command 1', now);
      if (!proofsEqual(response.deviceProof, this.#expectedM2!)) {
        throw new TetherError(
          'SECURITY_MISMATCH',
          'The device could not prove it knows the proof of possession: it may not be the device you meant.',
        );
      }
      if (response.deviceNonce.length !== GCM_NONCE_LENGTH) {
        throw new TetherError(
          'PROTOCOL_ERROR',
          `The device sent a ${response.deviceNonce.length}-byte nonce, not 12.`,
        );
      }
      this.#cipher = await GcmCounterCipher.create(
        srp.crypto,
        this.#K!.subarray(0, GCM_KEY_LENGTH),
        response.deviceNonce,
        this.#options.secPatchVer,
      );
      this.#step = 'done';
      return undefined;
    }
    throw new TetherError('PROTOCOL_ERROR', 'The security 2 handshake is already complete.');
  }

  async encrypt(plaintext: Uint8Array): Promise<Uint8Array> {
    return this.#established().encrypt(plaintext);
  }

  async decrypt(data: Uint8Array): Promise<Uint8Array> {
    return this.#established().decrypt(data);
  }

  #established(): GcmCounterCipher {
    if (this.#step !== 'done' || !this.#cipher) {
      throw new TetherError('SESSION_EXPIRED', 'No secure session with the device: establish one first.');
    }
    return this.#cipher;
  }
}
