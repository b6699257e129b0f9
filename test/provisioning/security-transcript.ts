/** Drive a client and a device security session against each other and record every byte on the wire. */
import {
  decodeSessionData,
  encodeSessionData,
} from '../../provisioning/protocol/messages/session-messages.js';
import type {
  ClientSecuritySession,
  DeviceSecuritySession,
} from '../../provisioning/protocol/security/security-session.js';

export interface Transcript {
  /** Handshake messages in order: request, response, request, response, … */
  handshake: Uint8Array[];
}

export function runHandshake(client: ClientSecuritySession, device: DeviceSecuritySession): Transcript {
  const handshake: Uint8Array[] = [];
  let request = client.start();
  for (;;) {
    const requestBytes = encodeSessionData(request);
    handshake.push(requestBytes);
    const { response } = device.handshake(decodeSessionData(requestBytes));
    const responseBytes = encodeSessionData(response);
    handshake.push(responseBytes);
    const next = client.next(decodeSessionData(responseBytes));
    if (!next) return { handshake };
    request = next;
  }
}
