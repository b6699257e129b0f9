/**
 * The store contract on PostgreSQL (store.backend = postgres, store.url): Kysely on node-postgres.
 * The schema is versioned migrations (schema.ts) run at open. Queries, ordering and paging are SQL
 * (sql-query.ts); the org subtree is one recursive query; a device's latest values are rows
 * upserted key by key.
 *
 * Transactions. transaction(fn) is a database transaction that first takes one advisory lock, so
 * transactions run one at a time across every gateway sharing the database, as they do in the
 * embedded store: a check and the insert it guards (a plan limit, a claim code) cannot interleave
 * with another transaction's. They are the rarer, deliberate changes (provisioning, claims, org
 * deletion); single writes and telemetry do not take the lock. What a check inside one reads must
 * be cheap, since every other transaction waits for it: plan limits read per-org counts (org_counts,
 * kept by triggers in the writing transaction), not a count of the devices.
 *
 * Durability: every write is committed (PostgreSQL's own WAL) before its promise resolves,
 * telemetry included; there is no telemetry window to lose.
 */
import { Kysely, type Kysely as KyselyType, Migrator, PostgresDialect, type RawBuilder, sql } from 'kysely';
import pg from 'pg';
import { TetherError } from '../../../shared/errors.js';
import type {
  AuditLog,
  AuditQuery,
  DumpPart,
  FindOptions,
  LatestValue,
  Repository,
  Store,
  StoreHealth,
  StoreTables,
  Where,
} from '../store.js';
import { StoreTablesMembers } from '../store.js';
import { DEVICE_ACTIVITY_KEEP, emptyImage } from '../store-image.js';
import { TABLES, type TableName } from '../tables.js';
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
} from '../types.js';
import { postgresAddress } from './address.js';
import { COLUMNS, migrationProvider, type ORG_COUNTED_TABLES, uniqueIndexName } from './schema.js';
import { afterSql, pageSql, whereSql } from './sql-query.js';

// biome-ignore lint/suspicious/noExplicitAny: tables are addressed by name; rows are checked by the contract
type Db = KyselyType<any>;
type Row = { id: string } & Record<string, unknown>;
type Keyed = { id: string };

/** Rows per statement of a bulk insert (PostgreSQL takes at most 65,535 parameters). */
const INSERT_BATCH = 500;
const DUMP_BATCH = 500;
/** One key for every store transaction: they run one at a time ("tether" in ASCII). */
const TRANSACTION_LOCK = 0x746574686572;
/** Deeper than any tree the org service allows. */
const MAX_ORG_DEPTH = 64;
/** The bounded device-activity log is trimmed after this many appends (of one node). */
const TRIM_EVERY = 1000;
const GRANT_ORDER: FindOptions<DeviceGrant> = { orderBy: { field: 'createdAt' } };

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Device-activity events kept (default DEVICE_ACTIVITY_KEEP); tests make it small. */
  deviceActivityKeep?: number;
}

export class PostgresStore extends StoreTablesMembers implements Store {
  readonly backend = 'postgres';
  readonly #options: PostgresStoreOptions;
  #db: Db | undefined;
  #health: StoreHealth = { writable: true };
  #appends = 0;

  constructor(options: PostgresStoreOptions) {
    super();
    this.#options = options;
    const tables = this.#tables(() => this.#open());
    this.adoptTables(tables);
  }

  async open(): Promise<void> {
    if (this.#db) return;
    const pool = new pg.Pool({ connectionString: this.#options.url, max: this.#options.poolSize ?? 10 });
    // An idle connection that breaks (the server restarts) must not end the process.
    pool.on('error', (error) => this.#failed(error));
    const db: Db = new Kysely({ dialect: new PostgresDialect({ pool }) });
    try {
      const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
      if (error) {
        if (isConnectionError(error)) throw unavailable(error, this.#options.url);
        const failed = results?.find((r) => r.status === 'Error')?.migrationName;
        throw new TetherError(
          'STORE_UNAVAILABLE',
          `The PostgreSQL schema could not be brought up to date${failed ? ` (migration ${failed})` : ''}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      const initial = emptyImage().meta;
      await sql`INSERT INTO meta (id, doc) VALUES (1, ${JSON.stringify(initial)}::jsonb) ON CONFLICT (id) DO NOTHING`.execute(
        db,
      );
    } catch (error) {
      await db.destroy().catch(() => undefined);
      throw unavailable(error, this.#options.url);
    }
    this.#db = db;
    this.#health = { writable: true };
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    await db?.destroy();
  }

  /** Every write is committed when it resolves: nothing waits. */
  async flush(): Promise<void> {}

  async committed(): Promise<void> {}

  health(): StoreHealth {
    return this.#health;
  }

  async transaction<T>(fn: (tx: StoreTables) => Promise<T>): Promise<T> {
    const db = this.#open();
    return run(
      () =>
        db.transaction().execute(async (trx) => {
          await sql`SELECT pg_advisory_xact_lock(${TRANSACTION_LOCK})`.execute(trx);
          let active = true;
          try {
            return await fn(
              this.#tables(() => {
                if (!active) {
                  throw new TetherError(
                    'INTERNAL',
                    'This transaction has finished; its tables cannot be used any more.',
                  );
                }
                return trx;
              }),
            );
          } finally {
            active = false;
          }
        }),
      (error) => this.#failed(error),
    );
  }

  /** One consistent copy: a repeatable-read, read-only transaction over every table. */
  async *dump(): AsyncGenerator<DumpPart> {
    const db = this.#open();
    const trx = await startSnapshot(db);
    try {
      const meta = await readMeta(trx.db);
      yield { kind: 'meta', schemaVersion: meta.schemaVersion, meta };
      for (const table of Object.keys(COLUMNS)) {
        let after: string | undefined;
        for (;;) {
          const rows = await readRows(
            trx.db,
            table,
            after === undefined ? undefined : { id: { gt: after } },
            {
              limit: DUMP_BATCH,
            },
          );
          if (rows.length > 0) yield { kind: 'rows', table, rows };
          if (rows.length < DUMP_BATCH) break;
          after = rows.at(-1)!.id;
        }
      }
      for (const [table, kind] of [
        ['audit', 'audit'],
        ['device_activity', 'activity'],
      ] as const) {
        let seq = 0;
        for (;;) {
          const { rows } = await sql<{ seq: string; doc: AuditEvent }>`
            SELECT seq, doc FROM ${sql.id(table)} WHERE seq > ${seq} ORDER BY seq LIMIT ${DUMP_BATCH}`.execute(
            trx.db,
          );
          if (rows.length > 0) yield { kind, events: rows.map((r) => r.doc) };
          if (rows.length < DUMP_BATCH) break;
          seq = Number(rows.at(-1)!.seq);
        }
      }
      await trx.commit();
    } catch (error) {
      await trx.rollback();
      throw error;
    }
  }

  /** Whether the database holds no record at all (a restore or migration goes only into an empty store). */
  async isEmpty(): Promise<boolean> {
    const db = this.#open();
    for (const table of [...Object.keys(COLUMNS), 'audit', 'device_activity']) {
      const { rows } = await sql`SELECT 1 FROM ${sql.id(table)} LIMIT 1`.execute(db);
      if (rows.length > 0) return false;
    }
    return true;
  }

  #open(): Db {
    if (!this.#db) throw new TetherError('INTERNAL', 'The store is not open.');
    return this.#db;
  }

  #failed(error: unknown): void {
    if (!isConnectionError(error)) return;
    this.#health = {
      writable: false,
      error: { code: 'STORE_UNAVAILABLE', message: `PostgreSQL is unreachable: ${(error as Error).message}` },
    };
  }

  /**
   * An append-only log read newest first. `keep` bounds it (the device-activity log): the oldest
   * go, checked every TRIM_EVERY appends (fewer for a small bound), so it holds at most about
   * keep + TRIM_EVERY events per node.
   * Without `keep` (the audit log) nothing is ever trimmed.
   */
  #eventLog(
    table: 'audit' | 'device_activity',
    db: () => Db,
    exec: <R>(op: () => Promise<R>) => Promise<R>,
    keep?: number,
  ): AuditLog {
    return {
      append: (event) =>
        exec(async () => {
          await sql`INSERT INTO ${sql.id(table)} ("orgId", "targetId", "orgPath", action, actor, at, doc)
            VALUES (${event.orgId}, ${event.targetId}, ${event.orgPath ?? null}, ${event.action},
              ${event.actor}, ${event.at}, ${JSON.stringify(event)}::jsonb)`.execute(db());
          const limit = keep === undefined ? undefined : (this.#options.deviceActivityKeep ?? keep);
          if (limit !== undefined && ++this.#appends % Math.min(TRIM_EVERY, limit) === 0) {
            await sql`DELETE FROM ${sql.id(table)}
              WHERE seq <= (SELECT max(seq) FROM ${sql.id(table)}) - ${limit}`.execute(db());
          }
        }),
      list: (query = {}) =>
        exec(async () => {
          const { rows } = await sql<{ doc: AuditEvent }>`
            SELECT doc FROM ${sql.id(table)} WHERE ${auditWhere(query)}
            ORDER BY seq DESC LIMIT ${query.limit ?? 100}`.execute(db());
          return rows.map((r) => r.doc);
        }),
    };
  }

  /** The repositories, each statement run on what `db()` gives: the pool, or a transaction. */
  #tables(db: () => Db): StoreTables {
    const onError = (error: unknown) => this.#failed(error);
    const ok = () => {
      if (!this.#health.writable) this.#health = { writable: true };
    };
    const exec = <R>(op: () => Promise<R>) =>
      run(op, onError).then((r) => {
        ok();
        return r;
      });
    const repo = <T extends { id: string }>(table: TableName) => new PgRepository<T>(table, db, exec);
    const lookup =
      <T>(table: TableName, field: string, normalise = (v: string) => v) =>
      async (value: string): Promise<T | undefined> =>
        (
          await repo<{ id: string }>(table).find({ [field]: normalise(value) } as Where<{ id: string }>, {
            limit: 1,
          })
        )[0] as T | undefined;
    const devices = repo<Device>('devices');
    // Rows of org_counts, kept by triggers in the writing transaction (schema.ts, 004).
    const countInOrgs = (table: (typeof ORG_COUNTED_TABLES)[number]) => (orgIds: readonly string[]) =>
      exec(async () => {
        const ids = [...new Set(orgIds)];
        if (ids.length === 0) return 0;
        const { rows } = await sql<{ n: number }>`
          SELECT coalesce(sum(n), 0)::int AS n FROM org_counts
          WHERE "table" = ${table} AND "orgId" = ANY(${ids})`.execute(db());
        return rows[0]!.n;
      });
    return {
      orgs: Object.assign(repo<Org>('orgs'), {
        subtree: (orgId: string) =>
          exec(async () => {
            const { rows } = await sql<{ doc: Org }>`
              WITH RECURSIVE tree AS (
                SELECT id, doc, 0 AS depth FROM orgs WHERE id = ${orgId}
                UNION ALL
                SELECT o.id, o.doc, tree.depth + 1 FROM orgs o JOIN tree ON o."parentId" = tree.id
                WHERE tree.depth < ${MAX_ORG_DEPTH}
              )
              SELECT doc FROM tree ORDER BY depth, id`.execute(db());
            return rows.map((r) => r.doc);
          }),
        ancestors: (orgId: string) =>
          exec(async () => {
            const { rows } = await sql<{ doc: Org }>`
              WITH RECURSIVE up AS (
                SELECT id, "parentId", doc, 0 AS depth FROM orgs WHERE id = ${orgId}
                UNION ALL
                SELECT o.id, o."parentId", o.doc, up.depth + 1 FROM orgs o JOIN up ON o.id = up."parentId"
                WHERE up.depth < ${MAX_ORG_DEPTH}
              )
              SELECT doc FROM up ORDER BY depth`.execute(db());
            return rows.map((r) => r.doc);
          }),
      }),
      users: Object.assign(repo<User>('users'), {
        byEmail: lookup<User>('users', 'email', (email) => email.trim().toLowerCase()),
        countInOrgs: countInOrgs('users'),
      }),
      refreshTokens: Object.assign(repo<RefreshToken>('refreshTokens'), {
        byTokenHash: lookup<RefreshToken>('refreshTokens', 'tokenHash'),
      }),
      templates: Object.assign(repo<Template>('templates'), { countInOrgs: countInOrgs('templates') }),
      devices: Object.assign(devices, {
        byTokenHash: lookup<Device>('devices', 'tokenHash'),
        countInOrgs: countInOrgs('devices'),
        byClaimCodeHash: lookup<Device>('devices', 'claimCodeHash'),
        putValues: (
          deviceId: string,
          values: Readonly<Record<string, LatestValue | null>>,
          lastSeenAt?: number,
        ) =>
          exec(async () => {
            const set = Object.entries(values)
              .filter((e): e is [string, LatestValue] => e[1] !== null)
              .map(([name, v]) => ({ name, value: v.value, at: v.at }));
            const removed = Object.entries(values)
              .filter(([, v]) => v === null)
              .map(([k]) => k);
            // One statement, one round trip (telemetry's hot path): the device row is locked
            // (updated, or selected FOR UPDATE) until it commits, its keys are upserted or removed,
            // and the values it held before come back with it. A statement's reads see the rows as
            // they were when it began, so the values returned are those merged with this write's
            // keys; a concurrent write of another key is stored all the same (keys never overwrite
            // each other), though this answer may not show it.
            const { rows } = await sql<{ doc: Device; vals: Device['values'] | null }>`
              WITH d AS (${
                lastSeenAt === undefined
                  ? sql`SELECT id, doc FROM devices WHERE id = ${deviceId} FOR UPDATE`
                  : sql`UPDATE devices SET "lastSeenAt" = ${lastSeenAt},
                      doc = jsonb_set(doc, '{lastSeenAt}', to_jsonb(${lastSeenAt}::float8))
                    WHERE id = ${deviceId} RETURNING id, doc`
              }),
              upserted AS (
                INSERT INTO device_values ("deviceId", name, value, at)
                SELECT d.id, v.name, v.value, v.at
                FROM d, jsonb_to_recordset(${JSON.stringify(set)}::jsonb) AS v(name text, value jsonb, at float8)
                ON CONFLICT ("deviceId", name) DO UPDATE SET value = excluded.value, at = excluded.at
                RETURNING 1
              ),
              deleted AS (
                DELETE FROM device_values
                WHERE "deviceId" = (SELECT id FROM d) AND name = ANY(${removed}::text[])
                RETURNING 1
              )
              SELECT d.doc, ${valuesOf(sql`d.id`)} AS vals FROM d`.execute(db());
            const row = rows[0];
            if (!row) throw new TetherError('NOT_FOUND', `device ${deviceId} does not exist.`);
            const merged = row.vals ?? {};
            for (const { name, value, at } of set) setOwn(merged, name, { value, at } as LatestValue);
            for (const name of removed) Reflect.deleteProperty(merged, name);
            return { ...row.doc, values: merged };
          }),
      }),
      roles: repo<Role>('roles'),
      invitations: Object.assign(repo<Invitation>('invitations'), {
        byTokenHash: lookup<Invitation>('invitations', 'tokenHash'),
      }),
      linkTokens: Object.assign(repo<LinkToken>('linkTokens'), {
        byTokenHash: lookup<LinkToken>('linkTokens', 'tokenHash'),
      }),
      grants: Object.assign(repo<DeviceGrant>('grants'), {
        forUser: (userId: string) => repo<DeviceGrant>('grants').find({ userId }, GRANT_ORDER),
        forDevice: (deviceId: string) => repo<DeviceGrant>('grants').find({ deviceId }, GRANT_ORDER),
      }),
      deviceEvents: repo<DeviceEvent>('deviceEvents'),
      audit: this.#eventLog('audit', db, exec),
      deviceActivity: this.#eventLog('device_activity', db, exec, DEVICE_ACTIVITY_KEEP),
      getMeta: () => exec(() => readMeta(db())),
      setMeta: (patch) =>
        exec(async () => {
          const { rows } = await sql<{ doc: Meta }>`
            UPDATE meta SET doc = doc || ${JSON.stringify(patch)}::jsonb WHERE id = 1 RETURNING doc`.execute(
            db(),
          );
          return rows[0]!.doc;
        }),
    };
  }
}

class PgRepository<T extends { id: string }> implements Repository<T> {
  constructor(
    private readonly table: TableName,
    private readonly db: () => Db,
    private readonly exec: <R>(op: () => Promise<R>) => Promise<R>,
  ) {}

  get(id: string): Promise<T | undefined> {
    return this.exec(
      async () =>
        (await readRows(this.db(), this.table, { id }, { limit: 1 }))[0] as unknown as T | undefined,
    );
  }

  find(where?: Where<T>, options?: FindOptions<T>): Promise<T[]> {
    return this.exec(
      async () =>
        (await readRows(
          this.db(),
          this.table,
          where as Where<Keyed>,
          options as unknown as FindOptions<Keyed>,
        )) as unknown as T[],
    );
  }

  count(where?: Where<T>): Promise<number> {
    return this.exec(async () => {
      const { rows } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM ${sql.id(this.table)} WHERE ${whereSql(this.table, where)}`.execute(
        this.db(),
      );
      return rows[0]!.n;
    });
  }

  async insert(record: T): Promise<T> {
    await this.insertMany([record]);
    return record;
  }

  insertMany(records: readonly T[]): Promise<void> {
    return this.exec(async () => {
      if (records.length === 0) return;
      const write = async (db: Db) => {
        for (let i = 0; i < records.length; i += INSERT_BATCH) {
          await insertRows(db, this.table, records.slice(i, i + INSERT_BATCH) as unknown as Row[]);
        }
      };
      const db = this.db();
      // More than one statement: all or none, in a transaction of their own unless in one already.
      if (records.length <= INSERT_BATCH || db.isTransaction) await write(db);
      else await db.transaction().execute((trx) => write(trx));
    });
  }

  update(id: string, patch: Partial<Omit<T, 'id'>>): Promise<T> {
    return this.exec(async () => {
      const db = this.db();
      const fields = Object.entries(patch).filter(([field]) => field !== 'id');
      const columns = COLUMNS[this.table]!;
      const kept: Record<string, unknown> = Object.create(null);
      const removed: string[] = [];
      let values: Device['values'] | undefined;
      for (const [field, value] of fields) {
        if (this.table === 'devices' && field === 'values') values = value as Device['values'];
        else if (value === undefined) removed.push(field);
        // own-key: kept has no prototype, so any field name is an ordinary key
        else kept[field] = value;
      }
      const sets = fields
        .filter(([field]) => Object.hasOwn(columns, field))
        .map(([field, value]) => sql`${sql.ref(field)} = ${value ?? null}`);
      const statement = async (trx: Db) => {
        const { rows } = await sql<{ doc: T }>`
          UPDATE ${sql.id(this.table)}
          SET ${sql.join([...sets, sql`doc = (doc || ${JSON.stringify(kept)}::jsonb) - ${removed}::text[]`])}
          WHERE id = ${id} RETURNING doc`.execute(trx);
        const row = rows[0];
        if (!row) throw new TetherError('NOT_FOUND', `${label(this.table)} ${id} does not exist.`);
        if (values !== undefined) {
          await sql`DELETE FROM device_values WHERE "deviceId" = ${id}`.execute(trx);
          await insertValues(trx, [{ id, values }]);
        }
        return (
          this.table === 'devices' ? (await withValues(trx, [row.doc as unknown as Device]))[0] : row.doc
        ) as T;
      };
      if (values === undefined || db.isTransaction) return statement(db);
      return db.transaction().execute((trx) => statement(trx));
    });
  }

  delete(id: string): Promise<boolean> {
    return this.exec(async () => {
      const result = await sql`DELETE FROM ${sql.id(this.table)} WHERE id = ${id}`.execute(this.db());
      return Number(result.numAffectedRows ?? 0) > 0;
    });
  }

  deleteWhere(where: Where<T>): Promise<number> {
    return this.exec(async () => {
      const result =
        await sql`DELETE FROM ${sql.id(this.table)} WHERE ${whereSql(this.table, where)}`.execute(this.db());
      return Number(result.numAffectedRows ?? 0);
    });
  }
}

async function readRows(
  db: Db,
  table: string,
  where: Where<Keyed> | undefined,
  options?: FindOptions<Keyed>,
): Promise<Row[]> {
  // A device comes with its latest values (rows of their own) in the same query.
  const devices = table === 'devices';
  const { rows } = await sql<{ doc: Row; vals?: Device['values'] | null }>`
    SELECT doc${devices ? sql`, ${valuesOf(sql`devices.id`)} AS vals` : sql``} FROM ${sql.id(table)}
    WHERE ${whereSql(table, where)} AND ${afterSql(table, options)}
    ${pageSql(table, options)}`.execute(db);
  return devices ? rows.map((r) => ({ ...r.doc, values: r.vals ?? {} })) : rows.map((r) => r.doc);
}

/**
 * A device's latest values as one jsonb object, name → { value, at } (JSON.parse makes every name,
 * "__proto__" included, an own key); null when it has none.
 */
function valuesOf(deviceId: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`(SELECT jsonb_object_agg(v.name, jsonb_build_object('value', v.value, 'at', v.at))
    FROM device_values v WHERE v."deviceId" = ${deviceId})`;
}

/** Sets values[name], a name from outside: only ever an own key. */
function setOwn(values: Device['values'], name: string, value: LatestValue): void {
  Object.defineProperty(values, name, { value, enumerable: true, writable: true, configurable: true });
}

async function insertRows(db: Db, table: string, records: readonly Row[]): Promise<void> {
  const columns = Object.keys(COLUMNS[table]!); // own-key: a table name of the store's own schema
  const rows = records.map((record) => {
    const { values: _values, ...rest } = record as Row & { values?: unknown };
    const doc = table === 'devices' ? rest : record;
    return sql`(${sql.join([
      record.id,
      ...columns.map((c) => (Object.hasOwn(record, c) ? (record[c] ?? null) : null)),
      sql`${JSON.stringify(doc)}::jsonb`,
    ])})`;
  });
  await sql`INSERT INTO ${sql.id(table)} (id, ${sql.join(columns.map((c) => sql.ref(c)))}, doc)
    VALUES ${sql.join(rows)}`.execute(db);
  // Every device's values in one statement (a restore inserts thousands of devices).
  if (table === 'devices') await insertValues(db, records as unknown as Device[]);
}

async function insertValues(db: Db, devices: ReadonlyArray<Pick<Device, 'id' | 'values'>>): Promise<void> {
  const list = devices.flatMap((d) =>
    Object.entries(d.values ?? {}).map(([name, v]) => ({ deviceId: d.id, name, value: v.value, at: v.at })),
  );
  if (list.length === 0) return;
  await sql`INSERT INTO device_values ("deviceId", name, value, at)
    SELECT v."deviceId", v.name, v.value, v.at
    FROM jsonb_to_recordset(${JSON.stringify(list)}::jsonb)
      AS v("deviceId" text, name text, value jsonb, at float8)`.execute(db);
}

/** Devices with their latest values (own rows) put back in: one query for the whole page. */
async function withValues(db: Db, devices: Device[]): Promise<Device[]> {
  if (devices.length === 0) return devices;
  const { rows } = await sql<{ deviceId: string; name: string; value: LatestValue['value']; at: number }>`
    SELECT "deviceId", name, value, at FROM device_values WHERE "deviceId" = ANY(${devices.map((d) => d.id)})`.execute(
    db,
  );
  const byDevice = new Map<string, Device['values']>();
  for (const row of rows) {
    let values = byDevice.get(row.deviceId);
    if (!values) {
      values = {};
      byDevice.set(row.deviceId, values);
    }
    // Names come from outside: each only ever an own key.
    setOwn(values, row.name, { value: row.value, at: row.at });
  }
  return devices.map((d) => ({ ...d, values: byDevice.get(d.id) ?? {} }));
}

/** An audit query as SQL: the same meaning listEvents() gives it in the embedded store. */
function auditWhere(query: AuditQuery) {
  const parts = [];
  const { within, orgIds } = query;
  if (within !== undefined || orgIds !== undefined) {
    // By the path written with the event; events from before paths were written, by their org.
    const byPath = within === undefined ? sql`FALSE` : sql`"orgPath" @> ARRAY[${within}]::text[]`;
    const byOrg =
      orgIds === undefined
        ? sql`FALSE`
        : within === undefined
          ? sql`"orgId" = ANY(${[...orgIds]})`
          : sql`("orgPath" IS NULL AND "orgId" = ANY(${[...orgIds]}))`;
    parts.push(sql`(${byPath} OR ${byOrg})`);
  }
  if (query.targetId !== undefined) parts.push(sql`"targetId" = ${query.targetId}`);
  if (query.actor !== undefined) parts.push(sql`actor = ${query.actor}`);
  if (query.action !== undefined) {
    // `user.` is every action of the family; anything else one action.
    parts.push(
      query.action.endsWith('.') ? sql`starts_with(action, ${query.action})` : sql`action = ${query.action}`,
    );
  }
  if (query.since !== undefined) parts.push(sql`at >= ${query.since}`);
  if (query.until !== undefined) parts.push(sql`at <= ${query.until}`);
  return parts.length === 0 ? sql`TRUE` : sql.join(parts, sql` AND `);
}

async function readMeta(db: Db): Promise<Meta> {
  const { rows } = await sql<{ doc: Meta }>`SELECT doc FROM meta WHERE id = 1`.execute(db);
  return rows[0]?.doc ?? emptyImage().meta;
}

/** A repeatable-read, read-only transaction on one connection, for a dump read in pieces. */
async function startSnapshot(
  db: Db,
): Promise<{ db: Db; commit(): Promise<void>; rollback(): Promise<void> }> {
  const trx = await db
    .startTransaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute();
  return {
    db: trx as unknown as Db,
    commit: () => trx.commit().execute(),
    rollback: () => trx.rollback().execute(),
  };
}

/** What one row of the table is called in messages (tables.ts). */
const label = (table: string): string => TABLES.find((spec) => spec.name === table)?.label ?? table;

/** Runs a store operation; PostgreSQL's refusals become the contract's coded errors. */
async function run<R>(op: () => Promise<R>, onError: (error: unknown) => void): Promise<R> {
  try {
    return await op();
  } catch (error) {
    onError(error);
    throw translate(error);
  }
}

function translate(error: unknown): unknown {
  if (error instanceof TetherError) return error;
  const e = error as { code?: string; table?: string; constraint?: string; message?: string };
  if (e?.code === '23505') {
    // devices_tokenHash_key, or the primary key devices_pkey
    const constraint = e.constraint ?? '';
    const table = e.table ?? constraint.split('_')[0] ?? '';
    const field = constraint.endsWith('_pkey')
      ? 'id'
      : // own-key: a table name of the store's own schema (from its own constraint names)
        (Object.keys(COLUMNS[table] ?? {}).find((f) => uniqueIndexName(table, f) === constraint) ?? 'id');
    return new TetherError('CONFLICT', `A ${label(table)} with this ${field} already exists.`, {
      details: { field },
      cause: error,
    });
  }
  if (e?.code === '23503')
    return new TetherError('NOT_FOUND', 'The record it refers to does not exist.', { cause: error });
  // Text PostgreSQL cannot hold (a NUL character) or a value out of range: refused, not a crash.
  if (e?.code === '22P05' || e?.code === '22021' || e?.code === '22003') {
    return new TetherError(
      'VALIDATION_FAILED',
      'The store cannot hold this value (a NUL character or a number out of range).',
      {
        cause: error,
      },
    );
  }
  if (isConnectionError(error)) {
    return new TetherError('STORE_UNAVAILABLE', `PostgreSQL is unreachable: ${e.message}`, { cause: error });
  }
  return error;
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03'].includes(
      code,
    ) ||
    code.startsWith('08') ||
    /Connection terminated/i.test((error as Error)?.message ?? '')
  );
}

/** A failure to open: said with the server's address, never its password. */
function unavailable(error: unknown, url: string): unknown {
  if (error instanceof TetherError) return error;
  return new TetherError(
    'STORE_UNAVAILABLE',
    `Cannot use PostgreSQL at ${postgresAddress(url)}: ${(error as Error).message}. Check store.url (TETHER_STORE_URL): the server runs, the database exists, and the user may create tables in it.`,
    { cause: error },
  );
}
