/**
 * The tables the gateway stores, declared once: the embedded store builds its in-memory tables
 * and indexes from this list, checks a loaded file against it (validate.ts), and the backup
 * format names its tables after it. How to add a table: see the header of embedded-store.ts.
 */
import type { TSchema } from 'typebox';
import {
  DeviceEventRecord,
  DeviceGrantRecord,
  DeviceRecord,
  InvitationRecord,
  LinkTokenRecord,
  OrgRecord,
  RefreshTokenRecord,
  RoleRecord,
  TemplateRecord,
  UserRecord,
} from './records.js';

/**
 * The version of the stored shape. Bump it when a stored record changes in a way an older file
 * does not already satisfy (a new table, a new required field), and add the step to
 * MIGRATIONS in migrations.ts; the store keeps the previous file before it migrates.
 */
export const SCHEMA_VERSION = 2;

export interface TableSpec {
  /** Key in the snapshot file, the journal and the backup. */
  readonly name: TableName;
  /** What one row is called in messages ("device dev_1 already exists"). */
  readonly label: string;
  readonly schema: TSchema;
  /** Fields whose non-null values are unique across the table; each gets an O(1) index. */
  readonly unique: readonly string[];
  /**
   * Fields queries select by (an org's devices, a user's tokens): the embedded store keeps an
   * index per field (value → ids), PostgreSQL an index per column.
   */
  readonly indexed: readonly string[];
  /**
   * Fields that must name an existing row of another table (null is allowed where the record
   * type allows it). Only references every deletion path keeps: a file that breaks one was not
   * written by Tether.
   */
  readonly references: Readonly<Record<string, TableName>>;
}

export type TableName =
  | 'orgs'
  | 'users'
  | 'refreshTokens'
  | 'templates'
  | 'devices'
  | 'roles'
  | 'invitations'
  | 'linkTokens'
  | 'grants'
  | 'deviceEvents';

const table = (spec: TableSpec): TableSpec => spec;

/** In dependency order: a table is listed after the tables it references. */
export const TABLES: readonly TableSpec[] = [
  table({
    name: 'orgs',
    label: 'organization',
    schema: OrgRecord,
    unique: [],
    indexed: ['parentId'],
    references: { parentId: 'orgs' },
  }),
  table({
    name: 'users',
    label: 'user',
    schema: UserRecord,
    unique: ['email'],
    indexed: ['orgId'],
    references: { orgId: 'orgs' },
  }),
  table({
    name: 'refreshTokens',
    label: 'refresh token',
    schema: RefreshTokenRecord,
    unique: ['tokenHash'],
    indexed: ['userId'],
    references: { userId: 'users' },
  }),
  table({
    name: 'templates',
    label: 'template',
    schema: TemplateRecord,
    unique: [],
    indexed: ['orgId'],
    references: { orgId: 'orgs' },
  }),
  table({
    name: 'devices',
    label: 'device',
    schema: DeviceRecord,
    unique: ['tokenHash', 'claimCodeHash'],
    // status: the pending devices (open provisioning sessions) without reading the whole fleet.
    indexed: ['orgId', 'ownerId', 'makerOrgId', 'status'],
    references: { orgId: 'orgs' },
  }),
  table({
    name: 'roles',
    label: 'role',
    schema: RoleRecord,
    unique: [],
    indexed: ['orgId'],
    references: { orgId: 'orgs' },
  }),
  table({
    name: 'invitations',
    label: 'invitation',
    schema: InvitationRecord,
    unique: ['tokenHash'],
    indexed: ['orgId', 'userId'],
    references: { orgId: 'orgs' },
  }),
  table({
    name: 'linkTokens',
    label: 'link token',
    schema: LinkTokenRecord,
    unique: ['tokenHash'],
    indexed: ['email', 'userId', 'orgId'],
    references: {},
  }),
  table({
    name: 'grants',
    label: 'device grant',
    schema: DeviceGrantRecord,
    unique: [],
    indexed: ['deviceId', 'userId', 'email'],
    references: {},
  }),
  // A device's timeline; its events go with the device (DeviceEventService), so no reference.
  table({
    name: 'deviceEvents',
    label: 'device event',
    schema: DeviceEventRecord,
    unique: [],
    indexed: ['deviceId'],
    references: {},
  }),
];

export const TABLE_NAMES: ReadonlySet<string> = new Set(TABLES.map((t) => t.name));
