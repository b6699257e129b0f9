/** Drive a client and a device security session against each other and record every byte on the wire. */
import {
  decodeSessionData,
  encodeSessionData,
} from '../../provisioning/protocol/messages/session-messages.js';
import type { CryptoProvider } from '../../provisioning/protocol/security/crypto-provider.js';
import { nodeCryptoProvider } from '../../provisioning/protocol/security/node-crypto-provider.js';
import type {
  ClientSecuritySession,
  DeviceSecuritySession,
} from '../../provisioning/protocol/security/security-session.js';
import { webCrypto } from '../../provisioning/protocol/security/web-crypto-provider.js';

export interface Transcript {
  /** Handshake messages in order: request, response, request, response, … */
  handshake: Uint8Array[];
}

export async function runHandshake(
  client: ClientSecuritySession,
  device: DeviceSecuritySession,
): Promise<Transcript> {
  const handshake: Uint8Array[] = [];
  let request = await client.start();
  for (;;) {
    const requestBytes = encodeSessionData(request);
    handshake.push(requestBytes);
    const { response } = await device.handshake(decodeSessionData(requestBytes));
    const responseBytes = encodeSessionData(response);
    handshake.push(responseBytes);
    const next = await client.next(decodeSessionData(responseBytes));
    if (!next) return { handshake };
    request = next;
  }
}

/**
 * Every crypto provider, for suites that must give the same answers with each: OpenSSL (the Node
 * default), node:crypto with BigInt powers, and WebCrypto + BigInt (what the web console runs).
 */
export const PROVIDERS: Array<[string, CryptoProvider]> = [
  ['node:crypto', nodeCryptoProvider()],
  ['node:crypto, BigInt powers', nodeCryptoProvider({ modPow: 'bigint' })],
  ['WebCrypto', webCrypto],
];
