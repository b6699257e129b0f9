/**
 * The storage contract. The embedded store (in memory, journaled to the data folder) implements it
 * today; a PostgreSQL store implements the same contract later, and one contract test suite runs
 * against both.
 * Methods are async so that a networked store fits; the embedded store answers from memory.
 */
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

export interface UpdateOptions {
  /**
   * High-rate data (latest datastream values, last seen): the change may wait longer for the disk
   * than other changes, so continuous telemetry does not re-serialize the database every flush
   * window. Other changes still flush on their own schedule and carry it along.
   */
  telemetry?: boolean;
}

export interface Repository<T extends { id: string }> {
  get(id: string): Promise<T | undefined>;
  /** Records whose fields equal every field of `where` (all records when empty). */
  find(where?: Partial<T>): Promise<T[]>;
  count(where?: Partial<T>): Promise<number>;
  /** Fails with CONFLICT when the id or a unique field is taken. */
  insert(record: T): Promise<T>;
  /** Shallow-merges `patch`; fails with NOT_FOUND or CONFLICT. */
  update(id: string, patch: Partial<Omit<T, 'id'>>, options?: UpdateOptions): Promise<T>;
  delete(id: string): Promise<boolean>;
}

export interface UserRepository extends Repository<User> {
  byEmail(email: string): Promise<User | undefined>;
}

export interface DeviceRepository extends Repository<Device> {
  /** The hot lookup of every MQTT CONNECT: O(1), no I/O in the embedded store. */
  byTokenHash(tokenHash: string): Promise<Device | undefined>;
  /** A static-token device by the hash of its (unused) claim code: O(1). */
  byClaimCodeHash(claimCodeHash: string): Promise<Device | undefined>;
}

export interface RefreshTokenRepository extends Repository<RefreshToken> {
  byTokenHash(tokenHash: string): Promise<RefreshToken | undefined>;
}

export interface OrgRepository extends Repository<Org> {
  /** Direct children: every authenticated request walks the caller's subtree with this. */
  childrenOf(parentId: string): Promise<Org[]>;
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

export interface AuditLog {
  append(event: AuditEvent): Promise<void>;
  /** Newest first. */
  list(query?: { orgIds?: readonly string[]; targetId?: string; limit?: number }): Promise<AuditEvent[]>;
}

/** Every table of the store: what a transaction gets, and what the store itself answers. */
export interface StoreTables {
  readonly orgs: OrgRepository;
  readonly users: UserRepository;
  readonly refreshTokens: RefreshTokenRepository;
  readonly templates: Repository<Template>;
  readonly devices: DeviceRepository;
  readonly audit: AuditLog;
  /** Role permissions per org (id `<orgId>/<roleKey>`). */
  readonly roles: Repository<Role>;
  readonly invitations: InvitationRepository;
  readonly linkTokens: LinkTokenRepository;
  readonly grants: GrantRepository;
  getMeta(): Promise<Meta>;
  setMeta(patch: Partial<Meta>): Promise<Meta>;
}

/** One piece of a consistent copy of the whole store (Store.dump()), in no backend's own shape. */
export type DumpPart =
  | { kind: 'meta'; schemaVersion: number; meta: Meta }
  | { kind: 'rows'; table: string; rows: readonly object[] }
  | { kind: 'audit'; events: readonly AuditEvent[] };

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
 * is not applied. Telemetry updates (UpdateOptions.telemetry) are the exception: they resolve at
 * once and reach the disk within the store's telemetry window.
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
   * rows in batches, then the audit log, oldest first. The store keeps serving meanwhile. Backups
   * are made of this, and restored into any backend.
   */
  dump(): AsyncIterable<DumpPart>;
  /** Resolves once every change made so far (telemetry aside) is durable or has failed. */
  committed(): Promise<void>;
  health(): StoreHealth;
}
