/**
 * Backup and restore as an operator runs them: `tether backup` from a running gateway (or from a
 * data folder no gateway holds), `tether restore` into an empty folder, a gateway started on the
 * copy, and everything compared: equal. A damaged, cut or hostile backup restores nothing.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreDataFolder } from '../../gateway/store/data-folder-backup.js';
import type { Store } from '../../gateway/store/store.js';
import { isTetherError } from '../../shared/errors.js';
import { addUser } from '../accounts/account-support.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
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
    else if (part.kind === 'rows') {
      tables[part.table] = [...(tables[part.table] ?? []), ...part.rows];
    } else if (part.kind === 'audit') audit.push(...part.events);
    else activity.push(...part.events);
  }
  for (const rows of Object.values(tables))
    rows.sort((a, b) => String((a as { id: string }).id).localeCompare((b as { id: string }).id));
  return { meta, tables, audit, activity };
}

/** Commands sent to a device: what the device-activity log holds. */
async function commandADevice(gw: TestGateway, token: string): Promise<void> {
  const template = await gw.api<{ id: string }>(
    'POST',
    '/api/templates',
    { name: 'Fan', datastreams: [{ name: 'speed', type: 'int', min: 0, max: 3 }] },
    token,
  );
  const session = await gw.api<{ deviceId: string }>(
    'POST',
    '/api/provisioning/sessions',
    { templateId: template.body.id },
    token,
  );
  const id = session.body.deviceId;
  expect((await gw.api('PUT', `/api/devices/${id}/datastreams/speed`, { value: 2 }, token)).status).toBe(200);
  expect((await gw.api('POST', `/api/devices/${id}/reboot`, undefined, token)).status).toBe(200);
}

/** Rewrites a backup's lines and gives it a closing line that matches: a well-formed hostile file. */
function reseal(text: string, change: (lines: Array<Record<string, unknown>>) => void): string {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  lines.pop();
  change(lines);
  const body = lines.map((l) => `${JSON.stringify(l)}\n`).join('');
  const count = (key: string) => lines.filter((l) => Object.hasOwn(l, key)).length;
  const end = {
    rows: count('table'),
    audit: count('audit'),
    activity: count('activity'),
    files: count('file'),
    sha256: createHash('sha256').update(body).digest('hex'),
  };
  return `${body}${JSON.stringify({ end })}\n`;
}

describe('backup and restore', () => {
  let gw: TestGateway;
  let home: string;
  let admin: string;
  let deviceToken: string;
  const dirs: string[] = [];
  const gateways: TestGateway[] = [];
  const cli = (...args: string[]) => runCli(args, { TETHER_HOME: home });

  beforeAll(async () => {
    gw = await startTestGateway();
    home = await tempDir('tether-cli-');
    dirs.push(home);
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
    const org = await gw.api<{ id: string }>('POST', '/api/orgs', { name: 'Field team' }, admin);
    await addUser(gw, admin, 'tech@example.com', 'staff', org.body.id);
    await commandADevice(gw, admin);
    const login = await runCli(['login', '-e', ADMIN.email, '-p', ADMIN.password, '-g', gw.baseUrl], {
      TETHER_HOME: home,
    });
    expect(login.code, login.stderr).toBe(0);
  }, 60_000); // a gateway and a CLI process, slow to start on a loaded 2-core machine

  afterAll(async () => {
    for (const g of gateways) await g.stop();
    await gw.stop();
    await removeAll(dirs);
  });

  it('backs up a running gateway, restores it into an empty folder, and the copy is equal', {
    timeout: 60_000,
  }, async () => {
    const dir = await tempDir('tether-backup-');
    dirs.push(dir);
    const file = join(dir, 'gateway.jsonl');
    const backup = await cli('backup', '--out', file, '--outbox');
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(
      /^Backup written to .*gateway\.jsonl: \d+ records?, \d+ audit events?, \d+ device commands?, \d+ files?\./,
    );
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const original = await contents(gw.gateway.services.store);
    expect(original.activity.map((e) => (e as { action: string }).action)).toEqual([
      'device.datastream-written',
      'device.reboot-requested',
    ]);

    const target = join(dir, 'restored');
    const restore = await cli('restore', file, '--data-dir', target);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).toContain(`tether gateway start --data-dir ${target}`);
    const copy = await startTestGateway({}, { dataDir: target });
    gateways.push(copy);
    expect(await contents(copy.gateway.services.store)).toEqual(original);
    // The outbox came along, and the signing key: a session and a device token of the original work.
    expect((await readdir(join(target, 'outbox'))).length).toBeGreaterThan(0);
    expect((await copy.api('GET', '/api/me', undefined, admin)).status).toBe(200);
    const device = await mqtt.connectAsync(copy.brokerUrl, {
      username: 'device',
      password: deviceToken,
      reconnectPeriod: 0,
    });
    await device.endAsync();
    // Who took the backup is in the audit log.
    const events = await gw.api<{ events: Array<{ action: string }> }>('GET', '/api/audit', undefined, admin);
    expect(events.body.events.map((e) => e.action)).toContain('gateway.backup');
  });

  it('gives a backup only to an admin of the root organization', async () => {
    const staff = await addUser(gw, admin, 'staff@example.com', 'staff');
    const refused = await gw.api<{ error: { code: string } }>('GET', '/api/backup', undefined, staff.token);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('PERMISSION_DENIED');
    expect((await gw.api('GET', '/api/backup')).status).toBe(401);
  });

  it('takes an offline backup only of a folder no gateway holds', { timeout: 60_000 }, async () => {
    const dir = await tempDir('tether-offline-');
    dirs.push(dir);
    const stopped = await startTestGateway();
    const locked = await cli('backup', '--data-dir', stopped.dataDir, '--out', join(dir, 'a.jsonl'));
    expect(locked.code).toBe(5);
    expect(locked.stderr).toMatch(
      /^error STORE_LOCKED: The data folder .* is in use by a gateway \(process \d+/,
    );
    const online = await contents(stopped.gateway.services.store);
    await stopped.gateway.stop();
    const offline = await cli(
      'backup',
      '--data-dir',
      stopped.dataDir,
      '--out',
      join(dir, 'a.jsonl'),
      '--json',
    );
    expect(offline.code, offline.stderr).toBe(0);
    expect(JSON.parse(offline.stdout)).toMatchObject({ files: 1 });
    await restoreDataFolder(join(dir, 'a.jsonl'), join(dir, 'copy'));
    const copy = await startTestGateway({}, { dataDir: join(dir, 'copy') });
    gateways.push(copy);
    expect(await contents(copy.gateway.services.store)).toEqual(online);
    await removeAll([stopped.dataDir]);
  });

  describe('restore refuses, and writes nothing', () => {
    let good: string;
    let dir: string;
    beforeAll(async () => {
      dir = await tempDir('tether-restore-');
      dirs.push(dir);
      const res = await cli('backup', '--out', join(dir, 'good.jsonl'));
      expect(res.code, res.stderr).toBe(0);
      good = await readFile(join(dir, 'good.jsonl'), 'utf8');
    });

    /** The library call `tether restore` makes (the CLI's own exit codes are tested below). */
    const refusedInto = async (content: string, code: string, says: RegExp) => {
      const file = join(dir, `case-${Math.random().toString(36).slice(2)}.jsonl`);
      await writeFile(file, content);
      const target = join(dir, `target-${Math.random().toString(36).slice(2)}`);
      const error = await restoreDataFolder(file, target).catch((e: unknown) => e);
      expect(isTetherError(error) && error.code).toBe(code);
      expect((error as Error).message).toMatch(says);
      expect(await readdir(target).catch(() => [])).toEqual([]);
    };

    it('a folder that is not empty', async () => {
      const target = join(dir, 'occupied');
      await mkdir(target);
      await writeFile(join(target, 'notes.txt'), 'mine');
      await writeFile(join(dir, 'good.jsonl'), good);
      const res = await cli('restore', join(dir, 'good.jsonl'), '--data-dir', target);
      expect(res.code).toBe(5);
      expect(res.stderr).toMatch(/is not empty \(notes\.txt\): a restore goes into an empty folder only/);
      expect(await readdir(target)).toEqual(['notes.txt']);
    });

    it('a backup cut short (the command: exit code 2, the folder left empty)', async () => {
      await writeFile(join(dir, 'cut.jsonl'), good.split('\n').slice(0, -3).join('\n'));
      const res = await cli('restore', join(dir, 'cut.jsonl'), '--data-dir', join(dir, 'cut'));
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/^error VALIDATION_FAILED: .* it has no closing line: it was cut short/);
      expect(await readdir(join(dir, 'cut')).catch(() => [])).toEqual([]);
    });

    it('a backup changed after it was written', () =>
      refusedInto(
        good.replace('Thermostat', 'Thermostaat'),
        'VALIDATION_FAILED',
        /does not match its closing line/,
      ));

    it('something that is not a backup', () =>
      refusedInto('{"hello":"world"}\n', 'VALIDATION_FAILED', /does not name the tether-backup format/));

    it('a backup from a newer format', () =>
      refusedInto(
        reseal(good, (lines) => ((lines[0] as { version: number }).version = 99)),
        'VALIDATION_FAILED',
        /format version 99/,
      ));

    it('a backup carrying a file outside its place', () =>
      refusedInto(
        reseal(good, (lines) => lines.push({ file: 'keys/../../../etc/cron.d/x', data: 'AAAA' })),
        'VALIDATION_FAILED',
        /names a file a backup may not carry/,
      ));

    it('a backup whose records do not hold together', () =>
      refusedInto(
        reseal(good, (lines) => {
          const user = lines.find((l) => l.table === 'users')!;
          (user.row as { orgId: string }).orgId = 'org_nowhere';
        }),
        'STORE_INVALID',
        /orgId org_nowhere names no orgs record/,
      ));

    it.each([
      ['__proto__', 'STORE_INVALID', /unknown table __proto__/],
      ['constructor', 'STORE_INVALID', /unknown table constructor/],
      ['audit', 'VALIDATION_FAILED', /rows of "audit", which is not a table/],
      ['meta', 'VALIDATION_FAILED', /rows of "meta", which is not a table/],
    ])('a backup with rows of a table named %s', (table, code, says) =>
      refusedInto(
        reseal(good, (lines) => lines.splice(2, 0, { table, row: { id: 'x', orgId: 'y' } })),
        code,
        says,
      ),
    );
  });
});

describe.skipIf(SKIP_POSTGRES)('backup of a gateway on PostgreSQL', () => {
  let server: TestPostgres;
  const dirs: string[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await removeAll(dirs);
  });

  it('restores into an empty folder, and the copy is equal, device activity included', {
    timeout: 90_000,
  }, async () => {
    const url = await server.createDatabase('tether_backup');
    const gw = await startTestGateway({ store: { backend: 'postgres', url } });
    const copies: TestGateway[] = [];
    try {
      const admin = await gw.login();
      await commandADevice(gw, admin);
      const res = await fetch(`${gw.baseUrl}/api/backup`, { headers: { authorization: `Bearer ${admin}` } });
      expect(res.status).toBe(200);
      const dir = await tempDir('tether-pg-backup-');
      dirs.push(dir);
      await writeFile(join(dir, 'pg.jsonl'), await res.text());
      const original = await contents(gw.gateway.services.store);
      expect(original.activity).toHaveLength(2);
      expect(original.audit.length).toBeGreaterThan(0);

      const summary = await restoreDataFolder(join(dir, 'pg.jsonl'), join(dir, 'copy'));
      expect(summary).toMatchObject({ activity: 2, audit: original.audit.length });
      const copy = await startTestGateway({}, { dataDir: join(dir, 'copy') });
      copies.push(copy);
      expect(await contents(copy.gateway.services.store)).toEqual(original);
    } finally {
      for (const copy of copies) await copy.stop();
      await gw.stop();
    }
  });
});
