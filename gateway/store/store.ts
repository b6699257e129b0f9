/**
 * The storage contract. The embedded store (in memory, journaled to the data folder) implements it
 * today; a PostgreSQL store implements the same contract later, and one contract test suite runs
 * against both.
 * Methods are async so that a networked store fits; the embedded store answers from memory.
 */
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

/** A datastream's latest value, as a device reported it (or a person wrote it). */
export type LatestValue = Device['values'][string];

/** A value a query compares: the record fields that hold a string, number, boolean or null. */
export type Scalar = string | number | boolean | null;

/** The fields of T that queries filter and order on (nested objects and lists are not queryable). */
export type QueryField<T> = {
  [K in keyof T & string]-?: Exclude<T[K], undefined> extends Scalar ? K : never;
}[keyof T & string];

/**
 * Conditions on one field; several in one object must all hold. As in SQL, `gt`/`gte`/`lt`/`lte`
 * and `in` never match null; `ne` does (null is distinct from every value), and `ne: null` is
 * "is not null". An absent optional field is null.
 */
export interface Condition<V> {
  in?: readonly V[];
  notIn?: readonly V[];
  ne?: V | null;
  gt?: V;
  gte?: V;
  lt?: V;
  lte?: V;
}

/**
 * Which records: every field condition holds (a bare value is equality; null is "is null"), and
 * when `anyOf` is given, at least one of its filters holds too.
 */
export type Where<T> = {
  [K in QueryField<T>]?: T[K] | null | Condition<NonNullable<T[K]>>;
} & { anyOf?: ReadonlyArray<Where<T>> };

export interface OrderBy<T> {
  field: QueryField<T>;
  /** Default ascending. Nulls sort last ascending and first descending (as PostgreSQL). */
  direction?: 'asc' | 'desc';
}

export interface FindOptions<T> {
  /**
   * Default: by id. Rows that tie on every key are ordered by id in the last key's direction, so
   * an order is total and pages never overlap. Text compares by code point, not by locale.
   */
  orderBy?: OrderBy<T> | ReadonlyArray<OrderBy<T>>;
  /** At most this many rows (a whole number, 0 or more). */
  limit?: number;
  /** Skip this many rows first. */
  offset?: number;
  /**
   * Keyset paging: only rows after this one in the query's order. Pass the last row of the
   * previous page (or its id and order fields); cheaper than a large offset on a large table.
   */
  after?: { id: string } & Partial<T>;
}

export interface Repository<T extends { id: string }> {
  get(id: string): Promise<T | undefined>;
  /**
   * get() without a promise, where the store holds every record in memory (the embedded store);
   * a networked store leaves it out. The MQTT hot path reads through it when it is there.
   */
  peek?(id: string): T | undefined;
  /** The records that match `where` (all when omitted), in order, one page when asked. */
  find(where?: Where<T>, options?: FindOptions<T>): Promise<T[]>;
  count(where?: Where<T>): Promise<number>;
  /** Fails with CONFLICT when the id or a unique field is taken. */
  insert(record: T): Promise<T>;
  /** Several records at once, all or none (CONFLICT names the first taken id or unique field). */
  insertMany(records: readonly T[]): Promise<void>;
  /** Shallow-merges `patch` (a field set to undefined is removed); fails with NOT_FOUND or CONFLICT. */
  update(id: string, patch: Partial<Omit<T, 'id'>>): Promise<T>;
  delete(id: string): Promise<boolean>;
  /** Deletes every record that matches; how many went. */
  deleteWhere(where: Where<T>): Promise<number>;
}

/** A table whose records each belong to one org (orgId): how many each org holds is kept as they change. */
export interface OrgCounted {
  /**
   * How many records these orgs hold (an id given twice counts once). Each org's count is kept by
   * the same transaction as every insert, delete and move of its records (a rolled-back one leaves
   * it as it was), so this costs O(orgs) whatever the table's size: what a plan-limit check reads
   * while other transactions wait for it.
   */
  countInOrgs(orgIds: readonly string[]): Promise<number>;
}

export interface UserRepository extends Repository<User>, OrgCounted {
  byEmail(email: string): Promise<User | undefined>;
}

export interface TemplateRepository extends Repository<Template>, OrgCounted {}

export interface DeviceRepository extends Repository<Device>, OrgCounted {
  /** The hot lookup of every MQTT CONNECT: O(1), no I/O in the embedded store. */
  byTokenHash(tokenHash: string): Promise<Device | undefined>;
  /** A static-token device by the hash of its (unused) claim code: O(1). */
  byClaimCodeHash(claimCodeHash: string): Promise<Device | undefined>;
  /**
   * Telemetry, the MQTT hot path: upserts the latest values key by key (a key given null is
   * removed, keys not named are kept, so two writes of different keys both survive, whatever
   * their order) and sets lastSeenAt when given, in one step. Durable within the store's
   * telemetry window rather than when it resolves: continuous telemetry is batched. NOT_FOUND
   * when the device does not exist.
   */
  putValues(
    deviceId: string,
    values: Readonly<Record<string, LatestValue | null>>,
    lastSeenAt?: number,
  ): Promise<Device>;
  /** putValues() done at once, where peek() is (and outside a transaction): the MQTT hot path. */
  putValuesNow?(
    deviceId: string,
    values: Readonly<Record<string, LatestValue | null>>,
    lastSeenAt?: number,
  ): Device;
}

export interface RefreshTokenRepository extends Repository<RefreshToken> {
  byTokenHash(tokenHash: string): Promise<RefreshToken | undefined>;
}

export interface OrgRepository extends Repository<Org> {
  /**
   * The org and every org below it, the org first, then level by level (each level by id): one
   * query, whatever the depth. Every authenticated request reads the caller's subtree.
   */
  subtree(orgId: string): Promise<Org[]>;
  /** The org and its ancestors up to the root, the org first; empty when it does not exist. */
  ancestors(orgId: string): Promise<Org[]>;
}

export interface InvitationRepository extends Repository<Invitation> {
  byTokenHash(tokenHash: string): Promise<Invitation | undefined>;
}

export interface LinkTokenRepository extends Repository<LinkToken> {
  byTokenHash(tokenHash: string): Promise<LinkToken | undefined>;
}

export interface GrantRepository extends Repository<DeviceGrant> {
  /** The grants a user holds: read on every authenticated request, so O(grants of that user). */
  forUser(userId: string): Promise<DeviceGrant[]>;
  forDevice(deviceId: string): Promise<DeviceGrant[]>;
}

export interface AuditQuery {
  /** Events of this org or an org below it, as the tree was when each happened (event.orgPath). */
  within?: string;
  /** Events whose org is one of these (events written before orgPath existed are matched so). */
  orgIds?: readonly string[];
  targetId?: string;
  /** One action (`user.deleted`), or every action of a family (`user.`). */
  action?: string;
  actor?: string;
  /** Inclusive bounds on `at`. */
  since?: number;
  until?: number;
  limit?: number;
}

/** An append-only log, read newest first. */
export interface AuditLog {
  append(event: AuditEvent): Promise<void>;
  list(query?: AuditQuery): Promise<AuditEvent[]>;
}

/** Every table of the store: what a transaction gets, and what the store itself answers. */
export interface StoreTables {
  readonly orgs: OrgRepository;
  readonly users: UserRepository;
  readonly refreshTokens: RefreshTokenRepository;
  readonly templates: TemplateRepository;
  readonly devices: DeviceRepository;
  /** Account, ownership and configuration history: append-only, never trimmed by count. */
  readonly audit: AuditLog;
  /**
   * Commands people send devices (datastream writes, reboots, pings, reconfigure): high-rate, so
   * kept apart and bounded (the oldest go first), never at the cost of the audit log. Like
   * telemetry, an append outside a transaction may resolve before it is durable: it is on disk
   * within the telemetry window (the embedded store; PostgreSQL writes it at once).
   */
  readonly deviceActivity: AuditLog;
  /** Role permissions per org (id `<orgId>/<roleKey>`). */
  readonly roles: Repository<Role>;
  readonly invitations: InvitationRepository;
  readonly linkTokens: LinkTokenRepository;
  readonly grants: GrantRepository;
  /** Device event timelines (Blynk `event/<code>`). */
  readonly deviceEvents: Repository<DeviceEvent>;
  getMeta(): Promise<Meta>;
  setMeta(patch: Partial<Meta>): Promise<Meta>;
}

/**
 * The store's table members, declared once for every backend (StoreTables says what they are): a
 * backend builds its tables and hands them to adoptTables() in its constructor.
 */
export abstract class StoreTablesMembers implements StoreTables {
  declare readonly orgs: OrgRepository;
  declare readonly users: UserRepository;
  declare readonly refreshTokens: RefreshTokenRepository;
  declare readonly templates: TemplateRepository;
  declare readonly devices: DeviceRepository;
  declare readonly audit: AuditLog;
  declare readonly deviceActivity: AuditLog;
  declare readonly roles: Repository<Role>;
  declare readonly invitations: InvitationRepository;
  declare readonly linkTokens: LinkTokenRepository;
  declare readonly grants: GrantRepository;
  declare readonly deviceEvents: Repository<DeviceEvent>;
  declare readonly getMeta: StoreTables['getMeta'];
  declare readonly setMeta: StoreTables['setMeta'];

  protected adoptTables(tables: StoreTables): void {
    Object.assign(this, tables);
  }
}

/** One piece of a consistent copy of the whole store (Store.dump()), in no backend's own shape. */
export type DumpPart =
  | { kind: 'meta'; schemaVersion: number; meta: Meta }
  | { kind: 'rows'; table: string; rows: readonly object[] }
  | { kind: 'audit'; events: readonly AuditEvent[] }
  | { kind: 'activity'; events: readonly AuditEvent[] };

/** Whether the store can write now: /readyz and the metrics read it. */
export interface StoreHealth {
  writable: boolean;
  /** Why writes fail, while they do (code STORE_UNAVAILABLE). */
  error?: { code: string; message: string };
}

/**
 * A change through the store's own tables is committed by itself: its promise resolves once it
 * is durable (on disk for the embedded store), so an HTTP 2xx sent after awaiting it means the
 * change survives a crash. A write that cannot be made durable rejects with STORE_UNAVAILABLE and
 * is not applied. Telemetry (DeviceRepository.putValues) and device activity (deviceActivity.append)
 * are the exception: they resolve at once and are durable within the store's telemetry window.
 */
export interface Store extends StoreTables {
  /** Which implementation: backups name the store they came from. */
  readonly backend: string;
  open(): Promise<void>;
  /** Writes what is pending (telemetry included), then releases the store. */
  close(): Promise<void>;
  /** Everything changed so far, telemetry included, on disk (the embedded store: in its snapshot). */
  flush(): Promise<void>;
  /**
   * Runs `fn` with tables whose changes commit together when it resolves: all of them durable, or
   * none of them (when `fn` throws, or the commit fails, every change it made is undone).
   * Transactions run one at a time; use `tx` inside, never the store's own tables.
   */
  transaction<T>(fn: (tx: StoreTables) => Promise<T>): Promise<T>;
  /**
   * Every record as of one instant, each change before it durable: the meta record, each table's
   * rows in batches, then the audit log and the device-activity log, each oldest first. The store
   * keeps serving meanwhile. Backups are made of this, and restored into any backend.
   */
  dump(): AsyncIterable<DumpPart>;
  /** Resolves once every change made so far (telemetry, device activity aside) is durable or has failed. */
  committed(): Promise<void>;
  health(): StoreHealth;
}
