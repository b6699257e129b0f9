/**
 * The store contract on a real PostgreSQL (Debian's server, started by the test in a temp folder;
 * .ci/run installs it): one new database per case, the same cases the embedded store passes.
 */
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../gateway/store/postgres/postgres-store.js';
import { COLUMNS, migrationProvider } from '../../gateway/store/postgres/schema.js';
import { TABLES } from '../../gateway/store/tables.js';
import { isTetherError } from '../../shared/errors.js';
import { activeDevice, connectDevice, createTemplate } from '../devices/device-fixtures.js';
import { startTestGateway } from '../support/gateway-harness.js';
import { SKIP_POSTGRES, startPostgres, type TestPostgres } from '../support/postgres-server.js';
import { type ContractStoreOptions, device, org, storeContract } from './store-contract.js';

describe.skipIf(SKIP_POSTGRES)('PostgreSQL store', () => {
  let server: TestPostgres;
  let databases = 0;
  const fresh = async (options: ContractStoreOptions = {}) => {
    const store = new PostgresStore({
      url: await server.createDatabase(`tether_${++databases}`),
      poolSize: 4,
      ...options,
    });
    await store.open();
    return store;
  };

  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  storeContract('postgres', fresh);

  it('has a column for every scalar field of every record, so each one can be queried', () => {
    for (const spec of TABLES) {
      const properties = (
        spec.schema as { properties: Record<string, { type?: string; anyOf?: unknown[]; enum?: unknown[] }> }
      ).properties;
      const scalar = Object.entries(properties)
        .filter(([field, s]) => {
          if (field === 'id') return false;
          const members = (s.anyOf ?? [s]) as Array<{ type?: string; enum?: unknown[] }>;
          return members.every(
            (m) =>
              m.enum !== undefined ||
              ['string', 'number', 'integer', 'boolean', 'null'].includes(m.type ?? ''),
          );
        })
        .map(([field]) => field)
        .sort();
      expect({ table: spec.name, columns: Object.keys(COLUMNS[spec.name] ?? {}).sort() }).toEqual({
        table: spec.name,
        columns: scalar,
      });
    }
  });

  it('opens an existing database without migrating it again, keeping its rows', async () => {
    const url = await server.createDatabase('tether_reopen');
    const first = new PostgresStore({ url });
    await first.open();
    await first.orgs.insert(org('org_a'));
    await first.devices.insert(device('dev_1', 'h1'));
    await first.devices.putValues('dev_1', { temp: { value: 21.5, at: 5 } }, 5);
    await first.close();
    const again = new PostgresStore({ url });
    await again.open();
    expect((await again.devices.byTokenHash('h1'))?.values).toEqual({ temp: { value: 21.5, at: 5 } });
    await again.close();
  });

  it('back-fills the per-org counts when it migrates a database made before them (004)', async () => {
    const url = await server.createDatabase('tether_counts_backfill');
    // A database as 003 left it, with rows in it.
    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) }),
    });
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo(
      '003_audit_filters_device_activity',
    );
    expect(error).toBeUndefined();
    await db.destroy();
    const before = new PostgresStore({ url });
    // The rows go in through an older gateway's SQL: opening the store would migrate it first.
    const old = new pg.Client({ connectionString: url });
    await old.connect();
    for (const [id, orgId] of <Array<[string, string]>>[
      ['dev_1', 'org_a'],
      ['dev_2', 'org_a'],
      ['dev_3', 'org_b'],
    ]) {
      await old.query(`INSERT INTO devices (id, "orgId", "tokenHash", doc) VALUES ($1, $2, $1, $3::jsonb)`, [
        id,
        orgId,
        JSON.stringify({ ...device(id, id, orgId), values: undefined }),
      ]);
    }
    await old.end();
    await before.open();
    expect(await before.devices.countInOrgs(['org_a'])).toBe(2);
    expect(await before.devices.countInOrgs(['org_b'])).toBe(1);
    expect(await before.users.countInOrgs(['org_a'])).toBe(0);
    // And kept from there on.
    await before.devices.insert(device('dev_4', 'h4', 'org_b'));
    expect(await before.devices.countInOrgs(['org_a', 'org_b'])).toBe(4);
    await before.close();
  });

  it('refuses an unreachable server with STORE_UNAVAILABLE, naming the address and not the password', async () => {
    const store = new PostgresStore({ url: 'postgres://tether:s3cret-pass@127.0.0.1:1/tether' });
    const error = await store.open().catch((e: unknown) => e);
    expect(isTetherError(error) && error.code).toBe('STORE_UNAVAILABLE');
    expect((error as Error).message).toContain('127.0.0.1:1/tether');
    expect((error as Error).message).not.toContain('s3cret-pass');
  });

  it('refuses text PostgreSQL cannot hold with VALIDATION_FAILED, not a crash', async () => {
    const store = await fresh();
    const error = await store.orgs
      .insert({ ...org('org_a'), name: 'bad\u0000name' })
      .catch((e: unknown) => e);
    expect(isTetherError(error) && error.code).toBe('VALIDATION_FAILED');
    expect(await store.orgs.count()).toBe(0);
    await store.close();
  });

  it('gives nodes that start at once on one empty database one root account between them', async () => {
    const url = await server.createDatabase('tether_first_run');
    const started = await Promise.allSettled(
      [1, 2, 3].map(() => startTestGateway({ store: { backend: 'postgres', url } })),
    );
    const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    try {
      expect(started.filter((result) => result.status === 'rejected')).toEqual([]);
      expect(nodes.map((node) => node.gateway.firstRun?.state).sort()).toEqual(['created', 'ready', 'ready']);
      const orgs = await nodes[0]!.gateway.services.store.orgs.find({});
      expect(orgs.map((o) => o.parentId)).toEqual([null]);
      // The admin logs in on any node.
      for (const node of nodes) expect(await node.login()).toMatch(/^ey/);
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 60_000);

  it('runs a whole gateway on it (store.backend = postgres): accounts, templates, a device and its values', async () => {
    const url = await server.createDatabase('tether_gateway');
    const gw = await startTestGateway({ store: { backend: 'postgres', url } });
    try {
      expect(gw.gateway.services.store.backend).toBe('postgres');
      const admin = await gw.login();
      const templateId = await createTemplate(gw, admin);
      const minted = await activeDevice(gw, admin, templateId);
      const dev = await connectDevice(gw.brokerUrl, minted.token);
      await dev.client.publishAsync('ds/temp', '21.5');
      await expect
        .poll(
          async () =>
            (
              await gw.api<{ values: Record<string, unknown> }>(
                'GET',
                `/api/devices/${minted.deviceId}`,
                undefined,
                admin,
              )
            ).body.values,
          { timeout: 10_000 },
        )
        .toMatchObject({ temp: { value: 21.5 } });
      await dev.client.endAsync();
      const listed = await gw.api<{ devices: unknown[]; total: number }>(
        'GET',
        '/api/devices?limit=1',
        undefined,
        admin,
      );
      expect(listed.body.total).toBe(1);
    } finally {
      await gw.stop();
    }
    // The rows are in PostgreSQL, not in the data folder.
    const store = new PostgresStore({ url });
    await store.open();
    expect(await store.devices.count()).toBe(1);
    await store.close();
  }, 60_000);
});
