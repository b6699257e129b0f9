/**
 * Tether's backup format: one file, JSON lines, the same whichever store wrote it, so a backup of
 * the embedded store restores into PostgreSQL and back.
 *
 *   {"format":"tether-backup","version":1,"schemaVersion":1,"createdAt":"…","source":{…}}
 *   {"meta":{…}}
 *   {"table":"orgs","row":{…}}            every row of every table
 *   {"audit":{…}}                          the audit log, oldest first
 *   {"activity":{…}}                       the device-activity log, oldest first
 *   {"file":"keys/jwt-ed25519.json","data":"<base64>"}   data-folder files: keys, outbox (optional)
 *   {"end":{"rows":N,"audit":N,"activity":N,"files":N,"sha256":"<hex of every line before this one>"}}
 *
 * The last line proves the file whole: a cut or changed backup is refused before anything is
 * written. `version` is this format's; `schemaVersion` the store's, migrated on restore.
 */
import { createHash } from 'node:crypto';
import { TetherError } from '../../shared/errors.js';
import type { DumpPart } from './store.js';
import { emptyImage, imageFromDocument, Problems, type Row, type StoreImage } from './store-image.js';
import type { AuditEvent, Meta } from './types.js';

export const BACKUP_FORMAT = 'tether-backup';
export const BACKUP_VERSION = 1;

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  schemaVersion: number;
  createdAt: string;
  source: { backend: string; tether: string };
}

/** A file of the data folder carried in a backup, by its path inside the folder. */
export interface BackupFile {
  path: string;
  data: Buffer;
}

/** Which data-folder paths a backup may carry: the signing keys and the mail outbox, nothing else. */
export const BACKUP_FILE_PATH = /^(keys\/[A-Za-z0-9._-]{1,100}\.json|outbox\/[A-Za-z0-9._-]{1,200}\.eml)$/;

/**
 * Lines encoded in one turn of the event loop. A dump part is hundreds of rows (500 devices are
 * ≈ 300 KB of JSON, hashed as well): encoded whole, one part held the loop for tens of ms on a
 * busy machine while a 1,000,000-device backup ran.
 */
const LINES_PER_TURN = 100;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** `items` as lines, LINES_PER_TURN at a time, with the event loop free between. */
async function* linesInTurns<T>(items: readonly T[], encode: (item: T) => string): AsyncGenerator<string> {
  for (let i = 0; i < items.length; i += LINES_PER_TURN) {
    if (i > 0) await nextTurn();
    yield items
      .slice(i, i + LINES_PER_TURN)
      .map(encode)
      .join('');
  }
}

/** The backup as lines of text (each ends in "\n"), written as the dump is read. */
export async function* backupLines(
  dump: AsyncIterable<DumpPart>,
  files: AsyncIterable<BackupFile> | Iterable<BackupFile>,
  source: BackupHeader['source'],
): AsyncGenerator<string> {
  const hash = createHash('sha256');
  const counts = { rows: 0, audit: 0, activity: 0, files: 0 };
  const line = (value: unknown) => {
    const text = `${JSON.stringify(value)}\n`;
    hash.update(text);
    return text;
  };
  let header = false;
  for await (const part of dump) {
    if (part.kind === 'meta') {
      const head: BackupHeader = {
        format: BACKUP_FORMAT,
        version: BACKUP_VERSION,
        schemaVersion: part.schemaVersion,
        createdAt: new Date().toISOString(),
        source,
      };
      yield line(head) + line({ meta: part.meta });
      header = true;
    } else if (part.kind === 'rows') {
      counts.rows += part.rows.length;
      yield* linesInTurns(part.rows, (row) => line({ table: part.table, row }));
    } else if (part.kind === 'audit') {
      counts.audit += part.events.length;
      yield* linesInTurns(part.events, (event) => line({ audit: event }));
    } else {
      counts.activity += part.events.length;
      yield* linesInTurns(part.events, (event) => line({ activity: event }));
    }
  }
  if (!header) throw new TetherError('INTERNAL', 'The store dump had no meta record.');
  for await (const file of files) {
    if (!BACKUP_FILE_PATH.test(file.path)) continue;
    counts.files++;
    yield line({ file: file.path, data: file.data.toString('base64') });
  }
  yield `${JSON.stringify({ end: { ...counts, sha256: hash.digest('hex') } })}\n`;
}

export interface ReadBackup {
  header: BackupHeader;
  /** The store as the backup holds it, at the backup's schema version (not yet migrated). */
  image: StoreImage;
  files: BackupFile[];
  counts: { rows: number; audit: number; activity: number; files: number };
}

/**
 * Reads a backup line by line and checks it whole: its format and version, every line's shape,
 * the closing line's counts and hash. Any problem is VALIDATION_FAILED naming the line; the rows
 * themselves are checked by the caller (validateImage, after migrations).
 */
export async function readBackup(lines: AsyncIterable<string>, name: string): Promise<ReadBackup> {
  const hash = createHash('sha256');
  const counts = { rows: 0, audit: 0, activity: 0, files: 0 };
  const tables = new Map<string, Row[]>();
  const audit: AuditEvent[] = [];
  const activity: AuditEvent[] = [];
  const files: BackupFile[] = [];
  let header: BackupHeader | undefined;
  let meta: Meta | undefined;
  let end: { rows: number; audit: number; activity?: number; files: number; sha256: string } | undefined;
  let n = 0;
  const bad = (why: string): never => {
    throw new TetherError('VALIDATION_FAILED', `${name} is not a Tether backup it can restore: ${why}.`, {
      details: { line: n },
    });
  };
  for await (const text of lines) {
    n++;
    if (end) bad(`line ${n} follows the closing line`);
    if (text.trim() === '') bad(`line ${n} is empty`);
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return bad(n === 1 ? 'it is not JSON lines' : `line ${n} is not JSON (the file is damaged)`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      bad(`line ${n} is not an object`);
    if (n === 1) {
      if (value.format !== BACKUP_FORMAT) bad('its first line does not name the tether-backup format');
      if (typeof value.version !== 'number' || value.version > BACKUP_VERSION) {
        bad(`it has format version ${String(value.version)}; this Tether reads up to ${BACKUP_VERSION}`);
      }
      if (!Number.isSafeInteger(value.schemaVersion) || (value.schemaVersion as number) < 1)
        bad('its first line has no schemaVersion');
      header = value as unknown as BackupHeader;
    } else if (Object.hasOwn(value, 'end')) {
      end = value.end as typeof end;
      continue;
    } else if (Object.hasOwn(value, 'meta')) {
      if (meta) bad(`line ${n} is a second meta record`);
      meta = value.meta as Meta;
    } else if (Object.hasOwn(value, 'table')) {
      const row = value.row as Row;
      if (typeof value.table !== 'string' || typeof row !== 'object' || row === null)
        bad(`line ${n} is not a table row`);
      const list = tables.get(value.table as string) ?? [];
      tables.set(value.table as string, list);
      list.push(row);
      counts.rows++;
    } else if (Object.hasOwn(value, 'audit')) {
      audit.push(value.audit as AuditEvent);
      counts.audit++;
    } else if (Object.hasOwn(value, 'activity')) {
      activity.push(value.activity as AuditEvent);
      counts.activity++;
    } else if (Object.hasOwn(value, 'file')) {
      const path = value.file;
      if (typeof path !== 'string' || !BACKUP_FILE_PATH.test(path) || typeof value.data !== 'string')
        bad(`line ${n} names a file a backup may not carry`);
      files.push({ path: path as string, data: Buffer.from(value.data as string, 'base64') });
      counts.files++;
    } else bad(`line ${n} is not a part of a backup`);
    hash.update(`${text}\n`);
  }
  if (!header) bad('it is empty');
  if (!end) bad('it has no closing line: it was cut short');
  if (!meta) bad('it has no meta record');
  if (end!.sha256 !== hash.digest('hex'))
    bad('its content does not match its closing line (it was changed or damaged)');
  if (
    end!.rows !== counts.rows ||
    end!.audit !== counts.audit ||
    // Backups from before the device-activity log was kept apart count none.
    (end!.activity ?? 0) !== counts.activity ||
    end!.files !== counts.files
  )
    bad('it holds other counts than its closing line says');
  const problems = new Problems();
  const fields = new Map<string, unknown>([
    ['schemaVersion', header!.schemaVersion],
    ['journalSeq', 0],
    ['meta', meta],
    ['audit', audit],
    // Absent from a backup that predates the log: the audit's device commands then move there.
    ...(end!.activity === undefined ? [] : [['deviceActivity', activity] as const]),
  ]);
  // Table names come from the file: none may stand in for the fields above, and each becomes an
  // own entry of the document (a table named __proto__ is refused as unknown, not dropped).
  for (const table of tables.keys())
    if (fields.has(table))
      bad(`it holds rows of ${JSON.stringify(table.slice(0, 40))}, which is not a table`);
  const doc = Object.fromEntries([
    ...fields,
    ...[...emptyImage().tables.keys()].map((t) => [t, []]),
    ...tables,
  ]) as Record<string, unknown>;
  const image = imageFromDocument(doc, problems);
  if (problems.list.length > 0) bad(problems.list.slice(0, 5).join('; '));
  return { header: header!, image, files, counts };
}

/** The dump of a store image read from disk (an offline backup): the same shape a live store gives. */
export async function* imageDump(image: StoreImage, batch = 500): AsyncGenerator<DumpPart> {
  yield { kind: 'meta', schemaVersion: image.schemaVersion, meta: image.meta };
  for (const [table, rows] of image.tables) {
    const list = [...rows.values()];
    for (let i = 0; i < list.length; i += batch)
      yield { kind: 'rows', table, rows: list.slice(i, i + batch) };
  }
  for (let i = 0; i < image.audit.length; i += batch) {
    yield { kind: 'audit', events: image.audit.slice(i, i + batch) };
  }
  for (let i = 0; i < image.deviceActivity.length; i += batch) {
    yield { kind: 'activity', events: image.deviceActivity.slice(i, i + batch) };
  }
}
