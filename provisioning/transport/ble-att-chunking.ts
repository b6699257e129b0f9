/**
 * ATT-level chunking of one protocomm message, as a BLE link carries it. Pure functions and one
 * small queue class: the simulated medium runs them on both ends, the noble adapter checks sizes
 * with them (its HCI bindings do the long write and read blob themselves).
 *
 * Bluetooth Core Vol 3 Part F: an ATT PDU is at most ATT_MTU octets. A Write Request carries
 * opcode + handle (3 octets) + value; a Prepare Write Request opcode + handle + offset (5) + part;
 * a Read/Read Blob Response opcode (1) + value. A value longer than fits is written with Prepare
 * Write + Execute Write and read with Read Blob until a response comes back short (3.4.4.5).
 */
import { TetherError } from '../../shared/errors.js';

export const ATT_DEFAULT_MTU = 23;
/** The largest ATT_MTU a central may offer (BLE 4.2+: 517 = 512-byte value + 5). */
export const ATT_MAX_MTU = 517;
/** Core Vol 3 Part F 3.2.9: an attribute value is at most 512 octets. */
export const ATT_MAX_VALUE_LENGTH = 512;

/** Standard ATT error codes the simulated peripheral answers with. */
export const AttError = {
  invalidHandle: 0x01,
  readNotPermitted: 0x02,
  writeNotPermitted: 0x03,
  requestNotSupported: 0x06,
  invalidOffset: 0x07,
  prepareQueueFull: 0x09,
  invalidAttributeValueLength: 0x0d,
  unlikelyError: 0x0e,
} as const;

/** Both sides offer an MTU; the link uses the smaller, never below the default. */
export function negotiateMtu(centralMtu: number, peripheralMtu: number): number {
  const clamp = (m: number) => Math.min(ATT_MAX_MTU, Math.max(ATT_DEFAULT_MTU, Math.floor(m)));
  return Math.min(clamp(centralMtu), clamp(peripheralMtu));
}

export const writeValueLimit = (mtu: number): number => mtu - 3;
export const prepareWritePartLimit = (mtu: number): number => mtu - 5;
export const readValueLimit = (mtu: number): number => mtu - 1;

export interface PreparedPart {
  offset: number;
  part: Uint8Array;
}

export type WritePlan = { kind: 'single'; value: Uint8Array } | { kind: 'long'; parts: PreparedPart[] };

/** How to write `value` over a link with this MTU: one Write Request, or a long write. */
export function planWrite(value: Uint8Array, mtu: number, maxValueLength = ATT_MAX_VALUE_LENGTH): WritePlan {
  if (value.length > maxValueLength) {
    throw new TetherError(
      'PAYLOAD_TOO_LARGE',
      `A ${value.length}-byte message does not fit one BLE characteristic (at most ${maxValueLength} bytes).`,
      { details: { length: value.length, max: maxValueLength } },
    );
  }
  if (value.length <= writeValueLimit(mtu)) return { kind: 'single', value };
  const size = prepareWritePartLimit(mtu);
  const parts: PreparedPart[] = [];
  for (let offset = 0; offset < value.length; offset += size) {
    parts.push({ offset, part: value.subarray(offset, offset + size) });
  }
  return { kind: 'long', parts };
}

/** The peripheral's answer to Read (offset 0) or Read Blob (offset > 0). */
export function readChunk(value: Uint8Array, offset: number, mtu: number): Uint8Array {
  // Core 3.4.4.6: an offset past the end is an error; exactly at the end is an empty response.
  if (offset > value.length) {
    throw new AttRequestError(AttError.invalidOffset, `Read offset ${offset} is past ${value.length} bytes.`);
  }
  return value.subarray(offset, offset + readValueLimit(mtu));
}

/** The central keeps reading blobs while responses come back full. */
export const isFinalReadChunk = (chunk: Uint8Array, mtu: number): boolean =>
  chunk.length < readValueLimit(mtu);

/** A request the peripheral refuses with an ATT error code. */
export class AttRequestError extends Error {
  constructor(
    readonly attError: number,
    message: string,
  ) {
    super(message);
    this.name = 'AttRequestError';
  }
}

/** The peripheral's prepare-write queue for one connection (one characteristic at a time, as esp-idf). */
export class PrepareWriteQueue {
  #handle: number | undefined;
  #parts: Uint8Array[] = [];
  #length = 0;

  constructor(private readonly maxValueLength = ATT_MAX_VALUE_LENGTH) {}

  get handle(): number | undefined {
    return this.#handle;
  }

  add(handle: number, offset: number, part: Uint8Array): void {
    if (this.#handle !== undefined && this.#handle !== handle) {
      throw new AttRequestError(
        AttError.requestNotSupported,
        'Prepared writes to two characteristics at once.',
      );
    }
    // Parts must arrive in order: esp-idf appends them, it does not scatter.
    if (offset !== this.#length) {
      throw new AttRequestError(AttError.invalidOffset, `Expected offset ${this.#length}, got ${offset}.`);
    }
    if (this.#length + part.length > this.maxValueLength) {
      this.clear();
      throw new AttRequestError(
        AttError.prepareQueueFull,
        `Long write exceeds ${this.maxValueLength} bytes.`,
      );
    }
    this.#handle = handle;
    this.#parts.push(Uint8Array.from(part));
    this.#length += part.length;
  }

  /** Execute Write: the assembled value and its handle; the queue is empty afterwards. */
  take(): { handle: number; value: Uint8Array } | undefined {
    if (this.#handle === undefined) return undefined;
    const value = new Uint8Array(this.#length);
    let at = 0;
    for (const p of this.#parts) {
      value.set(p, at);
      at += p.length;
    }
    const handle = this.#handle;
    this.clear();
    return { handle, value };
  }

  clear(): void {
    this.#handle = undefined;
    this.#parts = [];
    this.#length = 0;
  }
}

/** Join read chunks into one message. */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
