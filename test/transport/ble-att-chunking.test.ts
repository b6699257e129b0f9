import { describe, expect, it } from 'vitest';
import {
  AttError,
  concatChunks,
  isFinalReadChunk,
  negotiateMtu,
  PrepareWriteQueue,
  planWrite,
  readChunk,
} from '../../provisioning/transport/ble-att-chunking.js';

const payload = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 256);

describe('ATT chunking', () => {
  it('negotiates the smaller MTU within 23…517', () => {
    expect(negotiateMtu(256, 185)).toBe(185);
    expect(negotiateMtu(10, 256)).toBe(23);
    expect(negotiateMtu(1000, 1000)).toBe(517);
  });

  it('writes up to MTU − 3 bytes in one Write Request', () => {
    expect(planWrite(payload(20), 23)).toEqual({ kind: 'single', value: payload(20) });
  });

  it('splits longer values into MTU − 5 byte prepared parts at increasing offsets', () => {
    const plan = planWrite(payload(50), 23);
    expect(plan.kind).toBe('long');
    if (plan.kind !== 'long') return;
    expect(plan.parts.map((p) => [p.offset, p.part.length])).toEqual([
      [0, 18],
      [18, 18],
      [36, 14],
    ]);
    expect(concatChunks(plan.parts.map((p) => p.part))).toEqual(payload(50));
  });

  it('refuses values over the 512-byte attribute limit', () => {
    expect(() => planWrite(payload(513), 247)).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
  });

  it('serves reads in MTU − 1 byte chunks; a short chunk ends the read', () => {
    const value = payload(50);
    const chunks: Uint8Array[] = [];
    for (let offset = 0; ; ) {
      const chunk = readChunk(value, offset, 23);
      chunks.push(chunk);
      offset += chunk.length;
      if (isFinalReadChunk(chunk, 23)) break;
    }
    expect(chunks.map((c) => c.length)).toEqual([22, 22, 6]);
    expect(concatChunks(chunks)).toEqual(value);
    expect(readChunk(value, 50, 23)).toHaveLength(0);
    expect(() => readChunk(value, 51, 23)).toThrow(
      expect.objectContaining({ attError: AttError.invalidOffset }),
    );
  });

  it('queues prepared writes in order and refuses gaps, mixed handles and overflow', () => {
    const queue = new PrepareWriteQueue(40);
    queue.add(7, 0, payload(18));
    expect(() => queue.add(7, 20, payload(2))).toThrow(
      expect.objectContaining({ attError: AttError.invalidOffset }),
    );
    expect(() => queue.add(8, 18, payload(2))).toThrow(
      expect.objectContaining({ attError: AttError.requestNotSupported }),
    );
    queue.add(7, 18, payload(18));
    expect(queue.take()).toEqual({ handle: 7, value: concatChunks([payload(18), payload(18)]) });
    expect(queue.take()).toBeUndefined();
    queue.add(7, 0, payload(30));
    expect(() => queue.add(7, 30, payload(11))).toThrow(
      expect.objectContaining({ attError: AttError.prepareQueueFull }),
    );
    expect(queue.handle).toBeUndefined();
  });
});
