/**
 * Fuzz: the store's files on disk. A real data folder (a snapshot and a journal the embedded store
 * wrote) is damaged: JSON values replaced or removed, hostile keys and tables added, rows doubled,
 * bytes flipped, cut or inserted in the snapshot or the journal. Opening it either works, and
 * then the store takes a change and opens again, or it is refused with STORE_INVALID and not one
 * byte of the folder changes. Damage that can only be read wrong is always refused: a snapshot
 * that is not JSON, a row without an id, a field or table no Tether writes, a table that is not a
 * list, two rows with one id, a broken journal record with records after it. (A journal cut short
 * is a crash while it was written: the unfinished record was never acknowledged, and the store
 * opens without it.)
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { isTetherError } from '../../shared/errors.js';
import { validDocument } from '../store/damaged-cases.js';
import { org } from '../store/store-contract.js';
import { folderDigest, tempDir } from '../store/store-files-support.js';
import { fc, fuzzSuite, hostileJson, hostileString, PROTOTYPE_KEYS, watchEscapes } from './fuzz-harness.js';

const suite = fuzzSuite('store file', 2);

type Json = Record<string, unknown>;
const SNAPSHOT = 'tether.json';
const TOP_FIELDS = ['schemaVersion', 'journalSeq', 'meta', 'audit'];

/** How to damage one copy of the folder. Positions are fractions, resolved against the real sizes. */
type Damage =
  | { kind: 'replace'; table: number; row: number; field: number; value: unknown }
  | { kind: 'remove'; table: number; row: number; field: number }
  | { kind: 'top'; field: number; value: unknown }
  | { kind: 'row id'; table: number; row: number; value: unknown }
  | { kind: 'extra field'; table: number; row: number; key: string; value: unknown }
  | { kind: 'not a list'; table: number; value: unknown }
  | { kind: 'extra table'; name: string }
  | { kind: 'double row'; table: number; row: number }
  | {
      kind: 'bytes';
      file: 'snapshot' | 'journal';
      op: 'flip' | 'cut' | 'insert';
      at: number;
      bytes: number[];
    }
  | { kind: 'journal record'; record: number; at: number };

const index = fc.nat({ max: 1_000 });
const fraction = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const notAString = hostileJson().filter((v) => typeof v !== 'string');
const notAList = hostileJson().filter((v) => !Array.isArray(v));

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({
    kind: fc.constant('replace' as const),
    table: index,
    row: index,
    field: index,
    value: hostileJson(),
  }),
  fc.record({ kind: fc.constant('remove' as const), table: index, row: index, field: index }),
  fc.record({ kind: fc.constant('top' as const), field: index, value: hostileJson() }),
  fc.record({ kind: fc.constant('row id' as const), table: index, row: index, value: notAString }),
  fc.record({
    kind: fc.constant('extra field' as const),
    table: index,
    row: index,
    key: fc.oneof(
      fc.constantFrom(...PROTOTYPE_KEYS),
      hostileString(20).map((s) => `x-${s}`),
    ),
    value: hostileJson(),
  }),
  fc.record({ kind: fc.constant('not a list' as const), table: index, value: notAList }),
  fc.record({
    kind: fc.constant('extra table' as const),
    name: fc.oneof(
      fc.constantFrom(...PROTOTYPE_KEYS),
      hostileString(20).map((s) => `x-${s}`),
    ),
  }),
  fc.record({ kind: fc.constant('double row' as const), table: index, row: index }),
  fc.record({
    kind: fc.constant('bytes' as const),
    file: fc.constantFrom('snapshot' as const, 'journal' as const),
    op: fc.constantFrom('flip' as const, 'cut' as const, 'insert' as const),
    at: fraction,
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('journal record' as const), record: index, at: fraction }),
);

/** The tables of a document that hold rows (`[name, rows]`), in file order. */
const tablesOf = (doc: Json) =>
  Object.entries(doc).filter((e): e is [string, Json[]] => !TOP_FIELDS.includes(e[0]) && Array.isArray(e[1]));

/**
 * Rows of the snapshot that the journal writes whole or deletes: damage to them is gone once the
 * journal is replayed, so the store may take it.
 */
const REWRITTEN_BY_JOURNAL = new Set(['dev_1', 'dev_2', 'rt_1']);

/** Picks the `n`th (modulo) row of the `t`th table with rows the journal leaves as they are. */
function rowAt(doc: Json, t: number, n: number): Json | undefined {
  const full = tablesOf(doc)
    .map(([, rows]) => rows.filter((row) => !REWRITTEN_BY_JOURNAL.has(row.id as string)))
    .filter((rows) => rows.length > 0);
  if (full.length === 0) return undefined;
  const rows = full[t % full.length]!;
  return rows[n % rows.length];
}

/**
 * Applies `d` to the folder's files; answers whether a correct store must refuse the result (it
 * may refuse other damage too, but it must never take what it cannot read right).
 */
function apply(files: Map<string, Buffer>, journalName: string, d: Damage): boolean {
  const snapshot = files.get(SNAPSHOT)!;
  if (d.kind === 'bytes' || d.kind === 'journal record') {
    const name = d.kind === 'bytes' && d.file === 'snapshot' ? SNAPSHOT : journalName;
    const bytes = Buffer.from(files.get(name)!);
    if (d.kind === 'journal record') {
      // One byte inside one record (not its closing newline) changes: a CRC that no longer holds.
      const lines = bytes.toString('latin1').split('\n').slice(0, -1);
      const record = d.record % lines.length;
      const start = lines.slice(0, record).reduce((n, l) => n + l.length + 1, 0);
      const at = start + Math.floor(d.at * lines[record]!.length);
      bytes[at] = bytes[at]! ^ 0x01;
      files.set(name, bytes);
      return record < lines.length - 1; // a damaged record with records after it
    }
    const at = Math.floor(d.at * bytes.length);
    let out: Buffer;
    if (d.op === 'flip') {
      for (const [i, mask] of d.bytes.entries()) {
        const p = (at + i) % bytes.length;
        bytes[p] = bytes[p]! ^ (mask || 1);
      }
      out = bytes;
    } else if (d.op === 'cut') out = bytes.subarray(0, at);
    else out = Buffer.concat([bytes.subarray(0, at), Buffer.from(d.bytes), bytes.subarray(at)]);
    files.set(name, out);
    if (name !== SNAPSHOT) return false; // the journal's own rules: see the journal record case
    try {
      JSON.parse(out.toString('utf8'));
      return false;
    } catch {
      return true;
    }
  }

  const doc = JSON.parse(snapshot.toString('utf8')) as Json;
  let mustRefuse = false;
  switch (d.kind) {
    case 'replace':
    case 'remove': {
      const row = rowAt(doc, d.table, d.row);
      if (!row) break;
      const keys = Object.keys(row);
      const key = keys[d.field % keys.length]!;
      if (d.kind === 'replace') row[key] = d.value;
      else delete row[key];
      // Without an id, or with one that is not a string (another string is just another id).
      mustRefuse = key === 'id' && (d.kind === 'remove' || typeof d.value !== 'string');
      break;
    }
    case 'top':
      doc[TOP_FIELDS[d.field % TOP_FIELDS.length]!] = d.value;
      break;
    case 'row id': {
      const row = rowAt(doc, d.table, d.row);
      if (!row) break;
      row.id = d.value;
      mustRefuse = true;
      break;
    }
    case 'extra field': {
      const row = rowAt(doc, d.table, d.row);
      if (!row) break;
      // Defined as an own property, as JSON.parse makes one (so `__proto__` is a key, not a prototype).
      Object.defineProperty(row, d.key, {
        value: d.value,
        enumerable: true,
        configurable: true,
        writable: true,
      });
      mustRefuse = true;
      break;
    }
    case 'not a list': {
      const tables = tablesOf(doc);
      doc[tables[d.table % tables.length]![0]] = d.value;
      mustRefuse = true;
      break;
    }
    case 'extra table':
      Object.defineProperty(doc, d.name, { value: [], enumerable: true, configurable: true, writable: true });
      mustRefuse = true;
      break;
    case 'double row': {
      const row = rowAt(doc, d.table, d.row);
      if (!row) break;
      const [, rows] = tablesOf(doc).find(([, list]) => list.includes(row))!;
      rows.push(structuredClone(row));
      mustRefuse = true;
      break;
    }
  }
  files.set(SNAPSHOT, Buffer.from(JSON.stringify(doc)));
  return mustRefuse;
}

describe('fuzz: the store file on disk', () => {
  let root: string;
  /** The folder a real store left: its snapshot and journal segment. */
  const base = new Map<string, Buffer>();
  let journalName = '';
  const escapes = watchEscapes();
  let n = 0;

  beforeAll(async () => {
    root = await tempDir('tether-fuzz-store-');
    const dir = join(root, 'base');
    await mkdir(dir);
    await writeFile(join(dir, SNAPSHOT), JSON.stringify(validDocument()));
    const store = new EmbeddedStore({ file: join(dir, SNAPSHOT) });
    await store.open();
    // Records in the journal, one write each: inserts, updates, a deletion, an audit event.
    await store.orgs.insert(org('org_c', 'org_a'));
    await store.devices.update('dev_1', { name: 'Kitchen', values: { temp: { value: 21.5, at: 5 } } });
    await store.devices.update('dev_2', { status: 'active', activatedAt: 5 });
    await store.refreshTokens.delete('rt_1');
    await store.audit.append({
      id: 'evt_2',
      at: 6,
      actor: 'usr_1',
      action: 'org.created',
      targetType: 'org',
      targetId: 'org_c',
      orgId: 'org_a',
      ip: null,
    });
    await store.close();
    for (const name of await readdir(dir)) {
      if (name.endsWith('.lock')) continue;
      base.set(name, await readFile(join(dir, name)));
      if (name.includes('.journal.')) journalName = name;
    }
    expect(journalName, [...base.keys()].join(', ')).not.toBe('');
    // The undamaged folder opens: every refusal below is the damage's doing.
    const copy = join(root, 'copy');
    await mkdir(copy);
    for (const [name, bytes] of base) await writeFile(join(copy, name), bytes);
    expect(await openOnce(copy, true)).toBeUndefined();
    expect(base.get(journalName)!.toString().split('\n').length).toBeGreaterThan(4);
  });

  afterAll(async () => {
    escapes.stop();
    await rm(root, { recursive: true, force: true });
  });

  /** Opens a store on `dir`: the error it was refused with, or undefined once it opened and closed. */
  async function openOnce(dir: string, write: boolean): Promise<unknown> {
    const store = new EmbeddedStore({ file: join(dir, SNAPSHOT) });
    try {
      await store.open();
    } catch (error) {
      return error;
    }
    try {
      await store.devices.count();
      if (write) await store.orgs.insert(org(`org_fuzz_${n}`));
    } finally {
      await store.close();
    }
    return undefined;
  }

  it(
    'opens a damaged folder as it can be read, or refuses it with STORE_INVALID and leaves it untouched',
    async () => {
      await suite.check(
        'damaged files',
        fc.asyncProperty(damage, async (d) => {
          const dir = join(root, `case-${n++}`);
          await mkdir(dir);
          try {
            const files = new Map(base);
            const mustRefuse = apply(files, journalName, d);
            for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
            const before = await folderDigest(dir);
            const error = await openOnce(dir, true);
            if (error !== undefined) {
              expect(isTetherError(error) && error.code, String(error)).toBe('STORE_INVALID');
              expect((error as Error).message).toContain('nothing in it was changed');
              expect(await folderDigest(dir)).toEqual(before);
              // Refused again the same way: nothing was half-done the first time.
              const again = await openOnce(dir, false);
              expect(isTetherError(again) && again.code).toBe('STORE_INVALID');
              expect(await folderDigest(dir)).toEqual(before);
            } else {
              expect(mustRefuse, 'opened a folder it cannot read right').toBe(false);
              // What it took, and the change it made, load again.
              expect(await openOnce(dir, false)).toBeUndefined();
            }
            expect(escapes.take()).toEqual([]);
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        }),
        100,
      );
    },
    suite.timeout(60_000),
  );

  it(
    'opens a journal cut anywhere (a crash while it was written), and what it opened loads again',
    async () => {
      const journal = base.get(journalName)!;
      await suite.check(
        'journal cut short',
        fc.asyncProperty(fc.nat({ max: journal.length }), async (at) => {
          const dir = join(root, `cut-${n++}`);
          await mkdir(dir);
          try {
            await writeFile(join(dir, SNAPSHOT), base.get(SNAPSHOT)!);
            await writeFile(join(dir, journalName), journal.subarray(0, at));
            expect(await openOnce(dir, true)).toBeUndefined();
            expect(await openOnce(dir, false)).toBeUndefined();
            expect(escapes.take()).toEqual([]);
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        }),
        20,
      );
    },
    suite.timeout(60_000),
  );
});
