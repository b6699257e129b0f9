/**
 * The embedded store: every record in memory with an index per unique field (the token lookup of
 * every MQTT CONNECT is one Map read), made durable by a journal in the data folder.
 *
 * Durability. A change is applied in memory, then its transaction is appended to the journal and
 * fsynced (journal.ts); the write's promise resolves only then, so whoever awaits it (an HTTP
 * route before its 2xx, an activation before it tells the companion) answers for data on disk.
 * Concurrent commits share one fsync. A commit that cannot be written is undone in memory and
 * rejects with STORE_UNAVAILABLE; the next write tries the disk again, and a probe does so every
 * `probeIntervalMs` while it fails, so writing resumes by itself.
 *
 * Telemetry (UpdateOptions.telemetry: latest values, last seen) is applied in memory at once and
 * journaled in one batch per `telemetryFlushDelayMs` window: at most that window of telemetry is
 * lost by a crash, and continuous telemetry costs one append per window, not one per message.
 * The device-activity log (commands people send devices) is written with the same window when it
 * is appended outside a transaction: a command is telemetry's other half, and its record must not
 * cost an fsync per command. The audit log and every other change never wait for the window.
 *
 * Compaction. When the journal outgrows the snapshot (and `compactMinBytes`), the store writes a
 * new snapshot from the rows as they were at one journal sequence number, in pieces with the
 * event loop free between them, then drops the segments it covers (store-file.ts). Rows are
 * frozen objects replaced on every change, so holding the lists of rows is a consistent view.
 *
 * Start. open() locks the data folder (data-lock.ts), reads the snapshot and replays the journal
 * (store-file.ts), checks the whole shape (store-image.ts) and refuses damaged or foreign data
 * with STORE_INVALID without changing a byte of it. Every file it writes is mode 0600.
 *
 * Adding a table:
 *   1. the record type in types.ts, its schema in records.ts (the compiler checks they agree);
 *   2. an entry in TABLES (tables.ts): name, label, unique fields, references;
 *   3. a repository on StoreTables (store.ts), and one line in `#repositories` below;
 *   4. bump SCHEMA_VERSION and add `addTables(<old version>, name)` to MIGRATIONS (migrations.ts), so
 *      files written before still load; the contract suite (test/store) covers the new table's
 *      lookups.
 * A new optional field needs only steps 1 and the schema; a new required one also a migration.
 */
import { dirname } from 'node:path';
import { type Clock, SystemClock, type TimerHandle } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import { acquireDataLock, type DataLock } from './data-lock.js';
import { diskProblem, type JournalOp, JournalWriter, notWritable } from './journal.js';
import type { Migration } from './migrations.js';
import { fieldOf, fieldTests, isCondition, matches, selectPage } from './query.js';
import type {
  AuditLog,
  AuditQuery,
  DumpPart,
  FindOptions,
  LatestValue,
  Repository,
  Scalar,
  Store,
  StoreHealth,
  StoreTables,
  Where,
} from './store.js';
import { StoreTablesMembers } from './store.js';
import { lockPath, readStore, writeSnapshot } from './store-file.js';
import { nodeStoreFiles, type StoreFiles } from './store-files.js';
import {
  appendActivity,
  auditProblem,
  clip,
  DEVICE_ACTIVITY_KEEP,
  emptyImage,
  fieldProblem,
  type ImageView,
  patchProblem,
  type Row,
  rowProblem,
  snapshotPieces,
} from './store-image.js';
import { SCHEMA_VERSION, TABLES, type TableName, type TableSpec } from './tables.js';
import type {
  AuditEvent,
  Device,
  DeviceEvent,
  DeviceGrant,
  Invitation,
  LinkToken,
  Meta,
  Org,
  RefreshToken,
  Role,
  Template,
  User,
} from './types.js';

export { SCHEMA_VERSION };

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Rows per piece of a dump: the reader serialises a piece at a time. */
const DUMP_BATCH = 500;

/** Telemetry rows per journal entry: each entry is a few ms of serialising at most. */
const TELEMETRY_ROWS_PER_ENTRY = 500;

/** What one transaction changed: the rows it touched (journaled as they are when it commits) and how to undo it. */
class Changes {
  readonly touched = new Map<Table<Row>, Set<string>>();
  readonly audit: AuditEvent[] = [];
  readonly activity: AuditEvent[] = [];
  meta: Meta | undefined;
  readonly #undo: Array<() => void> = [];

  touch(table: Table<Row>, id: string, undo: () => void): void {
    const ids = this.touched.get(table) ?? new Set<string>();
    this.touched.set(table, ids);
    ids.add(id);
    this.#undo.push(undo);
  }

  onUndo(undo: () => void): void {
    this.#undo.push(undo);
  }

  /** Takes over another set of changes (made on its own so that it could be undone alone). */
  absorb(other: Changes): void {
    for (const [table, ids] of other.touched) {
      const mine = this.touched.get(table) ?? new Set<string>();
      this.touched.set(table, mine);
      for (const id of ids) mine.add(id);
    }
    this.audit.push(...other.audit);
    if (other.meta) this.meta = other.meta;
    this.#undo.push(...other.#undo);
  }

  get empty(): boolean {
    return this.#undo.length === 0;
  }

  /** Newest first, each step only where nobody changed the value since. */
  rollback(): void {
    for (let i = this.#undo.length - 1; i >= 0; i--) this.#undo[i]!();
    this.#undo.length = 0;
  }

  /** The journal entry: touched rows as they are now. */
  ops(): JournalOp[] {
    const ops: JournalOp[] = [];
    for (const [table, ids] of this.touched) {
      for (const id of ids) {
        const row = table.rows.get(id);
        ops.push(row ? ['put', table.spec.name, row] : ['del', table.spec.name, id]);
      }
    }
    for (const event of this.audit) ops.push(['audit', event]);
    for (const event of this.activity) ops.push(['activity', event]);
    if (this.meta) ops.push(['meta', this.meta]);
    return ops;
  }
}

/** How a repository's writes are committed: on their own, or as part of a transaction. */
interface Writer {
  write<R>(apply: (changes: Changes) => R): Promise<R>;
}

interface TableHooks {
  telemetry(table: Table<Row>, id: string, fields: readonly string[]): void;
}

const REMOVED = Symbol('removed');

/** A write whose row the load check would refuse: nothing is written, and the caller hears why. */
const rowRefused = (label: string, id: unknown, problem: string): TetherError =>
  new TetherError(
    'STORE_INVALID',
    `The store refused to write ${label} ${clip(String(id))}: ${problem}. Nothing was written.`,
    { details: { record: label, problem } },
  );

class Table<T extends { id: string }> {
  rows = new Map<string, T>();
  readonly #unique: Map<string, Map<unknown, string>>;
  /** Secondary indexes (TableSpec.indexed): field → value (null included) → ids. */
  readonly #indexes: Map<string, Map<Scalar, Set<string>>>;
  /** Fields some index holds (unique or secondary): a patch of none of them leaves every index as it is. */
  readonly #keyed: ReadonlySet<string>;

  constructor(
    readonly spec: TableSpec,
    private readonly hooks: TableHooks,
  ) {
    this.#unique = new Map(spec.unique.map((field) => [field, new Map()]));
    this.#indexes = new Map(spec.indexed.map((field) => [field, new Map()]));
    this.#keyed = new Set([...spec.unique, ...spec.indexed, 'id']);
  }

  /** Takes over the rows of a checked image (unique values are known to be unique). */
  adopt(rows: ReadonlyMap<string, Row>): void {
    this.rows = new Map();
    for (const index of this.#unique.values()) index.clear();
    for (const index of this.#indexes.values()) index.clear();
    const share = shareRepeatedStrings(this.spec);
    for (const [id, row] of rows) this.#set(Object.freeze(share(row)) as unknown as T, undefined, id);
  }

  lookup(field: string, value: unknown): T | undefined {
    const id = this.#unique.get(field)?.get(value);
    return id === undefined ? undefined : this.rows.get(id);
  }

  find(where: Where<T> | undefined, options?: FindOptions<T>): T[] {
    return selectPage(this.#candidates(where), where, options);
  }

  count(where: Where<T> | undefined): number {
    if (!where || Object.keys(where).length === 0) return this.rows.size;
    const tests = fieldTests(where);
    // One indexed field alone: the sizes of its buckets, no row is looked at.
    if (tests.length === 1 && !(where as { anyOf?: unknown }).anyOf) {
      const [field, test] = tests[0]!;
      const index = this.#indexes.get(field);
      if (index && !isCondition(test)) return index.get(test as Scalar)?.size ?? 0;
      if (index && isCondition(test) && Object.keys(test).length === 1 && test.in) {
        let n = 0;
        for (const value of new Set(test.in)) n += index.get(value)?.size ?? 0;
        return n;
      }
    }
    let n = 0;
    for (const row of this.#candidates(where)) if (matches(row, where)) n++;
    return n;
  }

  /** Rows that may match: the smallest set an index gives, else every row. */
  #candidates(where: Where<T> | undefined): Iterable<T> {
    const ids = where ? this.#plan(where) : undefined;
    if (!ids) return this.rows.values();
    // An array, not a generator: an index usually names a handful of rows, often none (a user's
    // grants, read on every authenticated request), and a generator costs more than they do.
    const rows: T[] = [];
    for (const id of ids) {
      const row = this.rows.get(id);
      if (row) rows.push(row);
    }
    return rows;
  }

  #plan(where: Where<T>): ReadonlySet<string> | readonly string[] | undefined {
    let best: ReadonlySet<string> | readonly string[] | undefined;
    const size = (ids: ReadonlySet<string> | readonly string[]) =>
      'size' in ids ? (ids as ReadonlySet<string>).size : ids.length;
    const consider = (ids: ReadonlySet<string> | readonly string[] | undefined) => {
      if (ids && (!best || size(ids) < size(best))) best = ids;
    };
    const unions: Array<[Map<Scalar, Set<string>>, readonly Scalar[]]> = [];
    for (const [field, test] of fieldTests(where)) {
      const values: readonly Scalar[] | undefined = !isCondition(test)
        ? [test as Scalar]
        : test.in && Object.keys(test).length >= 1
          ? test.in
          : undefined;
      if (!values) continue;
      if (field === 'id') {
        consider(values.filter((v): v is string => typeof v === 'string'));
        continue;
      }
      const unique = this.#unique.get(field);
      if (unique && values.every((v) => v !== null)) {
        consider(values.flatMap((v) => unique.get(v) ?? []) as string[]);
        continue;
      }
      const index = this.#indexes.get(field);
      if (!index) continue;
      if (values.length === 1) consider(index.get(values[0]!) ?? EMPTY_IDS);
      else unions.push([index, values]);
    }
    // A union is built only when it is the smallest: an org scope's `in` would otherwise copy the
    // ids of the whole fleet when another field (a status) names a handful.
    for (const [index, values] of unions) {
      let total = 0;
      for (const value of new Set(values)) total += index.get(value)?.size ?? 0;
      if (best && size(best) <= total) continue;
      const ids = new Set<string>();
      for (const value of values) for (const id of index.get(value) ?? []) ids.add(id);
      consider(ids);
    }
    const anyOf = (where as { anyOf?: ReadonlyArray<Where<T>> }).anyOf;
    if (!best && anyOf && anyOf.length > 0) {
      // Every branch narrowed by an index: the union of theirs.
      const union = new Set<string>();
      for (const branch of anyOf) {
        const ids = this.#plan(branch);
        if (!ids) return undefined;
        for (const id of ids) union.add(id);
      }
      return union;
    }
    return best;
  }

  insert(changes: Changes, record: T): T {
    if (this.rows.has(record.id))
      throw new TetherError('CONFLICT', `${this.spec.label} ${record.id} already exists.`);
    const row = Object.freeze({ ...record });
    this.#checkShape(row);
    this.#checkUnique(row, undefined);
    this.#set(row, undefined, row.id);
    changes.touch(this as unknown as Table<Row>, row.id, () => {
      const current = this.rows.get(row.id);
      if (current) this.#set(undefined, current, row.id);
    });
    return row;
  }

  /** @own-key a patch's fields are the service's own (requests are checked against closed schemas) */
  update(changes: Changes | undefined, id: string, patch: Partial<Omit<T, 'id'>>): T {
    const old = this.rows.get(id);
    if (!old) throw new TetherError('NOT_FOUND', `${this.spec.label} ${id} does not exist.`);
    const next = { ...old, ...patch, id } as T;
    const fields = Object.keys(patch);
    let keyed = false;
    for (const field of fields) {
      // A field set to undefined is removed, as it would be by a round trip through the file.
      if (patch[field as keyof typeof patch] === undefined) delete next[field as keyof T];
      if (this.#keyed.has(field)) keyed = true;
    }
    Object.freeze(next);
    // The old row fits (checked when it was written or loaded): its patched fields decide.
    const problem = patchProblem(this.spec, patch);
    if (problem !== undefined) throw rowRefused(this.spec.label, id, problem);
    if (keyed) {
      this.#checkUnique(next, old);
      this.#set(next, old, id);
    } else {
      // Latest values, last seen, names: no index to check or keep (the telemetry hot path).
      this.rows.set(id, next);
    }
    if (!changes) {
      this.hooks.telemetry(this as unknown as Table<Row>, id, fields);
      return next;
    }
    const before = new Map<string, unknown>(
      fields.map((f) => [f, Object.hasOwn(old, f) ? old[f as keyof T] : REMOVED]),
    );
    changes.touch(this as unknown as Table<Row>, id, () => {
      const current = this.rows.get(id);
      if (!current) return;
      const restored = { ...current } as Record<string, unknown>;
      let any = false;
      for (const [field, value] of before) {
        // Only what is still as this change left it: a later change keeps its value.
        if (restored[field] !== (next as Record<string, unknown>)[field]) continue;
        any = true;
        if (value === REMOVED) delete restored[field];
        else restored[field] = value;
      }
      if (any) this.#set(Object.freeze(restored) as T, current, id);
    });
    return next;
  }

  /**
   * Telemetry, the MQTT hot path: the row replaced by `next`, which differs from it only in
   * `fields` (checked by the caller, held by no index); outside any transaction, journaled with
   * the telemetry window.
   */
  replaceUnindexed(id: string, next: T, fields: readonly string[]): T {
    Object.freeze(next);
    this.rows.set(id, next);
    this.hooks.telemetry(this as unknown as Table<Row>, id, fields);
    return next;
  }

  delete(changes: Changes, id: string): boolean {
    const old = this.rows.get(id);
    if (!old) return false;
    this.#set(undefined, old, id);
    changes.touch(this as unknown as Table<Row>, id, () => {
      if (!this.rows.has(id)) this.#set(old, undefined, id);
    });
    return true;
  }

  /** The load's own row check, before anything changes: a row it would refuse is never written. */
  #checkShape(row: T): void {
    const problem = rowProblem(this.spec, row);
    if (problem !== undefined) throw rowRefused(this.spec.label, row.id, problem);
  }

  /** @own-key the unique fields come from the table spec */
  #checkUnique(next: T, old: T | undefined): void {
    for (const [field, index] of this.#unique) {
      const value = next[field as keyof T];
      // A value update (the telemetry hot path) leaves the unique fields as they were.
      if (value === null || value === undefined || (old && old[field as keyof T] === value)) continue;
      const holder = index.get(value);
      if (holder !== undefined && holder !== old?.id) {
        throw new TetherError('CONFLICT', `${this.spec.label} with this ${field} already exists.`, {
          details: { field },
        });
      }
    }
  }

  /**
   * The one place rows and indexes change: `next` replaces `old` (either may be absent).
   * @own-key the unique fields come from the table spec
   */
  #set(next: T | undefined, old: T | undefined, id: string): void {
    for (const [field, index] of this.#unique) {
      const before = old?.[field as keyof T];
      const after = next?.[field as keyof T];
      if (old && next && before === after) continue;
      if (before !== null && before !== undefined && index.get(before) === id) index.delete(before);
      if (after !== null && after !== undefined) index.set(after, id);
    }
    for (const [field, index] of this.#indexes) {
      const before = old ? fieldOf(old, field) : undefined;
      const after = next ? fieldOf(next, field) : undefined;
      if (before === after) continue;
      if (before !== undefined) {
        const ids = index.get(before);
        ids?.delete(id);
        if (ids?.size === 0) index.delete(before);
      }
      if (after !== undefined) {
        const ids = index.get(after);
        if (ids) ids.add(id);
        else index.set(after, new Set([id]));
      }
    }
    if (next) this.rows.set(id, next);
    else this.rows.delete(id);
  }
}

class TableRepository<T extends { id: string }> implements Repository<T> {
  constructor(
    protected readonly table: Table<T>,
    protected readonly writer: Writer,
  ) {}

  async get(id: string): Promise<T | undefined> {
    return this.table.rows.get(id);
  }

  peek(id: string): T | undefined {
    return this.table.rows.get(id);
  }

  async find(where?: Where<T>, options?: FindOptions<T>): Promise<T[]> {
    return this.table.find(where, options);
  }

  async count(where?: Where<T>): Promise<number> {
    return this.table.count(where);
  }

  async insert(record: T): Promise<T> {
    return this.writer.write((changes) => this.table.insert(changes, record));
  }

  async insertMany(records: readonly T[]): Promise<void> {
    return this.writer.write((changes) => {
      const undo = new Changes();
      try {
        for (const record of records) this.table.insert(undo, record);
      } catch (error) {
        undo.rollback();
        throw error;
      }
      changes.absorb(undo);
    });
  }

  async update(id: string, patch: Partial<Omit<T, 'id'>>): Promise<T> {
    return this.writer.write((changes) => this.table.update(changes, id, patch));
  }

  async delete(id: string): Promise<boolean> {
    return this.writer.write((changes) => this.table.delete(changes, id));
  }

  async deleteWhere(where: Where<T>): Promise<number> {
    return this.writer.write((changes) => {
      const doomed = this.table.find(where);
      for (const row of doomed) this.table.delete(changes, row.id);
      return doomed.length;
    });
  }
}

/** Distinct values a field may show before shareRepeatedStrings stops sharing it (names, hashes). */
const MAX_SHARED_VALUES = 4096;

/**
 * JSON.parse makes a new string for every value it reads: 10,000 devices of one org loaded from
 * the file hold 10,000 copies of the org id (and of its template id, its maker org id). Returns
 * a function that, row by row as a table loads, replaces such a value with the first copy seen,
 * for the fields of the table's schema that repeat (ids and unique fields never do; a field is
 * dropped once it shows more than MAX_SHARED_VALUES distinct values). About 110 bytes a device.
 * @own-key the fields come from the table's schema, never from the file
 */
function shareRepeatedStrings(spec: TableSpec): (row: Row) => Row {
  const fields = new Map<string, Map<string, string> | null>();
  const schemaFields = Object.keys((spec.schema as { properties?: object }).properties ?? {});
  for (const field of schemaFields)
    if (field !== 'id' && !spec.unique.includes(field)) fields.set(field, new Map());
  return (row) => {
    for (const [field, seen] of fields) {
      const value = row[field];
      if (seen === null || typeof value !== 'string') continue;
      const first = seen.get(value);
      if (first !== undefined) row[field] = first;
      else if (seen.size < MAX_SHARED_VALUES) seen.set(value, value);
      else fields.set(field, null);
    }
    return row;
  };
}

const EMPTY_IDS: ReadonlySet<string> = new Set();
const VALUE_FIELDS: readonly string[] = ['values', 'lastSeenAt'];
const LAST_SEEN_FIELD: readonly string[] = ['lastSeenAt'];

const hasOwnKeys = (object: object): boolean => {
  for (const key in object) if (Object.hasOwn(object, key)) return true;
  return false;
};

/**
 * A device row with new latest values and last-seen time, every other field as it was. Written
 * out field by field: V8 copies a row of this size through `{ ...row }` in ≈ 1 µs, a literal in
 * a tenth of that, and telemetry makes one per uplink. A test in test/store holds it to the
 * device schema's fields.
 */
function withLatest(d: Device, values: Device['values'], lastSeenAt: number | null): Device {
  const next: Device = {
    id: d.id,
    orgId: d.orgId,
    ownerId: d.ownerId,
    templateId: d.templateId,
    name: d.name,
    tokenHash: d.tokenHash,
    status: d.status,
    provisioningExpiresAt: d.provisioningExpiresAt,
    createdBy: d.createdBy,
    createdAt: d.createdAt,
    activatedAt: d.activatedAt,
    activatedBy: d.activatedBy,
    hardwareId: d.hardwareId,
    firmware: d.firmware,
    lastSeenAt,
    values,
  };
  // The optional fields, when the row has them (never as an own key holding undefined).
  if (Object.hasOwn(d, 'claimCodeHash')) next.claimCodeHash = d.claimCodeHash;
  if (Object.hasOwn(d, 'makerOrgId')) next.makerOrgId = d.makerOrgId;
  if (Object.hasOwn(d, 'meta')) next.meta = d.meta;
  if (Object.hasOwn(d, 'props')) next.props = d.props;
  if (Object.hasOwn(d, 'provisioningSecurity')) next.provisioningSecurity = d.provisioningSecurity;
  return next;
}

/** The latest values a putValues writes (a null removes one: nothing to check), against the schema. */
function valuesProblem(
  spec: TableSpec,
  values: Readonly<Record<string, LatestValue | null>>,
): string | undefined {
  let removes = false;
  // own-key: only own keys are read (hasOwn first)
  for (const key in values) if (Object.hasOwn(values, key) && values[key] === null) removes = true;
  if (!removes) return fieldProblem(spec, 'values', values);
  const set = Object.entries(values).filter(([, value]) => value !== null);
  return set.length === 0 ? undefined : fieldProblem(spec, 'values', Object.fromEntries(set));
}

/** The latest values with `changes` applied key by key (keys come from outside: own properties only). */
function mergeValues(
  old: Device['values'],
  changes: Readonly<Record<string, LatestValue | null>>,
): Device['values'] {
  const next: Device['values'] = { ...old };
  for (const key of Object.keys(changes)) {
    // own-key: key is one of changes' own keys (Object.keys just above)
    const value = changes[key] ?? null;
    // own-key: a delete removes only an own property, whatever the name
    if (value === null) delete next[key];
    // A plain assignment makes an own property for every name but __proto__ (the one inherited
    // setter), and keeps the object fast; defineProperty turns it into a dictionary.
    // own-key: __proto__ is excluded here and defined as an own property below
    else if (key !== '__proto__') next[key] = value;
    else Object.defineProperty(next, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return next;
}
const GRANT_ORDER: FindOptions<DeviceGrant> = { orderBy: { field: 'createdAt' } };
/** Deeper than any tree the org service allows (the default limit is 4 levels). */
const MAX_ORG_DEPTH = 64;

export interface EmbeddedStoreOptions {
  /** The snapshot file; omit for a store that lives only in memory (tests, benchmarks). */
  file?: string;
  /** Latest values and last-seen times reach the journal within this window; default 5 s. */
  telemetryFlushDelayMs?: number;
  clock?: Clock;
  /** The file layer (tests inject faults through it). */
  files?: StoreFiles;
  /** Compact once the journal holds this much and more than the snapshot; default 16 MiB. */
  compactMinBytes?: number;
  /** While writes fail, try the disk this often; default 1 s. */
  probeIntervalMs?: number;
  /** Reports what a person operating the gateway should know: torn records, failures, recovery. */
  log?: (level: 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>) => void;
  /** Told after every journal write reached the disk: metrics. */
  onJournalWrite?: (info: { entries: number; bytes: number; ms: number }) => void;
  /** Tests: other migrations and target version than this Tether's. */
  migrations?: readonly Migration[];
  schemaVersion?: number;
  /** Device-activity events kept (default DEVICE_ACTIVITY_KEEP); tests make it small. */
  deviceActivityKeep?: number;
}

export interface EmbeddedStoreStats {
  /** Journal writes (each one fsync) since open. */
  journalWrites: number;
  /** Bytes in the journal segments not yet compacted. */
  journalBytes: number;
  snapshotBytes: number;
  compactions: number;
  /** Commits waiting for the disk. */
  pendingCommits: number;
}

export class EmbeddedStore extends StoreTablesMembers implements Store {
  readonly backend = 'embedded';
  readonly #file: string | undefined;
  readonly #files: StoreFiles;
  readonly #clock: Clock;
  readonly #options: EmbeddedStoreOptions;
  readonly #telemetryFlushDelayMs: number;
  readonly #tables: Record<TableName, Table<Row>>;
  #meta: Meta = emptyImage().meta;
  #audit: AuditEvent[] = [];
  #deviceActivity: AuditEvent[] = [];
  #journal: JournalWriter | undefined;
  #lock: DataLock | undefined;
  #open = false;
  /** Rows changed by telemetry and not yet journaled: table → row id → fields. */
  #telemetry = new Map<Table<Row>, Map<string, Set<string>>>();
  /** Device-activity events in the log and not yet journaled, oldest first (at most the log's bound). */
  #activity = new Set<AuditEvent>();
  #telemetryTimer: TimerHandle | undefined;
  #telemetryFlush: Promise<void> | undefined;
  #probeTimer: TimerHandle | undefined;
  #compacting: Promise<void> | undefined;
  #compactAfter = 0;
  #snapshotBytes = 0;
  #compactions = 0;
  #journalWrites = 0;
  /** The queue transactions wait in: one at a time. */
  #txTail: Promise<void> = Promise.resolve();
  readonly #autocommit: Writer;

  constructor(options: EmbeddedStoreOptions = {}) {
    super();
    this.#options = options;
    this.#file = options.file;
    this.#files = options.files ?? nodeStoreFiles;
    this.#clock = options.clock ?? new SystemClock();
    this.#telemetryFlushDelayMs = options.telemetryFlushDelayMs ?? 5000;
    const hooks: TableHooks = {
      telemetry: (table, id, fields) => this.#markTelemetry(table, id, fields),
    };
    this.#tables = Object.fromEntries(
      TABLES.map((spec) => [spec.name, new Table<Row>(spec, hooks)]),
    ) as Record<TableName, Table<Row>>;
    this.#autocommit = {
      write: (apply) => {
        const changes = new Changes();
        const result = apply(changes);
        return this.#commit(changes).then(() => result);
      },
    };
    const tables = this.#repositories(this.#autocommit);
    this.adoptTables(tables);
  }

  /** The store's tables with their writes going through `writer`. */
  #repositories(writer: Writer): StoreTables {
    const t = this.#tables;
    const repo = <T extends { id: string }>(name: TableName) =>
      new TableRepository<T>(t[name] as unknown as Table<T>, writer);
    const lookup =
      <T>(name: TableName, field: string, normalise = (v: string) => v) =>
      async (value: string) =>
        t[name].lookup(field, normalise(value)) as T | undefined;
    // The orgId index's bucket sizes, kept by every write and its undo: no row is looked at.
    const countInOrgs = (name: TableName) => async (orgIds: readonly string[]) =>
      t[name].count({ orgId: { in: orgIds } } as Where<Row>);
    /**
     * Telemetry, the MQTT hot path, outside transactions: only the values written are checked
     * (the row held fits already), no index is touched (values and lastSeenAt are in none), and
     * the row reaches the journal with the telemetry window.
     */
    const putValuesNow = (
      deviceId: string,
      values: Readonly<Record<string, LatestValue | null>>,
      lastSeenAt?: number,
    ): Device => {
      const devices = t.devices as unknown as Table<Device>;
      const old = devices.rows.get(deviceId);
      if (!old) throw new TetherError('NOT_FOUND', `device ${deviceId} does not exist.`);
      const problem =
        valuesProblem(devices.spec, values) ??
        (lastSeenAt === undefined ? undefined : fieldProblem(devices.spec, 'lastSeenAt', lastSeenAt));
      if (problem !== undefined) throw rowRefused(devices.spec.label, deviceId, problem);
      // Last seen alone (a connect, a disconnect) leaves the values object as it is.
      const changed = hasOwnKeys(values);
      const next = withLatest(
        old,
        changed ? mergeValues(old.values, values) : old.values,
        lastSeenAt ?? old.lastSeenAt,
      );
      return devices.replaceUnindexed(deviceId, next, changed ? VALUE_FIELDS : LAST_SEEN_FIELD);
    };
    return {
      orgs: Object.assign(repo<Org>('orgs'), {
        subtree: async (orgId: string) => {
          const orgs = t.orgs as unknown as Table<Org>;
          const root = orgs.rows.get(orgId);
          if (!root) return [];
          const out = [root];
          const seen = new Set([orgId]);
          for (let level = [root]; level.length > 0; ) {
            const parentIds = level.map((o) => o.id);
            level = orgs.find({ parentId: { in: parentIds } }).filter((o) => !seen.has(o.id));
            for (const o of level) seen.add(o.id);
            out.push(...level);
          }
          return out;
        },
        ancestors: async (orgId: string) => {
          const out: Org[] = [];
          let org = t.orgs.rows.get(orgId) as Org | undefined;
          // A loop cannot be stored (validated at load), but a bound costs nothing.
          while (org && out.length < MAX_ORG_DEPTH) {
            out.push(org);
            org = org.parentId === null ? undefined : (t.orgs.rows.get(org.parentId) as Org | undefined);
          }
          return out;
        },
      }),
      users: Object.assign(repo<User>('users'), {
        byEmail: lookup<User>('users', 'email', (email) => email.trim().toLowerCase()),
        countInOrgs: countInOrgs('users'),
      }),
      refreshTokens: Object.assign(repo<RefreshToken>('refreshTokens'), {
        byTokenHash: lookup<RefreshToken>('refreshTokens', 'tokenHash'),
      }),
      templates: Object.assign(repo<Template>('templates'), { countInOrgs: countInOrgs('templates') }),
      devices: Object.assign(repo<Device>('devices'), {
        byTokenHash: lookup<Device>('devices', 'tokenHash'),
        countInOrgs: countInOrgs('devices'),
        byClaimCodeHash: lookup<Device>('devices', 'claimCodeHash'),
        putValues: async (
          deviceId: string,
          values: Readonly<Record<string, LatestValue | null>>,
          lastSeenAt?: number,
        ) => {
          // Outside a transaction it is telemetry (journaled with the window), done at once.
          if (writer === this.#autocommit) return putValuesNow(deviceId, values, lastSeenAt);
          const devices = t.devices as unknown as Table<Device>;
          const old = devices.rows.get(deviceId);
          if (!old) throw new TetherError('NOT_FOUND', `device ${deviceId} does not exist.`);
          const patch: Partial<Device> = { values: mergeValues(old.values, values) };
          if (lastSeenAt !== undefined) patch.lastSeenAt = lastSeenAt;
          // Read and written in one synchronous step: no other write can come between.
          return writer.write((changes) => devices.update(changes, deviceId, patch));
        },
        ...(writer === this.#autocommit ? { putValuesNow } : {}),
      }),
      roles: repo<Role>('roles'),
      invitations: Object.assign(repo<Invitation>('invitations'), {
        byTokenHash: lookup<Invitation>('invitations', 'tokenHash'),
      }),
      linkTokens: Object.assign(repo<LinkToken>('linkTokens'), {
        byTokenHash: lookup<LinkToken>('linkTokens', 'tokenHash'),
      }),
      grants: Object.assign(repo<DeviceGrant>('grants'), {
        forUser: async (userId: string) =>
          (t.grants as unknown as Table<DeviceGrant>).find({ userId }, GRANT_ORDER),
        forDevice: async (deviceId: string) =>
          (t.grants as unknown as Table<DeviceGrant>).find({ deviceId }, GRANT_ORDER),
      }),
      deviceEvents: repo<DeviceEvent>('deviceEvents'),
      audit: this.#eventLog(
        writer,
        () => this.#audit,
        (changes) => changes.audit,
        (log, event) => log.push(event),
      ),
      deviceActivity: this.#eventLog(
        writer,
        () => this.#deviceActivity,
        (changes) => changes.activity,
        (log, event) => appendActivity(log, event, this.#options.deviceActivityKeep),
        // Outside a transaction a command's record is journaled with the telemetry window.
        writer === this.#autocommit ? (event) => this.#markActivity(event) : undefined,
      ),
      getMeta: async () => this.#meta,
      setMeta: async (patch) =>
        writer.write((changes) => {
          const old = this.#meta;
          const next = Object.freeze({ ...old, ...patch });
          this.#meta = next;
          changes.meta = next;
          changes.onUndo(() => {
            if (this.#meta === next) this.#meta = old;
          });
          return next;
        }),
    };
  }

  /**
   * An append-only log over one of the two event lists, read newest first through a query. With
   * `windowed`, an append outside a transaction is applied at once and handed to it to journal
   * later, instead of committing on its own.
   */
  #eventLog(
    writer: Writer,
    events: () => AuditEvent[],
    pending: (changes: Changes) => AuditEvent[],
    append: (log: AuditEvent[], event: AuditEvent) => void,
    windowed?: (event: AuditEvent) => void,
  ): AuditLog {
    const checked = (event: AuditEvent) => {
      const frozen = Object.freeze({ ...event });
      const problem = auditProblem(frozen);
      if (problem !== undefined) throw rowRefused('audit event', frozen.id, problem);
      return frozen;
    };
    return {
      append: async (event) => {
        if (windowed) {
          const frozen = checked(event);
          append(events(), frozen);
          windowed(frozen);
          return;
        }
        return writer.write((changes) => {
          const frozen = checked(event);
          append(events(), frozen);
          pending(changes).push(frozen);
          changes.onUndo(() => {
            const log = events();
            const i = log.lastIndexOf(frozen);
            if (i !== -1) log.splice(i, 1);
          });
        });
      },
      list: async (query = {}) => listEvents(events(), query),
    };
  }

  async open(): Promise<void> {
    if (this.#open) return;
    const file = this.#file;
    if (!file) {
      this.#open = true;
      return;
    }
    const files = this.#files;
    try {
      await files.mkdir(dirname(file));
    } catch (error) {
      throw notWritable(dirname(file), error);
    }
    const lock = await acquireDataLock(files, lockPath(file), 'gateway');
    try {
      const loaded = await readStore(files, file, {
        keepPreviousVersion: true,
        ...(this.#options.migrations ? { migrations: this.#options.migrations } : {}),
        ...(this.#options.schemaVersion ? { schemaVersion: this.#options.schemaVersion } : {}),
      });
      for (const name of loaded.torn) {
        this.#options.log?.(
          'warn',
          `journal ${name} ends in an unfinished record: a crash while it was written; it was never acknowledged and is ignored`,
        );
      }
      const { image } = loaded;
      for (const spec of TABLES) this.#tables[spec.name].adopt(image.tables.get(spec.name) ?? new Map());
      this.#meta = Object.freeze(image.meta);
      this.#audit = image.audit.map((e) => Object.freeze(e));
      this.#deviceActivity = image.deviceActivity.map((e) => Object.freeze(e));
      this.#snapshotBytes = loaded.snapshotBytes;
      const journal = new JournalWriter({
        files,
        file,
        lastSeq: image.journalSeq,
        segment: loaded.nextSegment,
        existing: loaded.segments,
        onWrite: (info) => this.#written(info),
        onHealth: (error) => this.#healthChanged(error),
      });
      try {
        await journal.open();
      } catch (error) {
        throw notWritable(dirname(file), error);
      }
      this.#journal = journal;
      this.#lock = lock;
      this.#open = true;
      await files.unlink(`${file}.tmp`); // a compaction that was cut short
      if (loaded.existed) await files.chmod(file, 0o600);
      if (!loaded.existed || loaded.migratedFrom !== undefined) await this.compact();
      if (loaded.migratedFrom !== undefined) {
        this.#options.log?.(
          'info',
          `migrated the database from schema version ${loaded.migratedFrom} to ${image.schemaVersion}; the previous data is kept beside it`,
        );
      }
    } catch (error) {
      await this.#journal?.close().catch(() => undefined);
      this.#journal = undefined;
      this.#open = false;
      this.#lock = undefined;
      await lock.release().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Writes the telemetry of the open window, then closes. When the disk fails at the end, the
   * store still closes, and says so: STORE_UNAVAILABLE with what was not written
   * (details.unflushed), so a stopping gateway can report it instead of losing it silently.
   */
  async close(): Promise<void> {
    if (!this.#open) return;
    this.#clock.clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
    let failure: TetherError | undefined;
    let unflushed = 0;
    let unflushedActivity = 0;
    try {
      await this.#flushTelemetry();
      await this.#compacting?.catch(() => undefined);
      await this.#journal?.settled();
    } finally {
      this.#open = false;
      failure = this.#journal?.error;
      // A failed flush put its rows back for a next window that will not come.
      this.#clock.clearTimeout(this.#telemetryTimer);
      this.#telemetryTimer = undefined;
      for (const rows of this.#telemetry.values()) unflushed += rows.size;
      this.#telemetry = new Map();
      unflushedActivity = this.#activity.size;
      this.#activity = new Set();
      await this.#journal?.close().catch(() => undefined);
      this.#journal = undefined;
      await this.#lock?.release().catch(() => undefined);
      this.#lock = undefined;
    }
    if (failure) {
      const errno = String(failure.details?.errno ?? 'EIO');
      const lost = [
        ...(unflushed === 0
          ? []
          : [`the latest values and last-seen times of ${unflushed} device${unflushed === 1 ? '' : 's'}`]),
        ...(unflushedActivity === 0
          ? []
          : [`${unflushedActivity} device-activity event${unflushedActivity === 1 ? '' : 's'}`]),
      ];
      throw new TetherError(
        'STORE_UNAVAILABLE',
        `writing to the data folder fails (${diskProblem(errno)}): ${
          lost.length === 0
            ? 'every acknowledged change is on disk, but fix the disk before starting again'
            : `${lost.join(' and ')} (the last ${this.#telemetryFlushDelayMs / 1000} s of telemetry) were not written`
        }.`,
        {
          cause: failure,
          details: {
            errno,
            unflushed: {
              telemetryRows: unflushed,
              ...(unflushedActivity === 0 ? {} : { activityEvents: unflushedActivity }),
            },
          },
        },
      );
    }
  }

  async flush(): Promise<void> {
    await this.#flushTelemetry();
    await this.compact();
  }

  async committed(): Promise<void> {
    await this.#journal?.reached();
  }

  health(): StoreHealth {
    const error = this.#journal?.error;
    return error
      ? { writable: false, error: { code: error.code, message: error.message } }
      : { writable: true };
  }

  stats(): EmbeddedStoreStats {
    return {
      journalWrites: this.#journalWrites,
      journalBytes: this.#journal?.bytes ?? 0,
      snapshotBytes: this.#snapshotBytes,
      compactions: this.#compactions,
      pendingCommits: this.#journal?.pending ?? 0,
    };
  }

  /** Journal writes since open: coalescing and group commit are visible in tests and benchmarks. */
  get writeCount(): number {
    return this.#journalWrites;
  }

  async transaction<T>(fn: (tx: StoreTables) => Promise<T>): Promise<T> {
    if (!this.#open) throw new TetherError('INTERNAL', 'The store is not open.');
    const release = await this.#nextTransaction();
    const changes = new Changes();
    let active = true;
    const writer: Writer = {
      write: async (apply) => {
        if (!active) {
          throw new TetherError(
            'INTERNAL',
            'This transaction has finished; its tables cannot be used any more.',
          );
        }
        return apply(changes);
      },
    };
    let result: T;
    try {
      result = await fn(this.#repositories(writer));
    } catch (error) {
      active = false;
      changes.rollback();
      release();
      throw error;
    }
    active = false;
    // The commit takes its place in the journal before the next transaction can start.
    const committed = this.#commit(changes);
    release();
    await committed;
    return result;
  }

  /** Waits for the transactions before; resolves with the function that lets the next one in. */
  #nextTransaction(): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const before = this.#txTail;
    this.#txTail = before.then(() => mine);
    return before.then(() => release);
  }

  #commit(changes: Changes): Promise<void> {
    if (changes.empty || !this.#journal) return Promise.resolve();
    return this.#journal.append(changes.ops(), () => changes.rollback());
  }

  /**
   * A snapshot of everything committed up to the journal's current end, written without holding
   * the event loop, then the journal segments it covers are removed.
   */
  async compact(): Promise<void> {
    if (!this.#journal || !this.#file) return;
    // After the one under way, if any: that one's view may predate the caller's changes.
    const next = (this.#compacting ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.#compactNow());
    const mine = next.finally(() => {
      if (this.#compacting === mine) this.#compacting = undefined;
    });
    this.#compacting = mine;
    return mine;
  }

  async #compactNow(): Promise<void> {
    const journal = this.#journal;
    const file = this.#file;
    if (!journal || !file) return;
    await journal.prepareRotation();
    const { view, rotation } = await this.#view(true);
    if (!view) {
      throw new TetherError('STORE_UNAVAILABLE', 'Compaction abandoned: a journal write failed meanwhile.');
    }
    this.#snapshotBytes = await writeSnapshot(this.#files, file, snapshotPieces(view));
    for (const segment of rotation!.segments) await this.#files.unlink(segment);
    journal.dropped(rotation!.segments);
    this.#compactions++;
  }

  /**
   * The rows as they are at the journal's current end, once all of it is on disk. No transaction
   * is open while they are listed (rows are frozen, so the lists stay as they were); `view` is
   * undefined when a write failed meanwhile (it may hold a change that was undone since).
   */
  async #view(
    rotate: boolean,
  ): Promise<{ view: ImageView | undefined; rotation: ReturnType<JournalWriter['rotate']> | undefined }> {
    const journal = this.#journal;
    const release = await this.#nextTransaction();
    let view: ImageView;
    let rotation: ReturnType<JournalWriter['rotate']> | undefined;
    const failures = journal?.failures ?? 0;
    try {
      rotation = rotate ? journal?.rotate() : undefined;
      view = {
        schemaVersion: this.#meta.schemaVersion,
        journalSeq: rotation?.seq ?? journal?.lastSeq ?? 0,
        meta: this.#meta,
        tables: TABLES.map((spec) => [spec.name, [...this.#tables[spec.name].rows.values()]] as const),
        audit: this.#audit.slice(),
        // A compaction leaves out the activity still waiting for its window: the journal gets it
        // after the snapshot's sequence number, and a snapshot holding it too would replay it twice.
        // A dump (a backup) takes everything in memory, as it takes telemetry.
        deviceActivity:
          rotate && this.#activity.size > 0
            ? this.#deviceActivity.filter((event) => !this.#activity.has(event))
            : this.#deviceActivity.slice(),
      };
    } finally {
      release();
    }
    if (!journal) return { view, rotation };
    await journal.reached(view.journalSeq);
    return { view: journal.failures === failures ? view : undefined, rotation };
  }

  async *dump(): AsyncGenerator<DumpPart> {
    let view: ImageView | undefined;
    for (let attempt = 0; attempt < 3 && !view; attempt++) view = (await this.#view(false)).view;
    if (!view) {
      throw new TetherError(
        'STORE_UNAVAILABLE',
        'The store cannot make a consistent copy while its writes fail.',
      );
    }
    yield { kind: 'meta', schemaVersion: view.schemaVersion, meta: view.meta };
    for (const [table, rows] of view.tables) {
      for (let i = 0; i < rows.length; i += DUMP_BATCH) {
        yield { kind: 'rows', table, rows: rows.slice(i, i + DUMP_BATCH) as object[] };
      }
    }
    for (let i = 0; i < view.audit.length; i += DUMP_BATCH) {
      yield { kind: 'audit', events: view.audit.slice(i, i + DUMP_BATCH) as AuditEvent[] };
    }
    for (let i = 0; i < view.deviceActivity.length; i += DUMP_BATCH) {
      yield { kind: 'activity', events: view.deviceActivity.slice(i, i + DUMP_BATCH) as AuditEvent[] };
    }
  }

  #written(info: { entries: number; bytes: number; ms: number }): void {
    this.#journalWrites++;
    this.#options.onJournalWrite?.(info);
    const journal = this.#journal;
    if (!journal || this.#compacting || Date.now() < this.#compactAfter) return;
    if (journal.bytes > Math.max(this.#options.compactMinBytes ?? 16 * 2 ** 20, this.#snapshotBytes)) {
      void this.compact().catch((error: unknown) => {
        // The journal keeps everything; try again later rather than on every write.
        this.#compactAfter = Date.now() + 30_000;
        this.#options.log?.('warn', 'compaction failed; the journal keeps every change', {
          error: (error as Error).message,
        });
      });
    }
  }

  #healthChanged(error: TetherError | undefined): void {
    if (error) {
      this.#options.log?.('error', error.message, { code: error.code });
      this.#scheduleProbe();
    } else {
      this.#options.log?.('info', 'writing to the data folder works again');
      this.#clock.clearTimeout(this.#probeTimer);
      this.#probeTimer = undefined;
    }
  }

  /** While writes fail, an empty entry tries the disk now and then, so readiness comes back by itself. */
  #scheduleProbe(): void {
    if (this.#probeTimer || !this.#open) return;
    this.#probeTimer = this.#clock.setTimeout(() => {
      this.#probeTimer = undefined;
      const journal = this.#journal;
      if (!journal?.error) return;
      journal.append([], () => undefined).catch(() => this.#scheduleProbe());
    }, this.#options.probeIntervalMs ?? 1000);
  }

  /** A device-activity event for the next window; the oldest fall out past the log's bound. */
  #markActivity(event: AuditEvent): void {
    if (!this.#journal) return;
    const pending = this.#activity;
    pending.add(event);
    // Older ones would be trimmed from the log anyway: O(1) each, memory bounded.
    const keep = this.#options.deviceActivityKeep ?? DEVICE_ACTIVITY_KEEP;
    if (pending.size > keep) pending.delete(pending.values().next().value!);
    this.#startWindow();
  }

  #startWindow(): void {
    this.#telemetryTimer ??= this.#clock.setTimeout(() => {
      this.#telemetryTimer = undefined;
      void this.#flushTelemetry();
    }, this.#telemetryFlushDelayMs);
  }

  #markTelemetry(table: Table<Row>, id: string, fields: readonly string[]): void {
    if (!this.#journal) return;
    let rows = this.#telemetry.get(table);
    if (!rows) {
      rows = new Map<string, Set<string>>();
      this.#telemetry.set(table, rows);
    }
    const set = rows.get(id);
    if (set) for (const field of fields) set.add(field);
    else rows.set(id, new Set(fields));
    this.#startWindow();
  }

  /** Journals the telemetry of the window: one entry per few hundred rows, the loop free between. */
  #flushTelemetry(): Promise<void> {
    this.#clock.clearTimeout(this.#telemetryTimer);
    this.#telemetryTimer = undefined;
    const run = async () => {
      await this.#telemetryFlush;
      const journal = this.#journal;
      const dirty = this.#telemetry;
      this.#telemetry = new Map();
      if (!journal) {
        this.#activity = new Set();
        return;
      }
      const written: Array<Promise<void>> = [];
      // Device activity in entries of a few hundred, the loop free between them. An event leaves
      // the pending set in the same turn it is handed to the journal, so a compaction's view (which
      // leaves out the events still pending) holds each event exactly once: in the snapshot or
      // in the journal after it.
      for (let left = this.#activity.size; left > 0; ) {
        const batch: Array<['activity', AuditEvent]> = [];
        for (const event of this.#activity) {
          if (batch.length >= TELEMETRY_ROWS_PER_ENTRY || batch.length >= left) break;
          batch.push(['activity', event]);
        }
        if (batch.length === 0) break;
        for (const [, event] of batch) this.#activity.delete(event);
        left -= batch.length;
        written.push(
          journal
            .append(batch, () => {
              // Not written: these events wait for the next window, ahead of newer ones.
              const again = new Set<AuditEvent>(batch.map(([, event]) => event));
              for (const event of this.#activity) again.add(event);
              this.#activity = again;
              this.#startWindow();
            })
            .catch(() => undefined),
        );
        if (left > 0) await yieldToLoop();
      }
      let ops: Array<['tel', string, string, Record<string, unknown>]> = [];
      const send = () => {
        const batch = ops;
        ops = [];
        written.push(
          journal
            .append(batch, () => {
              // Not written: these rows wait for the next window.
              for (const [, name, id, patch] of batch) {
                // own-key: a table name this store wrote into the batch itself
                this.#markTelemetry(this.#tables[name as TableName], id, Object.keys(patch));
              }
            })
            .catch(() => undefined),
        );
      };
      for (const [table, rows] of dirty) {
        for (const [id, fields] of rows) {
          const row = table.rows.get(id);
          if (!row) continue;
          const patch: Record<string, unknown> = {};
          // own-key: fields an update of this store named (the services' own, never a request's)
          for (const field of fields) if (Object.hasOwn(row, field)) patch[field] = row[field];
          ops.push(['tel', table.spec.name, id, patch]);
          if (ops.length >= TELEMETRY_ROWS_PER_ENTRY) {
            send();
            await yieldToLoop();
          }
        }
      }
      if (ops.length > 0) send();
      await Promise.all(written);
    };
    const flushing = run();
    this.#telemetryFlush = flushing;
    return flushing;
  }
}

/** Newest first: the events that pass every filter of the query, up to its limit (default 100). */
function listEvents(events: readonly AuditEvent[], query: AuditQuery): AuditEvent[] {
  const orgs = query.orgIds ? new Set(query.orgIds) : undefined;
  const family = query.action?.endsWith('.') === true;
  const limit = query.limit ?? 100;
  const out: AuditEvent[] = [];
  for (let i = events.length - 1; i >= 0 && out.length < limit; i--) {
    const event = events[i]!;
    if (query.until !== undefined && event.at > query.until) continue;
    if (query.since !== undefined && event.at < query.since) continue;
    if (!visibleIn(event, query.within, orgs)) continue;
    if (query.targetId !== undefined && event.targetId !== query.targetId) continue;
    if (query.actor !== undefined && event.actor !== query.actor) continue;
    if (query.action !== undefined) {
      if (family ? !event.action.startsWith(query.action) : event.action !== query.action) continue;
    }
    out.push(event);
  }
  return out;
}

/** By the org path written with the event; an event from before paths were kept, by its org. */
function visibleIn(event: AuditEvent, within: string | undefined, orgs: Set<string> | undefined): boolean {
  if (within === undefined && orgs === undefined) return true;
  if (within !== undefined && event.orgPath) return event.orgPath.includes(within);
  if (!orgs) return false;
  return event.orgId !== null && orgs.has(event.orgId);
}
