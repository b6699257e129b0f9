/**
 * `tether store migrate` as an operator runs it: a gateway's data folder moved into an empty
 * PostgreSQL database (the test starts its own server), a gateway started on that database, then
 * moved back into an empty data folder; every table, the audit log, the meta record and the
 * signing keys come back equal. A non-empty target, the same store twice and an unreachable
 * server are refused with their codes, and a URL's password never appears in what is printed.
 */
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { PostgresStore } from '../../gateway/store/postgres/postgres-store.js';
import type { Store } from '../../gateway/store/store.js';
import { addUser } from '../accounts/account-support.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { SKIP_POSTGRES, startPostgres, type TestPostgres } from '../support/postgres-server.js';
import { runCli } from '../support/run-cli.js';
import { removeAll, tempDir } from './store-files-support.js';

/**
 * The whole store as comparable data: every table's rows by id, the audit log, the device-activity
 * log, the meta record.
 */
async function contents(store: Store) {
  const tables: Record<string, unknown[]> = {};
  const audit: unknown[] = [];
  const activity: unknown[] = [];
  let meta: unknown;
  for await (const part of store.dump()) {
    if (part.kind === 'meta') meta = part.meta;
    else if (part.kind === 'rows') tables[part.table] = [...(tables[part.table] ?? []), ...part.rows];
    else if (part.kind === 'audit') audit.push(...part.events);
    else activity.push(...part.events);
  }
  for (const [name, rows] of Object.entries(tables)) {
    if (rows.length === 0) delete tables[name];
    rows.sort((a, b) => String((a as { id: string }).id).localeCompare((b as { id: string }).id));
  }
  return { meta, tables, audit, activity };
}

async function folderContents(dataDir: string) {
  const store = new EmbeddedStore({ file: join(dataDir, 'tether.json') });
  await store.open();
  try {
    return await contents(store);
  } finally {
    await store.close();
  }
}

describe.skipIf(SKIP_POSTGRES)('tether store migrate', () => {
  let pg: TestPostgres;
  let source: string;
  let home: string;
  let admin: string;
  let deviceToken: string;
  const dirs: string[] = [];
  const gateways: TestGateway[] = [];
  const cli = (...args: string[]) => runCli(args, { TETHER_HOME: home });

  beforeAll(async () => {
    pg = await startPostgres();
    home = await tempDir('tether-migrate-home-');
    source = await tempDir('tether-migrate-source-');
    dirs.push(home, source);
    // A gateway's life in a data folder: templates, static and provisioned devices with values,
    // an org and a user, grants of the audit log; then it stops.
    const gw = await startTestGateway({}, { dataDir: source });
    try {
      admin = await gw.login();
      const template = await gw.api<{ id: string }>(
        'POST',
        '/api/templates',
        { name: 'Thermostat', datastreams: [{ name: 'temp', type: 'double' }] },
        admin,
      );
      const minted = await gw.api<{ devices: Array<{ deviceId: string; token: string }> }>(
        'POST',
        '/api/static-tokens',
        { templateId: template.body.id, count: 3 },
        admin,
      );
      deviceToken = minted.body.devices[0]!.token;
      await gw.gateway.services.store.devices.putValues(minted.body.devices[1]!.deviceId, {
        temp: { value: 21.5, at: 1_700_000_000_000 },
      });
      const pending = await gw.api<{ deviceId: string }>(
        'POST',
        '/api/provisioning/sessions',
        { templateId: template.body.id },
        admin,
      );
      // A command to a device: the device-activity log moves too.
      const write = `/api/devices/${pending.body.deviceId}/datastreams/temp`;
      expect((await gw.api('PUT', write, { value: 20 }, admin)).status).toBe(200);
      const org = await gw.api<{ id: string }>('POST', '/api/orgs', { name: 'Field team' }, admin);
      await addUser(gw, admin, 'tech@example.com', 'staff', org.body.id);
    } finally {
      await gw.stop();
    }
  }, 120_000);

  afterAll(async () => {
    for (const g of gateways) await g.stop();
    await pg?.stop();
    await removeAll(dirs);
  });

  it('moves a data folder into PostgreSQL and back, and both copies are equal to the original', {
    timeout: 180_000,
  }, async () => {
    const original = await folderContents(source);
    expect(original.activity).toHaveLength(1);
    const url = await pg.createDatabase('tether_moved');
    const work = await tempDir('tether-migrate-work-');
    dirs.push(work);

    const there = await cli(
      'store',
      'migrate',
      '--from',
      source,
      '--to',
      url,
      '--backup',
      join(work, 'to-pg.jsonl'),
    );
    expect(there.code, there.stderr).toBe(0);
    expect(there.stderr).toContain('Restoring into the target');
    expect(there.stdout).toMatch(/^Moved the data folder .* into PostgreSQL at .*: .*4 devices/);
    expect(there.stdout).toContain('store.backend = postgres');

    // A gateway on the database, with the data folder's signing keys: the admin's session and a
    // device token of the original still work, and the data is the original's.
    const onPg = await startTestGateway({ store: { backend: 'postgres', url } }, { dataDir: source });
    gateways.push(onPg);
    expect(await contents(onPg.gateway.services.store)).toEqual(original);
    expect((await onPg.api('GET', '/api/me', undefined, admin)).status).toBe(200);
    const device = await mqtt.connectAsync(onPg.brokerUrl, {
      username: 'device',
      password: deviceToken,
      reconnectPeriod: 0,
    });
    await device.endAsync();
    await onPg.stop();
    gateways.pop();
    // What the database holds now (that device was last seen on it).
    const onDatabase = new PostgresStore({ url });
    await onDatabase.open();
    const moved = await contents(onDatabase).finally(() => onDatabase.close());

    // Into PostgreSQL again: refused, the database is not empty.
    const twice = await cli(
      'store',
      'migrate',
      '--from',
      source,
      '--to',
      url,
      '--backup',
      join(work, 'x.jsonl'),
    );
    expect(twice.code).toBe(5);
    expect(twice.stderr).toMatch(/^error CONFLICT: PostgreSQL at .* is not empty/);

    // And back, into a new folder; the keys come from the gateway's data folder.
    const back = join(work, 'back');
    const json = await cli(
      'store',
      'migrate',
      '--from',
      url,
      '--to',
      back,
      '--data-dir',
      source,
      '--backup',
      join(work, 'from-pg.jsonl'),
      '--json',
    );
    expect(json.code, json.stderr).toBe(0);
    const summary = JSON.parse(json.stdout) as { tables: Record<string, number>; files: number };
    expect(summary.tables.devices).toBe(4);
    expect(summary.files).toBeGreaterThan(0);
    expect(await folderContents(back)).toEqual(moved);
    const copy = await startTestGateway({}, { dataDir: back });
    gateways.push(copy);
    expect((await copy.api('GET', '/api/me', undefined, admin)).status).toBe(200);
  });

  it('refuses a non-empty folder, the same store twice, a folder in use, and an unreachable server without showing its password', {
    timeout: 60_000,
  }, async () => {
    const work = await tempDir('tether-migrate-refusals-');
    dirs.push(work);
    const full = await cli('store', 'migrate', '--from', source, '--to', source);
    expect(full.code).toBe(2);
    expect(full.stderr).toContain('the same');
    await writeFile(join(work, 'notes.txt'), 'not a Tether folder\n');
    const elsewhere = await cli('store', 'migrate', '--from', source, '--to', work);
    expect(elsewhere.code).toBe(5);
    expect(elsewhere.stderr).toMatch(/^error CONFLICT: the data folder .* is not empty/);
    const down = await cli(
      'store',
      'migrate',
      '--from',
      source,
      '--to',
      'postgres://tether:s3cret-pw@127.0.0.1:1/tether',
      '--backup',
      join(work, 'never.jsonl'),
    );
    expect(down.code).toBe(6);
    expect(down.stderr).toMatch(/^error STORE_UNAVAILABLE: Cannot use PostgreSQL at 127\.0\.0\.1:1\/tether/);
    expect(down.stderr + down.stdout).not.toContain('s3cret-pw');
    // A folder a gateway runs on is not moved from under it.
    const running = await startTestGateway({}, { dataDir: source });
    gateways.push(running);
    const target = join(work, 'while-running');
    const busy = await cli(
      'store',
      'migrate',
      '--from',
      source,
      '--to',
      target,
      '--backup',
      join(work, 'b.jsonl'),
    );
    expect(busy.code).toBe(5);
    expect(busy.stderr).toMatch(/^error STORE_LOCKED: The data folder .* is in use by a gateway/m);
    await expect(stat(target)).rejects.toThrow(/ENOENT/);
    await running.stop();
    gateways.pop();
    const foreign = await cli('store', 'migrate', '--to', 'mysql://db/tether', '--data-dir', source);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain('a data folder or a postgres:// URL');
  });
});
