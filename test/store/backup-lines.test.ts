/**
 * A backup is written as the dump is read, a few rows per turn of the event loop: a dump part of
 * hundreds of rows is not encoded (and hashed) in one turn. What it writes reads back whole.
 */
import { describe, expect, it } from 'vitest';
import { backupLines, readBackup } from '../../gateway/store/backup.js';
import type { DumpPart } from '../../gateway/store/store.js';
import { emptyImage } from '../../gateway/store/store-image.js';
import { auditEvent, device } from '../store/store-contract.js';

async function* dump(): AsyncGenerator<DumpPart> {
  const meta = emptyImage().meta;
  yield { kind: 'meta', schemaVersion: 2, meta };
  yield {
    kind: 'rows',
    table: 'devices',
    rows: Array.from({ length: 1000 }, (_, i) => device(`dev_${i}`, `hash_${i}`)),
  };
  yield { kind: 'audit', events: Array.from({ length: 250 }, (_, i) => auditEvent(`evt_${i}`, 'org_a', i)) };
}

describe('backupLines', () => {
  it('encodes a large dump part over many turns of the event loop, and it reads back whole', async () => {
    let turns = 0;
    let running = true;
    const tick = () => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const chunks: string[] = [];
    const turnOfChunk: number[] = [];
    for await (const text of backupLines(dump(), [], { backend: 'test', tether: 'test' })) {
      chunks.push(text);
      turnOfChunk.push(turns);
    }
    running = false;
    // 1,000 rows and 250 events, at most 100 lines a turn: 10 + 3 slices, two of them sharing a
    // turn with the part before.
    expect(new Set(turnOfChunk).size).toBeGreaterThanOrEqual(12);
    const lines = chunks.join('').split('\n').filter(Boolean);
    const read = await readBackup(
      (async function* () {
        yield* lines;
      })(),
      'test backup',
    );
    expect(read.counts).toEqual({ rows: 1000, audit: 250, activity: 0, files: 0 });
    expect(read.image.tables.get('devices')?.size).toBe(1000);
  });
});
