/**
 * The frames the simulated BLE medium carries over a Unix domain socket: one ATT PDU per frame,
 * with real ATT opcodes so a trace reads like a BLE sniffer's, plus one simulator-only pair that
 * stands in for GATT service/characteristic/descriptor discovery.
 *
 * Frame: u32 big-endian length of what follows, then the PDU (opcode + parameters).
 */

export const AttOpcode = {
  errorResponse: 0x01,
  exchangeMtuRequest: 0x02,
  exchangeMtuResponse: 0x03,
  readRequest: 0x0a,
  readResponse: 0x0b,
  readBlobRequest: 0x0c,
  readBlobResponse: 0x0d,
  writeRequest: 0x12,
  writeResponse: 0x13,
  prepareWriteRequest: 0x16,
  prepareWriteResponse: 0x17,
  executeWriteRequest: 0x18,
  executeWriteResponse: 0x19,
  // Simulator only: the whole of service, characteristic and 0x2901 discovery in one round trip.
  simDiscoverRequest: 0xf0,
  simDiscoverResponse: 0xf1,
} as const;

/** No PDU on the medium is larger than this; a bigger length prefix means a corrupt stream. */
export const MAX_FRAME_LENGTH = 64 * 1024;

export function encodeFrame(pdu: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(4 + pdu.length);
  frame.writeUInt32BE(pdu.length, 0);
  frame.set(pdu, 4);
  return frame;
}

/** Splits a byte stream into PDUs; push() returns every PDU completed by the new bytes. */
export class FrameDecoder {
  #buffer: Buffer = Buffer.alloc(0);

  push(bytes: Buffer): Buffer[] {
    this.#buffer = this.#buffer.length === 0 ? bytes : Buffer.concat([this.#buffer, bytes]);
    const out: Buffer[] = [];
    for (;;) {
      if (this.#buffer.length < 4) break;
      const length = this.#buffer.readUInt32BE(0);
      if (length === 0 || length > MAX_FRAME_LENGTH) {
        throw new Error(`Corrupt frame on the BLE medium (length ${length}).`);
      }
      if (this.#buffer.length < 4 + length) break;
      out.push(this.#buffer.subarray(4, 4 + length));
      this.#buffer = this.#buffer.subarray(4 + length);
    }
    return out;
  }
}

export function pdu(opcode: number, ...parts: (Uint8Array | number[])[]): Buffer {
  return Buffer.concat([Buffer.of(opcode), ...parts.map((p) => Buffer.from(p))]);
}

export const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n, 0); // ATT parameters are little-endian (Core Vol 3 Part F 3.3)
  return b;
};

export interface SimGattCharacteristic {
  handle: number;
  uuid: string;
  userDescription: string;
}

export interface SimDiscoverResponse {
  serviceUuid: string;
  characteristics: SimGattCharacteristic[];
}
