/**
 * A whole store as data: every table's rows, the audit log, the device-activity log and the meta record, at one journal
 * sequence number. The embedded store loads one at start (snapshot + journal replay), writes one
 * when it compacts, and the backup format carries one; validateImage() is the full shape check
 * that keeps damaged or foreign data from ever being served or overwritten.
 */
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { TetherError } from '../../shared/errors.js';
import type { JournalEntry } from './journal.js';
import { AuditEventRecord, MetaRecord } from './records.js';
import { SCHEMA_VERSION, TABLE_NAMES, TABLES, type TableSpec } from './tables.js';
import type { AuditEvent, Meta } from './types.js';

export type Row = { id: string } & Record<string, unknown>;

export interface StoreImage {
  schemaVersion: number;
  /** The last journal entry this image holds. */
  journalSeq: number;
  meta: Meta;
  /** Every table by name; a file being migrated may still hold tables this version does not know. */
  tables: Map<string, Map<string, Row>>;
  /** Account, ownership and configuration history: append-only, never trimmed by count. */
  audit: AuditEvent[];
  /** Commands people sent devices: bounded, the oldest go first (DEVICE_ACTIVITY_KEEP). */
  deviceActivity: AuditEvent[];
}

/** Device-activity events kept; older ones are dropped as new ones arrive. */
export const DEVICE_ACTIVITY_KEEP = 100_000;

/** The actions of the device-activity log: commands people send devices. */
export const DEVICE_ACTIVITY_ACTIONS: ReadonlySet<string> = new Set([
  'device.datastream-written',
  'device.reboot-requested',
  'device.ping-requested',
  'device.reconfigure-requested',
]);

export const emptyImage = (): StoreImage => ({
  schemaVersion: SCHEMA_VERSION,
  journalSeq: 0,
  meta: { schemaVersion: SCHEMA_VERSION, setupCodeHash: null },
  tables: new Map(TABLES.map((t) => [t.name, new Map<string, Row>()])),
  audit: [],
  deviceActivity: [],
});

/** How many problems a refusal collects before it stops looking. */
const MAX_PROBLEMS = 50;

export class Problems {
  readonly list: string[] = [];
  add(problem: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push(problem);
  }
  get full(): boolean {
    return this.list.length >= MAX_PROBLEMS;
  }
}

const checkers = new Map(TABLES.map((t) => [t.name, Compile(t.schema)]));
const checkAudit = Compile(AuditEventRecord);
const checkMeta = Compile(MetaRecord);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;

const NOT_TABLES = new Set(['schemaVersion', 'journalSeq', 'meta', 'audit', 'deviceActivity']);

/**
 * A snapshot document (parsed JSON) as an image. Shape problems are collected, not thrown: the
 * caller refuses with all of them at once. Tables are taken as the file names them, so that a
 * migration can still see an old table; validateImage() then wants exactly this version's.
 */
export function imageFromDocument(doc: Record<string, unknown>, problems: Problems): StoreImage {
  const image: StoreImage = {
    ...emptyImage(),
    schemaVersion: doc.schemaVersion as number,
    tables: new Map(),
  };
  const seq = doc.journalSeq ?? 0;
  if (!Number.isSafeInteger(seq) || (seq as number) < 0)
    problems.add(`journalSeq is ${describe(seq)}, expected a whole number`);
  else image.journalSeq = seq as number;
  if (!isObject(doc.meta)) problems.add(`meta is ${describe(doc.meta)}, expected an object`);
  else image.meta = doc.meta as unknown as Meta;
  for (const [name, rows] of Object.entries(doc)) {
    if (NOT_TABLES.has(name)) continue;
    if (!Array.isArray(rows)) {
      problems.add(`table ${clip(name)} is ${describe(rows)}, expected a list`);
      continue;
    }
    const table = new Map<string, Row>();
    image.tables.set(name, table);
    for (const [i, row] of rows.entries()) {
      if (!isObject(row) || typeof row.id !== 'string') {
        problems.add(`${clip(name)}[${i}] is ${isObject(row) ? 'a record without an id' : describe(row)}`);
        continue;
      }
      if (table.has(row.id)) problems.add(`${clip(name)}: two records with id ${clip(row.id)}`);
      table.set(row.id, row as Row);
    }
  }
  if (!Array.isArray(doc.audit)) {
    problems.add(
      doc.audit === undefined
        ? 'the audit log is missing'
        : `audit is ${describe(doc.audit)}, expected a list`,
    );
  } else image.audit = doc.audit as AuditEvent[];
  if (doc.deviceActivity !== undefined) {
    if (!Array.isArray(doc.deviceActivity))
      problems.add(`deviceActivity is ${describe(doc.deviceActivity)}, expected a list`);
    else image.deviceActivity = doc.deviceActivity as AuditEvent[];
  } else {
    // A file from before the device-activity log was kept apart: its commands move there.
    const commands = (event: AuditEvent) => isObject(event) && DEVICE_ACTIVITY_ACTIONS.has(event.action);
    image.deviceActivity = image.audit.filter(commands).slice(-DEVICE_ACTIVITY_KEEP);
    image.audit = image.audit.filter((event) => !commands(event));
  }
  return image;
}

/** Applies one journal entry; what cannot apply (an unknown table, a row with no id) is a problem. */
export function replayEntry(image: StoreImage, entry: JournalEntry, where: string, problems: Problems): void {
  const at = `${where} record ${entry.seq}`;
  for (const op of entry.ops as unknown[]) {
    if (!Array.isArray(op)) {
      problems.add(`${at}: an operation is ${describe(op)}`);
      continue;
    }
    const [kind, name, a, b] = op as [unknown, unknown, unknown, unknown];
    if (kind === 'audit') {
      if (!isObject(name)) problems.add(`${at}: an audit event is ${describe(name)}`);
      else image.audit.push(name as unknown as AuditEvent);
      continue;
    }
    if (kind === 'activity') {
      if (!isObject(name)) problems.add(`${at}: a device-activity event is ${describe(name)}`);
      else appendActivity(image.deviceActivity, name as unknown as AuditEvent);
      continue;
    }
    if (kind === 'meta') {
      if (!checkMeta.Check(name)) problems.add(`${at}: meta: ${firstError(checkMeta, name)}`);
      else image.meta = name as Meta;
      continue;
    }
    const table = typeof name === 'string' ? image.tables.get(name) : undefined;
    if (!table) {
      problems.add(`${at}: unknown table ${clip(String(name))}`);
      continue;
    }
    if (kind === 'put') {
      if (!isObject(a) || typeof a.id !== 'string')
        problems.add(`${at}: a ${clip(String(name))} row has no id`);
      else table.set(a.id, a as Row);
    } else if (kind === 'del') {
      if (typeof a !== 'string') problems.add(`${at}: a ${clip(String(name))} deletion names no id`);
      else table.delete(a);
    } else if (kind === 'tel') {
      const row = typeof a === 'string' ? table.get(a) : undefined;
      if (!isObject(b)) problems.add(`${at}: a telemetry patch is ${describe(b)}`);
      // Telemetry of a row deleted since: nothing to keep.
      else if (row) table.set(row.id, { ...row, ...b, id: row.id });
    } else problems.add(`${at}: unknown operation ${clip(String(kind))}`);
  }
}

/**
 * Appends to the bounded log, trimming in steps: once it holds a quarter more than `keep`, the
 * oldest go down to `keep`. One splice per keep/4 appends keeps an append O(1) (a splice per
 * append moved the whole 100,000-event list on every command once it was full).
 */
export function appendActivity(activity: AuditEvent[], event: AuditEvent, keep = DEVICE_ACTIVITY_KEEP): void {
  activity.push(event);
  if (activity.length > keep + Math.max(1, keep >> 2)) activity.splice(0, activity.length - keep);
}

/**
 * The whole shape: every row against its schema, unique fields, references, the audit log.
 * @own-key field names come from the table specs, not from the file
 */
export function validateImage(image: StoreImage, problems: Problems): void {
  if (!checkMeta.Check(image.meta)) problems.add(`meta: ${firstError(checkMeta, image.meta)}`);
  for (const name of image.tables.keys())
    if (!TABLE_NAMES.has(name)) problems.add(`unknown table ${clip(name)}`);
  for (const spec of TABLES) {
    const rows = image.tables.get(spec.name);
    if (!rows) {
      problems.add(`table ${spec.name} is missing`);
      continue;
    }
    const check = checkers.get(spec.name)!;
    const seen = new Map(spec.unique.map((field) => [field, new Map<unknown, string>()]));
    for (const row of rows.values()) {
      if (problems.full) return;
      const valid: boolean = check.Check(row);
      if (!valid) {
        problems.add(`${spec.name} ${clip(row.id)}: ${firstError(check, row)}`);
        continue;
      }
      for (const [field, values] of seen) {
        const value = row[field];
        if (value === null || value === undefined) continue;
        const holder = values.get(value);
        if (holder !== undefined)
          problems.add(`${spec.name} ${clip(row.id)} and ${clip(holder)} have the same ${field}`);
        else values.set(value, row.id);
      }
      checkReferences(image, spec, row, problems);
    }
  }
  for (const log of ['audit', 'deviceActivity'] as const) {
    for (const [i, event] of image[log].entries()) {
      if (problems.full) return;
      if (!checkAudit.Check(event)) problems.add(`${log}[${i}]: ${firstError(checkAudit, event)}`);
    }
  }
}

/**
 * What the load check would say about this one row, or undefined when it fits: the embedded store
 * asks before it acknowledges a write, so no write can leave a file the next start refuses.
 */
export function rowProblem(spec: TableSpec, row: unknown): string | undefined {
  const check = checkers.get(spec.name)!;
  return check.Check(row) ? undefined : firstError(check, row);
}

/** Per table, one compiled check per field, and the fields a row must have. */
const fieldCheckers = new Map(
  TABLES.map((t) => {
    const schema = t.schema as { properties?: Record<string, TSchema>; required?: string[] };
    return [
      t.name,
      {
        fields: new Map(Object.entries(schema.properties ?? {}).map(([f, s]) => [f, Compile(s)])),
        required: new Set(schema.required ?? []),
      },
    ];
  }),
);

/**
 * The same for a patch of a row that fits: the fields it sets, each against its own schema (a
 * record's fields are independent), and no required field removed. Cheaper than the whole row on
 * the telemetry path, which patches a device's values many times a second.
 * @own-key field names come from the table spec (a patch's own keys are only looked up in it)
 */
export function patchProblem(spec: TableSpec, patch: object): string | undefined {
  const { required } = fieldCheckers.get(spec.name)!;
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) {
      if (required.has(field)) return `/${field} is required`;
      continue;
    }
    const problem = fieldProblem(spec, field, value);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * One field's value against its schema (patchProblem for a patch of one field, with no patch
 * object made): the telemetry hot path checks only the latest values it writes.
 */
export function fieldProblem(spec: TableSpec, field: string, value: unknown): string | undefined {
  const check = fieldCheckers.get(spec.name)!.fields.get(field);
  if (!check) return `unknown field ${clip(field)}`;
  if (check.Check(value)) return undefined;
  const problem = firstError(check, value);
  return problem.startsWith('(record)') ? `/${field}${problem.slice(8)}` : `/${field}${problem}`;
}

/** The same for an audit event. */
export const auditProblem = (event: unknown): string | undefined =>
  checkAudit.Check(event) ? undefined : firstError(checkAudit, event);

/** @own-key field names come from the table specs */
function checkReferences(image: StoreImage, spec: TableSpec, row: Row, problems: Problems): void {
  for (const [field, target] of Object.entries(spec.references)) {
    const value = row[field];
    if (value === null || value === undefined) continue;
    if (!image.tables.get(target)?.has(value as string)) {
      problems.add(`${spec.name} ${clip(row.id)}: ${field} ${clip(String(value))} names no ${target} record`);
    }
  }
  // A parent chain that loops would send the subtree walks round forever.
  if (spec.name === 'orgs') {
    const orgs = image.tables.get('orgs') ?? new Map<string, Row>();
    let at: Row | undefined = row;
    for (let hops = 0; at && at.parentId !== null; hops++) {
      if (hops > 64 || at.parentId === row.id) {
        problems.add(`orgs ${clip(row.id)}: its parent chain loops`);
        return;
      }
      at = orgs.get(at.parentId as string);
    }
  }
}

function firstError(check: ReturnType<typeof Compile>, value: unknown): string {
  const [error] = check.Errors(value);
  if (!error) return 'invalid';
  const where = error.instancePath || '(record)';
  // A closed object answers a field it does not name with "schema is false" at that field.
  if (error.keyword === 'boolean' || error.message === 'schema is false') {
    return `unknown field ${clip(where.split('/').pop() ?? where)}`;
  }
  return `${where} ${error.message}`;
}

/** Text from a file, short and printable, for a message. */
export const clip = (text: string): string =>
  JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text).slice(1, -1);

/** What a snapshot is written from: rows as lists, taken at one instant (see imageView). */
export interface ImageView {
  schemaVersion: number;
  journalSeq: number;
  meta: Meta;
  tables: ReadonlyArray<readonly [string, readonly unknown[]]>;
  audit: readonly unknown[];
  deviceActivity: readonly unknown[];
}

export const imageView = (image: StoreImage): ImageView => ({
  schemaVersion: image.schemaVersion,
  journalSeq: image.journalSeq,
  meta: image.meta,
  tables: [...image.tables].map(([name, rows]) => [name, [...rows.values()]] as const),
  audit: image.audit,
  deviceActivity: image.deviceActivity,
});

/** The snapshot's JSON text in pieces of about `rowsPerPiece` rows, each a few ms of work. */
export function* snapshotPieces(view: ImageView, rowsPerPiece = 500): Generator<string> {
  yield `{"schemaVersion":${view.schemaVersion},"journalSeq":${view.journalSeq},"meta":${JSON.stringify(view.meta)}`;
  for (const [name, rows] of view.tables) yield* listPieces(`,${JSON.stringify(name)}:`, rows, rowsPerPiece);
  yield* listPieces(',"audit":', view.audit, rowsPerPiece);
  yield* listPieces(',"deviceActivity":', view.deviceActivity, rowsPerPiece);
  yield '}';
}

function* listPieces(head: string, rows: readonly unknown[], size: number): Generator<string> {
  if (rows.length === 0) {
    yield `${head}[]`;
    return;
  }
  for (let i = 0; i < rows.length; i += size) {
    const part = rows
      .slice(i, i + size)
      .map((row) => JSON.stringify(row))
      .join(',');
    yield `${i === 0 ? `${head}[` : ','}${part}${i + size >= rows.length ? ']' : ''}`;
  }
}

export function storeInvalid(dir: string, problems: readonly string[], hint: string): TetherError {
  const shown = problems.slice(0, 8);
  const more = problems.length > shown.length ? `\n  - … and ${problems.length - shown.length} more` : '';
  return new TetherError(
    'STORE_INVALID',
    `The database in ${dir} cannot be used; nothing in it was changed:\n  - ${shown.join('\n  - ')}${more}\n${hint}`,
    { details: { problems } },
  );
}
