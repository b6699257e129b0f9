/**
 * The embedded store's journal: every committed transaction is one line appended to the active
 * segment file and fsynced before the transaction's promise resolves. Commits that arrive while
 * a write is under way wait for the next one and share its fsync (group commit), so a burst of
 * changes costs a few syncs, not one each.
 *
 * A line is `<crc32 hex> {"seq":n,"ops":[…]}\n`. A line either parses with its checksum or it is
 * torn: a crash in the middle of a write can leave an unfinished last line in a segment, which
 * was never acknowledged and is ignored; a bad line with good lines after it is damage, and the
 * store refuses to start on it (STORE_INVALID). Sequence numbers run on without gaps across
 * segments and the snapshot (`journalSeq`), so a lost or foreign segment is found too.
 *
 * Segments are `<name>.journal.<8 digits>`, a new one at every start and at every compaction, so
 * the store never rewrites a file it did not create in this run.
 */
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { TetherError } from '../../shared/errors.js';
import type { StoreFileHandle, StoreFiles } from './store-files.js';
import type { AuditEvent, Meta } from './types.js';

type Row = { id: string } & Record<string, unknown>;

/**
 * What a journal entry holds: the rows a transaction touched as they were when it committed
 * (`put` a whole row, `del` an id), so replay only sets rows and never depends on what came
 * before; `tel` is a coalesced telemetry patch (latest values, last seen) of a row that may since
 * have gone, which replay then skips; audit and device-activity events and the meta record.
 */
export type JournalOp =
  | ['put', string, Row]
  | ['del', string, string]
  | ['tel', string, string, Record<string, unknown>]
  | ['audit', AuditEvent]
  | ['activity', AuditEvent]
  | ['meta', Meta];

export interface JournalEntry {
  seq: number;
  ops: JournalOp[];
}

export function encodeEntry(entry: JournalEntry): Buffer {
  const json = Buffer.from(JSON.stringify(entry));
  const head = Buffer.from(`${crc32(json).toString(16).padStart(8, '0')} `);
  return Buffer.concat([head, json, NEWLINE]);
}

const NEWLINE = Buffer.from('\n');

/** A segment's entries; `torn` when its last line is unfinished (a crash while it was written). */
export function decodeSegment(bytes: Buffer, name: string): { entries: JournalEntry[]; torn: boolean } {
  const entries: JournalEntry[] = [];
  let start = 0;
  let bad: string | undefined;
  let line = 0;
  while (start < bytes.length) {
    const end = bytes.indexOf(0x0a, start);
    line++;
    const text = bytes.subarray(start, end === -1 ? bytes.length : end);
    const entry = end === -1 ? undefined : decodeLine(text);
    if (bad !== undefined) {
      // Something good after something bad: not a torn tail but damage in the middle.
      throw new TetherError(
        'STORE_INVALID',
        `journal ${name}: ${bad}, and it is followed by more records (line ${line}).`,
      );
    }
    if (entry) entries.push(entry);
    else bad = `line ${line} is damaged`;
    if (end === -1) break;
    start = end + 1;
  }
  return { entries, torn: bad !== undefined };
}

function decodeLine(text: Buffer): JournalEntry | undefined {
  if (text.length < 10 || text[8] !== 0x20) return undefined;
  const json = text.subarray(9);
  if (text.subarray(0, 8).toString('latin1') !== crc32(json).toString(16).padStart(8, '0')) return undefined;
  try {
    const entry = JSON.parse(json.toString('utf8')) as JournalEntry;
    if (
      typeof entry !== 'object' ||
      entry === null ||
      !Number.isSafeInteger(entry.seq) ||
      !Array.isArray(entry.ops)
    )
      return undefined;
    return entry;
  } catch {
    return undefined;
  }
}

const SEGMENT = /^(.+)\.journal\.(\d{8})$/;

export const segmentName = (base: string, n: number) => `${base}.journal.${String(n).padStart(8, '0')}`;

/** The journal segments of the store whose snapshot is `file`, oldest first. */
export async function listSegments(
  files: StoreFiles,
  file: string,
): Promise<Array<{ path: string; n: number }>> {
  const base = snapshotBase(file);
  const out: Array<{ path: string; n: number }> = [];
  for (const name of await files.list(dirname(file))) {
    const match = SEGMENT.exec(name);
    if (match && match[1] === base) out.push({ path: join(dirname(file), name), n: Number(match[2]) });
  }
  return out.sort((a, b) => a.n - b.n);
}

/** `tether` for `…/tether.json`: the stem every store file is named after. */
export const snapshotBase = (file: string) => basename(file).replace(/\.json$/, '');

interface Pending {
  seq: number;
  line: Buffer;
  resolve: () => void;
  reject: (error: TetherError) => void;
  /** Puts memory back as it was before this entry, when the entry cannot be written. */
  undo: () => void;
}

export interface JournalWriterOptions {
  files: StoreFiles;
  /** The snapshot file; segments live beside it. */
  file: string;
  /** The last sequence number already in the snapshot or the segments read at start. */
  lastSeq: number;
  /** The number of the segment to create. */
  segment: number;
  /** Segments already on disk (read at start), with their sizes: the next compaction drops them. */
  existing?: ReadonlyArray<{ path: string; bytes: number }>;
  /** Called after every write that reached the disk, with how long it took. */
  onWrite?: (info: { entries: number; bytes: number; ms: number }) => void;
  /** Called when a write fails, and when writing works again after a failure. */
  onHealth?: (error: TetherError | undefined) => void;
}

export class JournalWriter {
  readonly #files: StoreFiles;
  readonly #file: string;
  readonly #onWrite: JournalWriterOptions['onWrite'];
  readonly #onHealth: JournalWriterOptions['onHealth'];
  #handle: StoreFileHandle | undefined;
  /** The segment prepareRotation() made, waiting for rotate(). */
  #next: StoreFileHandle | undefined;
  #segment: number;
  /** Segments before the active one, not yet compacted away. */
  readonly #closed: string[] = [];
  /** Bytes in each segment not yet compacted away, the active one included. */
  readonly #sizes = new Map<string, number>();
  /** Promises waiting for an entry to reach the disk (see reached()). */
  #waiters: Array<{ seq: number; resolve: () => void }> = [];
  #position = 0;
  #needsTruncate = false;
  #lastSeq: number;
  #durableSeq: number;
  #queue: Pending[] = [];
  #writing: Promise<void> | undefined;
  /** Entries after this sequence number go to a new segment (set by rotate()). */
  #rotateAfter: number | undefined;
  #error: TetherError | undefined;
  #failures = 0;

  constructor(options: JournalWriterOptions) {
    this.#files = options.files;
    this.#file = options.file;
    this.#lastSeq = options.lastSeq;
    this.#durableSeq = options.lastSeq;
    this.#segment = options.segment;
    this.#onWrite = options.onWrite;
    this.#onHealth = options.onHealth;
    for (const { path, bytes } of options.existing ?? []) {
      this.#closed.push(path);
      this.#sizes.set(path, bytes);
    }
  }

  #path(n: number): string {
    return join(dirname(this.#file), segmentName(snapshotBase(this.#file), n));
  }

  /** Creates the first segment: fails (and the store does not start) when the folder is not writable. */
  async open(): Promise<void> {
    this.#handle = await this.#createSegment(this.#segment);
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  get durableSeq(): number {
    return this.#durableSeq;
  }

  /** How many writes have failed since the start. */
  get failures(): number {
    return this.#failures;
  }

  /** The reason writes fail now, or undefined when the last write reached the disk. */
  get error(): TetherError | undefined {
    return this.#error;
  }

  /** Bytes in the segments not yet compacted into a snapshot. */
  get bytes(): number {
    let total = 0;
    for (const size of this.#sizes.values()) total += size;
    return total;
  }

  /** Entries waiting for the disk (being written or queued). */
  get pending(): number {
    return this.#queue.length + (this.#writing ? 1 : 0);
  }

  /** Appends one entry; resolves once it is on disk, rejects with STORE_UNAVAILABLE if it cannot be. */
  append(ops: JournalOp[], undo: () => void): Promise<void> {
    if (!this.#handle) return Promise.reject(new TetherError('INTERNAL', 'The journal is not open.'));
    const seq = ++this.#lastSeq;
    const line = encodeEntry({ seq, ops });
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ seq, line, resolve, reject, undo });
      this.#writing ??= this.#drain();
    });
  }

  /** Resolves when everything appended so far is on disk or has failed, and nothing is being written. */
  async settled(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Resolves once entry `seq` (default: the last one so far) is on disk, or has failed. */
  reached(seq = this.#lastSeq): Promise<void> {
    if (this.#durableSeq >= seq) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }));
  }

  #wake(all: boolean): void {
    if (this.#waiters.length === 0) return;
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const w of waiting) {
      if (all || w.seq <= this.#durableSeq) w.resolve();
      else this.#waiters.push(w);
    }
  }

  /** Creates the next segment ahead of a rotation, so that rotate() itself cannot fail. */
  async prepareRotation(): Promise<void> {
    this.#next ??= await this.#createSegment(this.#segment + 1);
  }

  /**
   * Entries after the current last one go to the segment prepareRotation() made. Returns that
   * last sequence number and the segments that hold nothing newer: once a snapshot holds
   * everything up to it, they can go.
   */
  rotate(): { seq: number; segments: string[] } {
    if (!this.#next) throw new TetherError('INTERNAL', 'rotate() before prepareRotation().');
    this.#rotateAfter = this.#lastSeq;
    return { seq: this.#lastSeq, segments: [...this.#closed, this.#path(this.#segment)] };
  }

  /** A compaction removed these segments. */
  dropped(segments: readonly string[]): void {
    for (const path of segments) {
      const i = this.#closed.indexOf(path);
      if (i !== -1) this.#closed.splice(i, 1);
      this.#sizes.delete(path);
    }
  }

  async close(): Promise<void> {
    await this.settled();
    await this.#handle?.close();
    this.#handle = undefined;
    if (this.#next) {
      // Prepared for a compaction that did not happen: an empty file, not needed.
      await this.#next.close().catch(() => undefined);
      this.#next = undefined;
      await this.#files.unlink(this.#path(this.#segment + 1)).catch(() => undefined);
    }
  }

  async #drain(): Promise<void> {
    // Let the commits of this turn of the event loop join the first write.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (this.#queue.length > 0) {
        const rotateAfter = this.#rotateAfter;
        let take = this.#queue.length;
        if (rotateAfter !== undefined) {
          const first = this.#queue[0]!;
          if (first.seq > rotateAfter) {
            await this.#switchSegment();
            continue;
          }
          take = this.#queue.findIndex((p) => p.seq > rotateAfter);
          if (take === -1) take = this.#queue.length;
        }
        await this.#write(this.#queue.splice(0, take));
      }
    } finally {
      this.#writing = undefined;
    }
  }

  async #write(batch: Pending[]): Promise<void> {
    const data = batch.length === 1 ? batch[0]!.line : Buffer.concat(batch.map((p) => p.line));
    const started = performance.now();
    try {
      const handle = this.#handle;
      if (!handle) throw new Error('journal closed');
      // After a failed write the segment may end in part of it: cut that off first.
      if (this.#needsTruncate) await handle.truncate(this.#position);
      this.#needsTruncate = false;
      await handle.write(data, this.#position);
      this.#needsTruncate = true;
      await handle.datasync();
      this.#needsTruncate = false;
    } catch (error) {
      this.#fail(batch, error);
      return;
    }
    this.#position += data.length;
    const path = this.#path(this.#segment);
    this.#sizes.set(path, (this.#sizes.get(path) ?? 0) + data.length);
    this.#durableSeq = batch[batch.length - 1]!.seq;
    this.#wake(false);
    if (this.#error) {
      this.#error = undefined;
      this.#onHealth?.(undefined);
    }
    this.#onWrite?.({ entries: batch.length, bytes: data.length, ms: performance.now() - started });
    for (const p of batch) p.resolve();
  }

  /** Entries after the rotation point go to the prepared segment from now on. */
  async #switchSegment(): Promise<void> {
    const old = this.#handle;
    this.#closed.push(this.#path(this.#segment));
    this.#segment++;
    this.#handle = this.#next;
    this.#next = undefined;
    this.#position = 0;
    this.#needsTruncate = false;
    this.#rotateAfter = undefined;
    // Everything in the old segment is on disk already; a failing close loses nothing.
    await old?.close().catch(() => undefined);
  }

  async #createSegment(n: number): Promise<StoreFileHandle> {
    const path = this.#path(n);
    const handle = await this.#files.create(path);
    try {
      // The new name must survive a power cut before anything in it is acknowledged.
      await this.#files.syncDir(dirname(this.#file));
    } catch (error) {
      await handle.close().catch(() => undefined);
      await this.#files.unlink(path).catch(() => undefined);
      throw error;
    }
    return handle;
  }

  /**
   * A write failed: this batch and everything queued behind it fail together, newest first, so
   * memory goes back to exactly what is on disk; their sequence numbers are used again.
   */
  #fail(batch: Pending[], cause: unknown): void {
    const failed = [...batch, ...this.#queue.splice(0)];
    this.#failures++;
    this.#lastSeq = this.#durableSeq;
    const error = storeUnavailable(this.#file, cause);
    for (let i = failed.length - 1; i >= 0; i--) failed[i]!.undo();
    const first = this.#error === undefined;
    this.#error = error;
    if (first) this.#onHealth?.(error);
    for (const p of failed) p.reject(error);
    this.#wake(true);
  }
}

/** STORE_UNAVAILABLE at start: the data folder cannot be written, so the gateway does not start. */
export function notWritable(dir: string, cause: unknown): TetherError {
  if (cause instanceof TetherError) return cause;
  const code = (cause as NodeJS.ErrnoException)?.code ?? 'error';
  return new TetherError(
    'STORE_UNAVAILABLE',
    `The data folder ${dir} is not writable (${code}): the gateway keeps its database there and cannot start without writing to it. Fix the folder's permissions or free disk space, or choose another folder with --data-dir or TETHER_DATA_DIR.`,
    { cause, details: { errno: code } },
  );
}

/** STORE_UNAVAILABLE for a failed disk operation, saying what the operator can do about it. */
const DISK_PROBLEMS = new Map([
  ['ENOSPC', 'the disk is full'],
  ['EDQUOT', 'the disk quota is used up'],
  ['EACCES', 'permission denied'],
  ['EPERM', 'permission denied'],
  ['EROFS', 'the file system is read-only'],
  ['EIO', 'the disk reported an I/O error'],
]);

/** `ENOSPC: the disk is full`: an errno code as a person reads it. */
export const diskProblem = (code: string): string => `${code}: ${DISK_PROBLEMS.get(code) ?? 'write failed'}`;

export function storeUnavailable(file: string, cause: unknown): TetherError {
  const code = (cause as NodeJS.ErrnoException)?.code ?? 'EIO';
  return new TetherError(
    'STORE_UNAVAILABLE',
    `The change was not saved: writing to ${dirname(file)} failed (${diskProblem(code)}). Nothing was changed; try again once the disk is fixed. The gateway keeps serving and resumes writing by itself.`,
    { cause, details: { errno: code } },
  );
}
