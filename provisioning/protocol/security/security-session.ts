/**
 * One small interface per role for every security scheme. The device side answers prov-session
 * requests and then encrypts/decrypts endpoint traffic; the client side produces the handshake
 * requests, checks the answers, then encrypts/decrypts. Both work on decoded SessionData, so the
 * crypto never sees wire framing. Every step is asynchronous: the crypto behind it may be WebCrypto.
 */
import type { SecurityVersion, SessionMessage } from '../messages/session-messages.js';

export type { SecurityVersion } from '../messages/session-messages.js';

/** What a handshake step meant, for the device's bookkeeping and logs. */
export type HandshakeEvent = 'step' | 'established' | 'proof-rejected' | 'locked-out';

export interface DeviceHandshakeResult {
  response: SessionMessage;
  event: HandshakeEvent;
}

export interface DeviceSecuritySession {
  readonly version: SecurityVersion;
  readonly established: boolean;
  /** Answer one prov-session request. Malformed input rejects with VALIDATION_FAILED. */
  handshake(request: SessionMessage): Promise<DeviceHandshakeResult>;
  encrypt(plaintext: Uint8Array): Promise<Uint8Array>;
  /** Rejects with VALIDATION_FAILED when the data does not decrypt (security 2 authenticates it). */
  decrypt(data: Uint8Array): Promise<Uint8Array>;
}

export interface ClientSecuritySession {
  readonly version: SecurityVersion;
  readonly established: boolean;
  /** The first handshake request. */
  start(): Promise<SessionMessage>;
  /**
   * The next request given the device's answer, or undefined once the session is established.
   * Rejects with POP_INVALID, POP_LOCKED_OUT or PROTOCOL_ERROR.
   */
  next(response: SessionMessage): Promise<SessionMessage | undefined>;
  encrypt(plaintext: Uint8Array): Promise<Uint8Array>;
  decrypt(data: Uint8Array): Promise<Uint8Array>;
}
