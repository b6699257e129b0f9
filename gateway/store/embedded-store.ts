/**
 * The embedded store: every record in memory, with an index per unique field, persisted to one
 * JSON file in the data folder through lowdb's text adapter (steno: a temporary file renamed over
 * the old one, an atomic replace). Changes mark the store dirty; a single timer writes them all
 * after `flushDelayMs`, so a burst of changes costs one file write.
 *
 * Serialising the whole database at once blocks the event loop (≈ 60 ms at 10k devices, seconds
 * at 100k). So each table keeps every row's JSON and re-serialises only the rows that changed,
 * in slices with a yield to the event loop between them; the file is then a join of ready text.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TextFile } from 'lowdb/node';
import { type Clock, SystemClock, type TimerHandle } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import type {
  AuditLog,
  DeviceRepository,
  GrantRepository,
  InvitationRepository,
  LinkTokenRepository,
  OrgRepository,
  RefreshTokenRepository,
  Repository,
  Store,
  UpdateOptions,
  UserRepository,
} from './store.js';
import type {
  AuditEvent,
  Device,
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

export const SCHEMA_VERSION = 1;
const AUDIT_KEEP = 100_000;
/** Rows serialised between two yields to the event loop: a few ms of work at most. */
const ROWS_PER_SLICE = 500;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Snapshot {
  schemaVersion: number;
  meta: Meta;
  orgs: Org[];
  users: User[];
  refreshTokens: RefreshToken[];
  templates: Template[];
  devices: Device[];
  audit: AuditEvent[];
  roles: Role[];
  invitations: Invitation[];
  linkTokens: LinkToken[];
  grants: DeviceGrant[];
}

const emptySnapshot = (): Snapshot => ({
  schemaVersion: SCHEMA_VERSION,
  meta: { schemaVersion: SCHEMA_VERSION, setupCodeHash: null },
  orgs: [],
  users: [],
  refreshTokens: [],
  templates: [],
  devices: [],
  audit: [],
  roles: [],
  invitations: [],
  linkTokens: [],
  grants: [],
});

class Table<T extends { id: string }> implements Repository<T> {
  readonly rows = new Map<string, T>();
  readonly #unique: Map<keyof T, Map<unknown, string>>;
  /** Each row as JSON, as last serialised; `#stale` names the rows changed since. */
  readonly #json = new Map<string, string>();
  readonly #stale = new Set<string>();

  constructor(
    readonly name: string,
    uniqueFields: ReadonlyArray<keyof T>,
    readonly onChange: (telemetry?: boolean) => void,
  ) {
    this.#unique = new Map(uniqueFields.map((field) => [field, new Map()]));
  }

  load(records: readonly T[]): void {
    for (const record of records) this.#put(record, undefined);
  }

  lookup(field: keyof T, value: unknown): T | undefined {
    const id = this.#unique.get(field)?.get(value);
    return id === undefined ? undefined : this.rows.get(id);
  }

  async get(id: string): Promise<T | undefined> {
    return this.rows.get(id);
  }

  async find(where: Partial<T> = {}): Promise<T[]> {
    return this.#match(where);
  }

  async count(where: Partial<T> = {}): Promise<number> {
    return Object.keys(where).length === 0 ? this.rows.size : this.#match(where).length;
  }

  async insert(record: T): Promise<T> {
    if (this.rows.has(record.id))
      throw new TetherError('CONFLICT', `${this.name} ${record.id} already exists.`);
    this.#checkUnique(record, undefined);
    this.#put(record, undefined);
    this.onChange();
    return record;
  }

  async update(id: string, patch: Partial<Omit<T, 'id'>>, options?: UpdateOptions): Promise<T> {
    const old = this.rows.get(id);
    if (!old) throw new TetherError('NOT_FOUND', `${this.name} ${id} does not exist.`);
    const next = { ...old, ...patch, id } as T;
    this.#checkUnique(next, old);
    this.#put(next, old);
    this.onChange(options?.telemetry === true);
    return next;
  }

  async delete(id: string): Promise<boolean> {
    const old = this.rows.get(id);
    if (!old) return false;
    this.rows.delete(id);
    this.#json.delete(id);
    this.#stale.delete(id);
    for (const [field, index] of this.#unique) index.delete(old[field]);
    this.onChange();
    return true;
  }

  /** The table as a JSON array, re-serialising only changed rows, yielding between slices. */
  async serialize(): Promise<string> {
    let done = 0;
    for (const id of [...this.#stale]) {
      this.#stale.delete(id);
      const row = this.rows.get(id);
      if (row) this.#json.set(id, JSON.stringify(row));
      if (++done % ROWS_PER_SLICE === 0) await yieldToLoop();
    }
    return `[${[...this.#json.values()].join(',')}]`;
  }

  #match(where: Partial<T>): T[] {
    const entries = Object.entries(where) as Array<[keyof T, unknown]>;
    const out: T[] = [];
    for (const row of this.rows.values()) if (entries.every(([k, v]) => row[k] === v)) out.push(row);
    return out;
  }

  #checkUnique(next: T, old: T | undefined): void {
    for (const [field, index] of this.#unique) {
      const value = next[field];
      // A value update (the telemetry hot path) leaves the unique fields as they were.
      if (value === null || value === undefined || (old && old[field] === value)) continue;
      const holder = index.get(value);
      if (holder !== undefined && holder !== old?.id) {
        throw new TetherError('CONFLICT', `${this.name} with this ${String(field)} already exists.`, {
          details: { field: String(field) },
        });
      }
    }
  }

  #put(next: T, old: T | undefined): void {
    for (const [field, index] of this.#unique) {
      const value = next[field];
      if (old && old[field] === value) continue;
      if (old) index.delete(old[field]);
      if (value !== null && value !== undefined) index.set(value, next.id);
    }
    this.rows.set(next.id, next);
    this.#stale.add(next.id);
  }
}

export interface EmbeddedStoreOptions {
  /** The JSON file; omit for a store that lives only in memory (tests, benchmarks). */
  file?: string;
  flushDelayMs?: number;
  /** Delay for changes marked `telemetry` (see UpdateOptions); default 5 s. */
  telemetryFlushDelayMs?: number;
  clock?: Clock;
}

export class EmbeddedStore implements Store {
  readonly #file: string | undefined;
  readonly #flushDelayMs: number;
  readonly #telemetryFlushDelayMs: number;
  readonly #clock: Clock;
  /** When the pending timer fires: a normal change may bring a telemetry timer forward. */
  #timerDue = 0;
  #db: TextFile | undefined;
  #meta: Meta = emptySnapshot().meta;
  #audit: AuditEvent[] = [];
  /** The audit log is append-only: each event is serialised once, as it is appended. */
  #auditJson: string[] = [];
  #timer: TimerHandle | undefined;
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;
  #writeCount = 0;
  #open = false;

  readonly orgs: Table<Org> & OrgRepository;
  readonly users: Table<User> & UserRepository;
  readonly refreshTokens: Table<RefreshToken> & RefreshTokenRepository;
  readonly templates: Table<Template>;
  readonly devices: Table<Device> & DeviceRepository;
  readonly audit: AuditLog;
  readonly roles: Table<Role>;
  readonly invitations: Table<Invitation> & InvitationRepository;
  readonly linkTokens: Table<LinkToken> & LinkTokenRepository;
  readonly grants: Table<DeviceGrant> & GrantRepository;

  constructor(options: EmbeddedStoreOptions = {}) {
    this.#file = options.file;
    this.#flushDelayMs = options.flushDelayMs ?? 500;
    this.#telemetryFlushDelayMs = options.telemetryFlushDelayMs ?? 5000;
    this.#clock = options.clock ?? new SystemClock();
    const changed = (telemetry?: boolean) => this.#changed(telemetry);
    // Grouped views for lookups on every authenticated request; rebuilt lazily after a change,
    // which for orgs and grants is rare next to reads.
    let childrenByParent: Map<string, Org[]> | undefined;
    let grantsByUser: Map<string, DeviceGrant[]> | undefined;
    let grantsByDevice: Map<string, DeviceGrant[]> | undefined;
    this.orgs = Object.assign(
      new Table<Org>('organization', [], () => {
        childrenByParent = undefined;
        changed();
      }),
      {
        childrenOf: async (parentId: string) => {
          childrenByParent ??= groupBy(this.orgs.rows.values(), (o) => o.parentId);
          return childrenByParent.get(parentId)?.slice() ?? [];
        },
      },
    );
    this.users = Object.assign(new Table<User>('user', ['email'], changed), {
      byEmail: async (email: string) => this.users.lookup('email', email.trim().toLowerCase()),
    });
    this.refreshTokens = Object.assign(new Table<RefreshToken>('refresh token', ['tokenHash'], changed), {
      byTokenHash: async (hash: string) => this.refreshTokens.lookup('tokenHash', hash),
    });
    this.templates = new Table<Template>('template', [], changed);
    this.devices = Object.assign(new Table<Device>('device', ['tokenHash', 'claimCodeHash'], changed), {
      byTokenHash: async (hash: string) => this.devices.lookup('tokenHash', hash),
      byClaimCodeHash: async (hash: string) => this.devices.lookup('claimCodeHash', hash),
    });
    this.roles = new Table<Role>('role', [], changed);
    this.invitations = Object.assign(new Table<Invitation>('invitation', ['tokenHash'], changed), {
      byTokenHash: async (hash: string) => this.invitations.lookup('tokenHash', hash),
    });
    this.linkTokens = Object.assign(new Table<LinkToken>('link token', ['tokenHash'], changed), {
      byTokenHash: async (hash: string) => this.linkTokens.lookup('tokenHash', hash),
    });
    this.grants = Object.assign(
      new Table<DeviceGrant>('device grant', [], () => {
        grantsByUser = undefined;
        grantsByDevice = undefined;
        changed();
      }),
      {
        forUser: async (userId: string) => {
          grantsByUser ??= groupBy(this.grants.rows.values(), (g) => g.userId);
          return grantsByUser.get(userId)?.slice() ?? [];
        },
        forDevice: async (deviceId: string) => {
          grantsByDevice ??= groupBy(this.grants.rows.values(), (g) => g.deviceId);
          return grantsByDevice.get(deviceId)?.slice() ?? [];
        },
      },
    );
    this.audit = {
      append: async (event) => {
        this.#audit.push(event);
        this.#auditJson.push(JSON.stringify(event));
        if (this.#audit.length > AUDIT_KEEP) {
          const excess = this.#audit.length - AUDIT_KEEP;
          this.#audit.splice(0, excess);
          this.#auditJson.splice(0, excess);
        }
        this.#changed();
      },
      list: async (query = {}) => {
        const orgs = query.orgIds ? new Set(query.orgIds) : undefined;
        const out: AuditEvent[] = [];
        for (let i = this.#audit.length - 1; i >= 0 && out.length < (query.limit ?? 100); i--) {
          const event = this.#audit[i]!;
          if (orgs && (event.orgId === null || !orgs.has(event.orgId))) continue;
          if (query.targetId && event.targetId !== query.targetId) continue;
          out.push(event);
        }
        return out;
      },
    };
  }

  get writeCount(): number {
    return this.#writeCount;
  }

  async open(): Promise<void> {
    if (this.#open) return;
    let snapshot = emptySnapshot();
    if (this.#file) {
      await mkdir(dirname(this.#file), { recursive: true, mode: 0o700 });
      snapshot = readSnapshot(this.#file) ?? snapshot;
      this.#db = new TextFile(this.#file);
    }
    this.#meta = snapshot.meta;
    this.orgs.load(snapshot.orgs);
    this.users.load(snapshot.users);
    this.refreshTokens.load(snapshot.refreshTokens);
    this.templates.load(snapshot.templates);
    this.devices.load(snapshot.devices);
    this.#audit = snapshot.audit;
    this.#auditJson = snapshot.audit.map((event) => JSON.stringify(event));
    this.roles.load(snapshot.roles);
    this.invitations.load(snapshot.invitations);
    this.linkTokens.load(snapshot.linkTokens);
    this.grants.load(snapshot.grants);
    this.#open = true;
    if (this.#file && !existsSync(this.#file)) this.#changed();
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    await this.flush();
    this.#open = false;
  }

  async flush(): Promise<void> {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#dirty) this.#writing = this.#writing.then(() => this.#write());
    await this.#writing;
  }

  async getMeta(): Promise<Meta> {
    return this.#meta;
  }

  async setMeta(patch: Partial<Meta>): Promise<Meta> {
    this.#meta = { ...this.#meta, ...patch };
    this.#changed();
    return this.#meta;
  }

  #changed(telemetry = false): void {
    if (!this.#db) return;
    this.#dirty = true;
    if (!this.#open) return;
    const delay = telemetry ? this.#telemetryFlushDelayMs : this.#flushDelayMs;
    const due = this.#clock.now() + delay;
    if (this.#timer) {
      if (this.#timerDue <= due) return;
      this.#clock.clearTimeout(this.#timer);
    }
    this.#timerDue = due;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#writing = this.#writing.then(() => this.#write());
    }, delay);
  }

  async #write(): Promise<void> {
    if (!this.#db || !this.#dirty) return;
    this.#dirty = false;
    // Compact JSON, table by table from the rows' cached text (see the header).
    const tables: Array<[keyof Snapshot, { serialize(): Promise<string> }]> = [
      ['orgs', this.orgs],
      ['users', this.users],
      ['refreshTokens', this.refreshTokens],
      ['templates', this.templates],
      ['devices', this.devices],
      ['roles', this.roles],
      ['invitations', this.invitations],
      ['linkTokens', this.linkTokens],
      ['grants', this.grants],
    ];
    const parts = [`"schemaVersion":${SCHEMA_VERSION}`, `"meta":${JSON.stringify(this.#meta)}`];
    for (const [name, table] of tables) parts.push(`"${name}":${await table.serialize()}`);
    parts.push(`"audit":[${this.#auditJson.join(',')}]`);
    this.#writeCount++;
    try {
      await this.#db.write(`{${parts.join(',')}}`);
    } catch (error) {
      // Keep the changes: the next change (or close) tries again.
      this.#dirty = true;
      throw new TetherError('INTERNAL', `Could not write the database file ${this.#file}.`, { cause: error });
    }
  }
}

/** Read and check an existing file; never replace a file we cannot read (nothing lost on bad input). */
function readSnapshot(file: string): Snapshot | undefined {
  if (!existsSync(file)) return undefined;
  let parsed: Partial<Snapshot>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Snapshot>;
  } catch (error) {
    throw new TetherError(
      'CONFIG_INVALID',
      `The database file ${file} is not valid JSON; it was left untouched. Restore it from a backup or move it away.`,
      { cause: error },
    );
  }
  const version = parsed.schemaVersion;
  if (typeof version !== 'number' || version > SCHEMA_VERSION) {
    throw new TetherError(
      'CONFIG_INVALID',
      `The database file ${file} has schema version ${String(version)}; this Tether reads up to ${SCHEMA_VERSION}. Upgrade Tether.`,
    );
  }
  return { ...emptySnapshot(), ...parsed, schemaVersion: SCHEMA_VERSION };
}

function groupBy<T>(rows: Iterable<T>, key: (row: T) => string | null): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    if (k === null) continue;
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}
