/**
 * The PostgreSQL schema, as versioned migrations run by Kysely's Migrator when the store opens
 * (recorded in its kysely_migration table; a database newer than this Tether is refused).
 *
 * Each table keeps the whole record as `doc` (jsonb: what reads return, field for field) and its
 * scalar fields again as columns, which is what queries filter, order and index on. Text columns
 * use the "C" collation: ordering by code point, the same on every server and in the embedded
 * store. A device's latest values are rows of their own (device_values), one per datastream, so a
 * value is upserted by its key, never by rewriting the device.
 *
 * A migration is frozen once released: a later change is a new entry in MIGRATIONS, never an edit.
 */
import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';
import { DEVICE_ACTIVITY_ACTIONS } from '../store-image.js';

type ColumnType = 'text' | 'float8' | 'boolean';

/**
 * The queryable (scalar) fields of each table and their column types (002 added deviceEvents, 003
 * the session fields of refreshTokens).
 */
export const COLUMNS: Readonly<Record<string, Readonly<Record<string, ColumnType>>>> = {
  orgs: {
    name: 'text',
    parentId: 'text',
    plan: 'text',
    createdAt: 'float8',
    kind: 'text',
    timezone: 'text',
  },
  users: {
    orgId: 'text',
    email: 'text',
    name: 'text',
    type: 'text',
    roleId: 'text',
    status: 'text',
    passwordHash: 'text',
    createdAt: 'float8',
    sessionsValidAfter: 'float8',
  },
  refreshTokens: {
    userId: 'text',
    tokenHash: 'text',
    createdAt: 'float8',
    expiresAt: 'float8',
    revokedAt: 'float8',
    sessionId: 'text',
    sessionStartedAt: 'float8',
    ip: 'text',
    revokedReason: 'text',
  },
  templates: {
    orgId: 'text',
    name: 'text',
    hotspotPrefix: 'text',
    minSecurity: 'float8',
    createdAt: 'float8',
  },
  devices: {
    orgId: 'text',
    ownerId: 'text',
    templateId: 'text',
    name: 'text',
    tokenHash: 'text',
    status: 'text',
    provisioningExpiresAt: 'float8',
    createdBy: 'text',
    createdAt: 'float8',
    activatedAt: 'float8',
    activatedBy: 'text',
    hardwareId: 'text',
    lastSeenAt: 'float8',
    claimCodeHash: 'text',
    makerOrgId: 'text',
    // 0, 1, 2 or "unknown": kept as text.
    provisioningSecurity: 'text',
  },
  roles: { orgId: 'text', key: 'text', name: 'text', builtIn: 'boolean', createdAt: 'float8' },
  invitations: {
    orgId: 'text',
    email: 'text',
    name: 'text',
    userId: 'text',
    roleId: 'text',
    type: 'text',
    tokenHash: 'text',
    invitedBy: 'text',
    createdAt: 'float8',
    expiresAt: 'float8',
    status: 'text',
  },
  linkTokens: {
    purpose: 'text',
    email: 'text',
    userId: 'text',
    orgId: 'text',
    tokenHash: 'text',
    createdAt: 'float8',
    expiresAt: 'float8',
    usedAt: 'float8',
  },
  grants: {
    deviceId: 'text',
    userId: 'text',
    email: 'text',
    level: 'text',
    grantedBy: 'text',
    createdAt: 'float8',
  },
  deviceEvents: {
    deviceId: 'text',
    orgId: 'text',
    code: 'text',
    name: 'text',
    level: 'text',
    description: 'text',
    at: 'float8',
    notified: 'boolean',
  },
};

/** The tables migration 001 made (frozen: later tables come with their own migration). */
const V1_TABLES = [
  'orgs',
  'users',
  'refreshTokens',
  'templates',
  'devices',
  'roles',
  'invitations',
  'linkTokens',
  'grants',
] as const;

const UNIQUE: Readonly<Record<string, readonly string[]>> = {
  users: ['email'],
  refreshTokens: ['tokenHash'],
  devices: ['tokenHash', 'claimCodeHash'],
  invitations: ['tokenHash'],
  linkTokens: ['tokenHash'],
};

const INDEXED: Readonly<Record<string, readonly string[]>> = {
  orgs: ['parentId'],
  users: ['orgId'],
  refreshTokens: ['userId'],
  templates: ['orgId'],
  devices: ['orgId', 'ownerId', 'makerOrgId', 'createdAt'],
  roles: ['orgId'],
  invitations: ['orgId', 'userId'],
  linkTokens: ['email', 'userId', 'orgId'],
  grants: ['deviceId', 'userId', 'email'],
  deviceEvents: ['deviceId'],
};

/** The name of the unique index on table.field: a CONFLICT names the field from it. */
export const uniqueIndexName = (table: string, field: string): string => `${table}_${field}_key`;

async function createTable(db: Kysely<unknown>, table: string): Promise<void> {
  const columns = COLUMNS[table]!; // own-key: a table name of the store's own schema
  const defs = Object.entries(columns).map(
    ([field, type]) =>
      sql`${sql.id(field)} ${sql.raw(type)}${sql.raw(type === 'text' ? ' COLLATE "C"' : '')}`,
  );
  await sql`CREATE TABLE ${sql.id(table)} (
    id text COLLATE "C" PRIMARY KEY,
    ${sql.join(defs)},
    doc jsonb NOT NULL
  )`.execute(db);
  // own-key: a table name of the store's own schema
  for (const field of UNIQUE[table] ?? []) {
    await sql`CREATE UNIQUE INDEX ${sql.id(uniqueIndexName(table, field))} ON ${sql.id(table)} (${sql.id(field)})`.execute(
      db,
    );
  }
  // own-key: a table name of the store's own schema
  for (const field of INDEXED[table] ?? []) {
    await sql`CREATE INDEX ${sql.id(`${table}_${field}_idx`)} ON ${sql.id(table)} (${sql.id(field)})`.execute(
      db,
    );
  }
}

const v1: Migration = {
  async up(db: Kysely<unknown>) {
    for (const table of V1_TABLES) await createTable(db, table);
    await sql`CREATE TABLE device_values (
      "deviceId" text COLLATE "C" NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
      name text COLLATE "C" NOT NULL,
      value jsonb NOT NULL,
      at float8 NOT NULL,
      PRIMARY KEY ("deviceId", name)
    )`.execute(db);
    await sql`CREATE TABLE audit (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      "orgId" text COLLATE "C",
      "targetId" text COLLATE "C",
      doc jsonb NOT NULL
    )`.execute(db);
    await sql`CREATE INDEX audit_org_idx ON audit ("orgId", seq)`.execute(db);
    await sql`CREATE INDEX audit_target_idx ON audit ("targetId", seq)`.execute(db);
    await sql`CREATE TABLE meta (id int PRIMARY KEY CHECK (id = 1), doc jsonb NOT NULL)`.execute(db);
  },
};

/** Every migration, by name; the Migrator runs them in name order. */
/** 002: device event timelines (Blynk `event/<code>`), an org's time zone, a device's provisioning security. */
const v2: Migration = {
  async up(db: Kysely<unknown>) {
    await createTable(db, 'deviceEvents');
    // New scalar fields (a database made by 001 of this version has them already).
    await sql`ALTER TABLE orgs ADD COLUMN IF NOT EXISTS timezone text COLLATE "C"`.execute(db);
    await sql`ALTER TABLE devices ADD COLUMN IF NOT EXISTS "provisioningSecurity" text COLLATE "C"`.execute(
      db,
    );
  },
};

/** The columns the audit filters read (GET /audit: org path, action, actor, time), on both event logs. */
async function eventLogColumns(db: Kysely<unknown>, table: 'audit' | 'device_activity'): Promise<void> {
  await sql`ALTER TABLE ${sql.id(table)}
    ADD COLUMN "orgPath" text[] COLLATE "C",
    ADD COLUMN action text COLLATE "C",
    ADD COLUMN actor text COLLATE "C",
    ADD COLUMN at float8`.execute(db);
  // Who may read an event is fixed when it is written: "is org X on its path" is the usual filter.
  await sql`CREATE INDEX ${sql.id(`${table}_path_idx`)} ON ${sql.id(table)} USING gin ("orgPath")`.execute(
    db,
  );
  await sql`CREATE INDEX ${sql.id(`${table}_actor_idx`)} ON ${sql.id(table)} (actor, seq)`.execute(db);
  await sql`CREATE INDEX ${sql.id(`${table}_at_idx`)} ON ${sql.id(table)} (at)`.execute(db);
}

/**
 * 003: the audit log's filters (org path, action, actor, time) as columns; device activity (the
 * commands people send devices) in a bounded table of its own, apart from the audit log, which is
 * no longer trimmed; the session fields of refresh tokens.
 */
const v3: Migration = {
  async up(db: Kysely<unknown>) {
    await eventLogColumns(db, 'audit');
    await sql`UPDATE audit SET
      "orgPath" = CASE WHEN jsonb_typeof(doc->'orgPath') = 'array'
        THEN ARRAY(SELECT jsonb_array_elements_text(doc->'orgPath')) END,
      action = doc->>'action', actor = doc->>'actor', at = (doc->>'at')::float8`.execute(db);
    // Commands written to the audit log before 003 move to the device-activity log.
    await sql`CREATE TABLE device_activity (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      "orgId" text COLLATE "C",
      "targetId" text COLLATE "C",
      doc jsonb NOT NULL
    )`.execute(db);
    await eventLogColumns(db, 'device_activity');
    await sql`CREATE INDEX device_activity_target_idx ON device_activity ("targetId", seq)`.execute(db);
    await sql`WITH moved AS (
        DELETE FROM audit WHERE action = ANY(${[...DEVICE_ACTIVITY_ACTIONS]}) RETURNING *
      )
      INSERT INTO device_activity ("orgId", "targetId", "orgPath", action, actor, at, doc)
      SELECT "orgId", "targetId", "orgPath", action, actor, at, doc FROM moved ORDER BY seq`.execute(db);
    for (const [field, type] of [
      ['sessionId', 'text COLLATE "C"'],
      ['sessionStartedAt', 'float8'],
      ['ip', 'text COLLATE "C"'],
      ['revokedReason', 'text COLLATE "C"'],
    ] as const) {
      await sql`ALTER TABLE "refreshTokens" ADD COLUMN IF NOT EXISTS ${sql.id(field)} ${sql.raw(type)}`.execute(
        db,
      );
    }
    await sql`UPDATE "refreshTokens" SET "sessionId" = doc->>'sessionId',
      "sessionStartedAt" = (doc->>'sessionStartedAt')::float8, ip = doc->>'ip',
      "revokedReason" = doc->>'revokedReason'`.execute(db);
  },
};

/** The tables whose records plan limits count per org (org_counts, kept by the triggers of 004). */
export const ORG_COUNTED_TABLES = ['users', 'templates', 'devices'] as const;

/**
 * 004: how many users, templates and devices each org holds, as rows of org_counts kept by
 * triggers in the same transaction as every insert, delete and move (a change of orgId): a plan
 * limit sums a few rows instead of counting a million devices inside the transaction every
 * provisioning session waits for. Each statement's changes go in as one upsert in orgId order (two
 * statements touching the same orgs lock their rows in the same order); an org's row goes when
 * its count reaches 0. Back-filled from the tables: the triggers are created first, and creating
 * one locks its table against writes until this migration commits, so no write falls between.
 * Also an index of the pending devices by deadline, which opening a session reads (the expired
 * ones it purges and does not count).
 */
const v4: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`CREATE TABLE org_counts (
      "table" text COLLATE "C" NOT NULL,
      "orgId" text COLLATE "C" NOT NULL,
      n bigint NOT NULL,
      PRIMARY KEY ("table", "orgId")
    )`.execute(db);
    await sql`CREATE FUNCTION org_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO org_counts ("table", "orgId", n)
          SELECT TG_TABLE_NAME, "orgId", count(*) FROM added WHERE "orgId" IS NOT NULL
          GROUP BY "orgId" ORDER BY "orgId"
          ON CONFLICT ("table", "orgId") DO UPDATE SET n = org_counts.n + excluded.n;
        RETURN NULL;
      END $$`.execute(db);
    await sql`CREATE FUNCTION org_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO org_counts ("table", "orgId", n)
          SELECT TG_TABLE_NAME, "orgId", -count(*) FROM removed WHERE "orgId" IS NOT NULL
          GROUP BY "orgId" ORDER BY "orgId"
          ON CONFLICT ("table", "orgId") DO UPDATE SET n = org_counts.n + excluded.n;
        DELETE FROM org_counts WHERE "table" = TG_TABLE_NAME AND n = 0
          AND "orgId" IN (SELECT "orgId" FROM removed);
        RETURN NULL;
      END $$`.execute(db);
    await sql`CREATE FUNCTION org_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO org_counts ("table", "orgId", n)
          SELECT TG_TABLE_NAME, v.org, v.n FROM (VALUES (OLD."orgId", -1), (NEW."orgId", 1)) AS v(org, n)
          WHERE v.org IS NOT NULL ORDER BY v.org
          ON CONFLICT ("table", "orgId") DO UPDATE SET n = org_counts.n + excluded.n;
        DELETE FROM org_counts WHERE "table" = TG_TABLE_NAME AND "orgId" = OLD."orgId" AND n = 0;
        RETURN NULL;
      END $$`.execute(db);
    for (const table of ORG_COUNTED_TABLES) {
      await sql`CREATE TRIGGER ${sql.id(`${table}_counted_insert`)} AFTER INSERT ON ${sql.id(table)}
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION org_counts_added()`.execute(db);
      await sql`CREATE TRIGGER ${sql.id(`${table}_counted_delete`)} AFTER DELETE ON ${sql.id(table)}
        REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION org_counts_removed()`.execute(
        db,
      );
      // Row by row: a trigger with a column list cannot have transition tables, and only a change
      // of orgId (rare: a transfer, a move) runs it; telemetry's updates never name that column.
      await sql`CREATE TRIGGER ${sql.id(`${table}_counted_move`)} AFTER UPDATE OF "orgId" ON ${sql.id(table)}
        FOR EACH ROW WHEN (OLD."orgId" IS DISTINCT FROM NEW."orgId") EXECUTE FUNCTION org_counts_moved()`.execute(
        db,
      );
      await sql`INSERT INTO org_counts ("table", "orgId", n)
        SELECT ${table}, "orgId", count(*) FROM ${sql.id(table)} WHERE "orgId" IS NOT NULL
        GROUP BY "orgId"`.execute(db);
    }
    await sql`CREATE INDEX devices_pending_idx ON devices ("provisioningExpiresAt")
      WHERE status = 'pending'`.execute(db);
  },
};

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '001_tables': v1,
  '002_device_events': v2,
  '003_audit_filters_device_activity': v3,
  '004_org_counts': v4,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};
