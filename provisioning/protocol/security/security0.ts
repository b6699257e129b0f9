/** Security 0: no keys, plaintext traffic (esp-idf security0.c). Only for products that allow it. */
import { TetherError } from '../../../shared/errors.js';
import type { SessionMessage } from '../messages/session-messages.js';
import { ProtocommStatus } from '../messages/status.js';
import type {
  ClientSecuritySession,
  DeviceHandshakeResult,
  DeviceSecuritySession,
} from './security-session.js';

export class Security0DeviceSession implements DeviceSecuritySession {
  readonly version = 0;
  #established = false;

  get established(): boolean {
    return this.#established;
  }

  async handshake(_request: SessionMessage): Promise<DeviceHandshakeResult> {
    this.#established = true;
    return { response: { secVer: 0, kind: 'resp', status: ProtocommStatus.success }, event: 'established' };
  }

  async encrypt(plaintext: Uint8Array): Promise<Uint8Array> {
    return plaintext;
  }

  async decrypt(data: Uint8Array): Promise<Uint8Array> {
    return data;
  }
}

export class Security0ClientSession implements ClientSecuritySession {
  readonly version = 0;
  #established = false;

  get established(): boolean {
    return this.#established;
  }

  async start(): Promise<SessionMessage> {
    return { secVer: 0, kind: 'cmd' };
  }

  async next(response: SessionMessage): Promise<SessionMessage | undefined> {
    if (response.secVer !== 0 || response.kind !== 'resp') {
      throw new TetherError(
        'PROTOCOL_ERROR',
        'The device answered the security 0 handshake with something else.',
      );
    }
    if (response.status !== ProtocommStatus.success) {
      throw new TetherError(
        'PROTOCOL_ERROR',
        `The device refused the security 0 session (status ${response.status}).`,
      );
    }
    this.#established = true;
    return undefined;
  }

  async encrypt(plaintext: Uint8Array): Promise<Uint8Array> {
    return plaintext;
  }

  async decrypt(data: Uint8Array): Promise<Uint8Array> {
    return data;
  }
}
