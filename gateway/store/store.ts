/**
 * The storage contract. The embedded store (lowdb JSON file) implements it today; a PostgreSQL
 * store implements the same contract later, and one contract test suite runs against both.
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

export interface Store {
  open(): Promise<void>;
  /** Writes what is pending, then releases the store. */
  close(): Promise<void>;
  /** Resolves when every change made so far is on disk. */
  flush(): Promise<void>;
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
  /** Number of times the store has written its file: coalescing is visible in tests and benchmarks. */
  readonly writeCount: number;
}
