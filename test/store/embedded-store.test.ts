import { appendFile, chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedStore, SCHEMA_VERSION } from '../../gateway/store/embedded-store.js';
import { DeviceRecord } from '../../gateway/store/records.js';
import type { Device } from '../../gateway/store/types.js';
import { isTetherError } from '../../shared/errors.js';
import { device, org, storeContract, user } from './store-contract.js';
import { crashImage, folderDigest, removeAll, tempDir } from './store-files-support.js';

const dirs: string[] = [];
const stores: EmbeddedStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  await removeAll(dirs);
});

async function openStore(dir?: string, options: ConstructorParameters<typeof EmbeddedStore>[0] = {}) {
  const folder = dir ?? (await tempDir());
  if (!dir) dirs.push(folder);
  const store = new EmbeddedStore({ file: join(folder, 'tether.json'), ...options });
  await store.open();
  stores.push(store);
  return { store, dir: folder, file: join(folder, 'tether.json') };
}

async function reopen(dir: string) {
  const store = new EmbeddedStore({ file: join(dir, 'tether.json') });
  await store.open();
  stores.push(store);
  return store;
}

async function closeAll() {
  for (const store of stores.splice(0)) await store.close();
}

storeContract('embedded, in memory', async (options) => {
  const store = new EmbeddedStore(options);
  await store.open();
  return store;
});

storeContract('embedded, on file', async (options) => (await openStore(undefined, options)).store);

describe('embedded store: every acknowledged change is on disk', () => {
  it('has each change in the journal as soon as its promise resolves, before any snapshot', async () => {
    const { store, dir } = await openStore();
    await store.orgs.insert(org('org_a'));
    await store.users.insert(user('usr_1', 'a@example.com'));
    await store.orgs.update('org_a', { name: 'Renamed' });
    await store.users.delete('usr_1');
    // A process killed now leaves exactly these files.
    dirs.push(await crashImage(dir));
    const after = await reopen(dirs.at(-1)!);
    expect((await after.orgs.get('org_a'))?.name).toBe('Renamed');
    expect(await after.users.get('usr_1')).toBeUndefined();
  });

  it('shares one fsync among the changes that arrive together (group commit)', async () => {
    const { store } = await openStore();
    await store.orgs.insert(org('org_a'));
    const before = store.writeCount;
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => store.devices.insert(device(`dev_${i}`, `h_${i}`))),
    );
    expect(store.writeCount - before).toBe(1);
    expect(await store.devices.count()).toBe(1000);
  });

  it('survives a restart: what was written is read back, with its indexes', async () => {
    const { store, dir } = await openStore();
    await store.orgs.insert(org('org_a'));
    await store.devices.insert({ ...device('dev_1', 'hash_1'), claimCodeHash: 'claim_1' });
    await store.setMeta({ setupCodeHash: 'setup' });
    await store.audit.append({
      id: 'evt_1',
      at: 1,
      actor: 'system',
      action: 'test',
      targetType: 'org',
      targetId: 'org_a',
      orgId: 'org_a',
      ip: null,
    });
    await store.close();
    const second = await reopen(dir);
    expect((await second.devices.byTokenHash('hash_1'))?.id).toBe('dev_1');
    expect((await second.devices.byClaimCodeHash('claim_1'))?.id).toBe('dev_1');
    expect((await second.getMeta()).setupCodeHash).toBe('setup');
    expect((await second.audit.list()).map((e) => e.id)).toEqual(['evt_1']);
  });

  it('reads back every field of rows that share values and of a field with more distinct values than are shared', async () => {
    // The load keeps one copy of a repeated value (an org id) and gives up on fields that keep
    // changing (past 4,096 distinct names): every row must still read back as it was written.
    const { store, dir } = await openStore();
    await store.orgs.insertMany([org('org_a'), org('org_b')]);
    const rows = Array.from({ length: 5000 }, (_, i) => ({
      ...device(`dev_${i}`, `hash_${i}`, i % 3 === 0 ? 'org_b' : 'org_a'),
      name: `Sensor ${i}`,
      status: i % 2 === 0 ? ('active' as const) : ('pending' as const),
      makerOrgId: 'org_a',
    }));
    await store.devices.insertMany(rows);
    await store.close();
    const second = await reopen(dir);
    const loaded = new Map((await second.devices.find()).map((d) => [d.id, d]));
    for (const row of rows) expect(loaded.get(row.id)).toEqual(row);
    expect(await second.devices.count({ orgId: 'org_b' })).toBe(1667);
    expect(await second.devices.count({ status: 'active', orgId: 'org_a' })).toBe(1666);
  });

  it('hands out frozen rows: changing one in place is an error, not a silent unjournaled change', async () => {
    const { store } = await openStore();
    const inserted = await store.orgs.insert(org('org_a'));
    expect(() => {
      (inserted as { name: string }).name = 'x';
    }).toThrow(TypeError);
  });
});

describe('embedded store: transactions', () => {
  it('commits all of a transaction in one journal entry', async () => {
    const { store, dir } = await openStore();
    const before = store.writeCount;
    const result = await store.transaction(async (tx) => {
      await tx.orgs.insert(org('org_a'));
      await tx.users.insert(user('usr_1', 'a@example.com'));
      await tx.devices.insert(device('dev_1', 'hash_1'));
      await tx.devices.update('dev_1', { name: 'Kettle' });
      return 'done';
    });
    expect(result).toBe('done');
    expect(store.writeCount - before).toBe(1);
    dirs.push(await crashImage(dir));
    const after = await reopen(dirs.at(-1)!);
    expect((await after.devices.get('dev_1'))?.name).toBe('Kettle');
    expect(await after.users.count()).toBe(1);
  });

  it('undoes every change of a transaction that throws, and writes nothing', async () => {
    const { store, dir } = await openStore();
    await store.orgs.insert(org('org_a'));
    await store.users.insert(user('usr_1', 'a@example.com'));
    await store.devices.insert(device('dev_1', 'hash_1'));
    const before = store.writeCount;
    const error = await store
      .transaction(async (tx) => {
        await tx.devices.update('dev_1', { tokenHash: 'hash_2', name: 'Moved' });
        await tx.users.delete('usr_1');
        await tx.users.insert(user('usr_2', 'b@example.com'));
        await tx.orgs.insert(org('org_b'));
        await tx.audit.append({
          id: 'evt_1',
          at: 1,
          actor: 'system',
          action: 'x',
          targetType: 'org',
          targetId: 'org_b',
          orgId: 'org_b',
          ip: null,
        });
        throw new Error('changed my mind');
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('changed my mind');
    expect(store.writeCount).toBe(before);
    expect((await store.devices.byTokenHash('hash_1'))?.name).toBe('dev_1');
    expect(await store.devices.byTokenHash('hash_2')).toBeUndefined();
    expect((await store.users.byEmail('a@example.com'))?.id).toBe('usr_1');
    expect(await store.users.byEmail('b@example.com')).toBeUndefined();
    expect(await store.orgs.get('org_b')).toBeUndefined();
    expect(await store.audit.list()).toEqual([]);
    await store.close();
    const after = await reopen(dir);
    expect((await after.devices.get('dev_1'))?.tokenHash).toBe('hash_1');
    expect(await after.users.count()).toBe(1);
  });

  it('runs transactions one at a time, each seeing the one before', async () => {
    const { store } = await openStore();
    await store.orgs.insert(org('org_a'));
    const addOne = () =>
      store.transaction(async (tx) => {
        const n = await tx.devices.count();
        await new Promise((resolve) => setTimeout(resolve, 1));
        await tx.devices.insert(device(`dev_${n}`, `hash_${n}`));
      });
    await Promise.all([addOne(), addOne(), addOne(), addOne()]);
    expect((await store.devices.find()).map((d) => d.id).sort()).toEqual([
      'dev_0',
      'dev_1',
      'dev_2',
      'dev_3',
    ]);
  });

  it('refuses the tables of a finished transaction', async () => {
    const { store } = await openStore();
    let leaked: Parameters<Parameters<typeof store.transaction>[0]>[0] | undefined;
    await store.transaction(async (tx) => {
      leaked = tx;
    });
    const error = await leaked!.orgs.insert(org('org_late')).catch((e: unknown) => e);
    expect(isTetherError(error) && error.code).toBe('INTERNAL');
    expect(await store.orgs.get('org_late')).toBeUndefined();
  });
});

describe('embedded store: compaction', () => {
  it('compacts the journal into a new snapshot, keeps the one before, and reads back the same', async () => {
    const { store, dir } = await openStore(undefined, { compactMinBytes: 1 });
    await store.orgs.insert(org('org_a'));
    for (let i = 0; i < 50; i++) await store.devices.insert(device(`dev_${i}`, `hash_${i}`));
    await store.flush();
    const names = await readdir(dir);
    expect(names).toContain('tether.prev.json');
    expect(names.filter((n) => n.includes('.journal.'))).toHaveLength(1);
    const snapshot = JSON.parse(await readFile(join(dir, 'tether.json'), 'utf8')) as { devices: unknown[] };
    expect(snapshot.devices).toHaveLength(50);
    await store.close();
    const after = await reopen(dir);
    expect(await after.devices.count()).toBe(50);
    expect((await after.devices.byTokenHash('hash_49'))?.id).toBe('dev_49');
  });

  it('loses no change made while a compaction is writing', async () => {
    const { store, dir } = await openStore();
    await store.orgs.insert(org('org_a'));
    await Promise.all(
      Array.from({ length: 3000 }, (_, i) => store.devices.insert(device(`dev_${i}`, `h_${i}`))),
    );
    const compacting = store.compact();
    // The snapshot is written in pieces with the event loop free between them.
    const during: Array<Promise<unknown>> = [];
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      during.push(store.devices.update(`dev_${i * 100}`, { name: `late ${i}` }));
      during.push(store.devices.delete(`dev_${i * 100 + 1}`));
    }
    await Promise.all([compacting, ...during]);
    dirs.push(await crashImage(dir));
    const after = await reopen(dirs.at(-1)!);
    expect(await after.devices.count()).toBe(2980);
    for (let i = 0; i < 20; i++) {
      expect((await after.devices.get(`dev_${i * 100}`))?.name).toBe(`late ${i}`);
      expect(await after.devices.get(`dev_${i * 100 + 1}`)).toBeUndefined();
    }
  });

  it('compacts by itself once the journal outgrows the snapshot', async () => {
    const { store, dir } = await openStore(undefined, { compactMinBytes: 64 * 1024 });
    await store.orgs.insert(org('org_a'));
    for (let round = 0; round < 40; round++) {
      await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          store.devices.insert(device(`dev_${round}_${i}`, `h_${round}_${i}`)),
        ),
      );
    }
    await expect.poll(() => store.stats().compactions).toBeGreaterThan(0);
    expect(store.stats().journalBytes).toBeLessThan(200 * 1024);
    await store.close();
    expect(await (await reopen(dir)).devices.count()).toBe(1000);
  });
});

describe('embedded store: the files it keeps', () => {
  it('writes every store file 0600 whatever the folder and an existing file allow', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    await chmod(dir, 0o755);
    await writeFile(
      join(dir, 'tether.json'),
      JSON.stringify({
        schemaVersion: 1,
        meta: { schemaVersion: 1, setupCodeHash: null },
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
      }),
      { mode: 0o644 },
    );
    const { store } = await openStore(dir, { compactMinBytes: 1 });
    await store.orgs.insert(org('org_a'));
    await store.flush();
    const names = (await readdir(dir)).filter((n) => n.startsWith('tether.'));
    expect(names).toEqual(
      expect.arrayContaining([
        'tether.json',
        'tether.prev.json',
        'tether.lock',
        expect.stringMatching(/journal/),
      ]),
    );
    for (const name of names) expect(((await stat(join(dir, name))).mode & 0o777).toString(8)).toBe('600');
  });

  it('reads a database written before the journal existed (no journalSeq)', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    await writeFile(
      join(dir, 'tether.json'),
      JSON.stringify({
        schemaVersion: 1,
        meta: { schemaVersion: 1, setupCodeHash: null },
        orgs: [org('org_a')],
        users: [],
        refreshTokens: [],
        templates: [],
        devices: [device('dev_1', 'hash_1')],
        audit: [],
        roles: [],
        invitations: [],
        linkTokens: [],
        grants: [],
      }),
    );
    const store = await reopen(dir);
    expect((await store.devices.byTokenHash('hash_1'))?.id).toBe('dev_1');
  });

  it('ignores an unfinished last record (a crash mid-write) and says so', async () => {
    const { store, dir } = await openStore();
    await store.orgs.insert(org('org_a'));
    await store.close();
    const segment = (await readdir(dir))
      .filter((n) => n.includes('.journal.'))
      .sort()
      .at(-1)!;
    await appendFile(join(dir, segment), '0badc0de {"seq":99,"ops":[["put","orgs",{"id":"or');
    const warnings: string[] = [];
    const again = new EmbeddedStore({ file: join(dir, 'tether.json'), log: (_l, m) => warnings.push(m) });
    await again.open();
    stores.push(again);
    expect(await again.orgs.count()).toBe(1);
    expect(warnings.join('\n')).toContain('unfinished record');
  });

  it('refuses a journal with a damaged record in the middle, and changes no file', async () => {
    const { store, dir } = await openStore();
    await store.orgs.insert(org('org_a'));
    await store.orgs.insert(org('org_b'));
    await store.close();
    const segment = join(
      dir,
      (await readdir(dir))
        .filter((n) => n.includes('.journal.'))
        .sort()
        .at(-1)!,
    );
    const text = await readFile(segment, 'utf8');
    await writeFile(segment, text.replace('org_a', 'org_X'));
    const before = await folderDigest(dir);
    const error = await new EmbeddedStore({ file: join(dir, 'tether.json') }).open().catch((e: unknown) => e);
    expect(isTetherError(error) && error.code).toBe('STORE_INVALID');
    expect((error as Error).message).toMatch(/line 1 is damaged, and it is followed by more records/);
    expect(await folderDigest(dir)).toEqual(before);
  });

  it('refuses a journal with records missing between the snapshot and it', async () => {
    const { store, dir } = await openStore();
    await store.orgs.insert(org('org_a'));
    await store.orgs.insert(org('org_b'));
    await store.close();
    const segment = join(
      dir,
      (await readdir(dir))
        .filter((n) => n.includes('.journal.'))
        .sort()
        .at(-1)!,
    );
    const lines = (await readFile(segment, 'utf8')).split('\n');
    await writeFile(segment, lines.slice(1).join('\n'));
    const error = await new EmbeddedStore({ file: join(dir, 'tether.json') }).open().catch((e: unknown) => e);
    expect(isTetherError(error) && error.code).toBe('STORE_INVALID');
    expect((error as Error).message).toMatch(/records between are missing/);
  });

  it('lets one process at a time use a data folder, and takes over the lock of one that died', async () => {
    const { dir } = await openStore();
    const second = await new EmbeddedStore({ file: join(dir, 'tether.json') })
      .open()
      .catch((e: unknown) => e);
    expect(isTetherError(second) && second.code).toBe('STORE_LOCKED');
    expect((second as Error).message).toContain(`process ${process.pid}`);
    await closeAll();
    // A lock left by a process that no longer runs.
    await writeFile(
      join(dir, 'tether.lock'),
      JSON.stringify({
        pid: 2 ** 22 + 17,
        host: (await import('node:os')).hostname(),
        purpose: 'gateway',
        since: 1,
      }),
    );
    const third = await reopen(dir);
    expect(await third.orgs.count()).toBe(0);
  });

  it('keeps the previous version of the data before it migrates', async () => {
    const { store, dir } = await openStore();
    await store.orgs.insert(org('org_a'));
    await store.close();
    const migrated = new EmbeddedStore({
      file: join(dir, 'tether.json'),
      schemaVersion: SCHEMA_VERSION + 1,
      migrations: [
        {
          from: SCHEMA_VERSION,
          description: 'rename every org',
          migrate: (image) => {
            const orgs = image.tables.get('orgs')!;
            for (const [id, row] of orgs) orgs.set(id, { ...row, name: `${String(row.name)} (v2)` });
          },
        },
      ],
    });
    await migrated.open();
    stores.push(migrated);
    expect((await migrated.orgs.get('org_a'))?.name).toBe('org_a (v2)');
    const kept = JSON.parse(await readFile(join(dir, `tether.v${SCHEMA_VERSION}.json`), 'utf8')) as {
      schemaVersion: number;
      orgs: Array<{ name: string }>;
    };
    expect(kept.schemaVersion).toBe(SCHEMA_VERSION);
    expect(kept.orgs[0]?.name).toBe('org_a');
    const current = JSON.parse(await readFile(join(dir, 'tether.json'), 'utf8')) as { schemaVersion: number };
    expect(current.schemaVersion).toBe(SCHEMA_VERSION + 1);
  });
});

describe('embedded store: a row the load check would refuse is never written', () => {
  const refusal = async (write: Promise<unknown>) => {
    const error = await write.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTetherError(error) ? { code: error.code } : error).toEqual({ code: 'STORE_INVALID' });
    return (error as Error).message;
  };

  it('refuses wrong-typed, missing and unknown fields on insert, update, in a transaction and in the audit log; the file still opens', async () => {
    const { store, dir } = await openStore();
    await store.orgs.insert(org('org_a'));
    await store.devices.insert(device('dev_ok', 'hash_ok'));
    // Wrong type, on insert.
    expect(
      await refusal(store.devices.insert({ ...device('dev_1', 'hash_1'), createdAt: 'yesterday' as never })),
    ).toMatch(/device dev_1: .*createdAt/);
    // A required field missing (set to undefined removes it), and an unknown one, on update.
    await refusal(store.devices.update('dev_ok', { name: undefined as never }));
    await refusal(store.devices.update('dev_ok', { colour: 'red' } as never));
    // Inside a transaction: the whole transaction fails and none of it stays.
    await refusal(
      store.transaction(async (tx) => {
        await tx.orgs.update('org_a', { name: 'Renamed' });
        await tx.users.insert({ ...user('usr_1', 'a@example.com'), status: 'sleeping' as never });
      }),
    );
    await refusal(
      store.audit.append({
        id: 'evt_1',
        at: Number.NaN,
        actor: 'system',
        action: 'test',
        targetType: 'org',
        targetId: 'org_a',
        orgId: 'org_a',
        ip: null,
        details: {},
      }),
    );
    expect(await store.devices.get('dev_1')).toBeUndefined();
    expect(await store.devices.get('dev_ok')).toMatchObject({ name: device('dev_ok', 'hash_ok').name });
    expect((await store.orgs.get('org_a'))?.name).toBe(org('org_a').name);
    expect(await store.users.get('usr_1')).toBeUndefined();
    // What was acknowledged is what the next start reads, and it starts.
    dirs.push(await crashImage(dir));
    const after = await reopen(dirs.at(-1)!);
    expect(await after.devices.count()).toBe(1);
  });
});

describe('embedded store: telemetry at once (the MQTT hot path)', () => {
  it('keeps every other field of the device when it writes latest values, and reaches the file', async () => {
    const { store, dir } = await openStore();
    await store.orgs.insert(org('org_a'));
    // Every field the device schema has: a field the hot path's copy forgets fails here.
    const full: Device = {
      ...device('dev_1', 'hash_1'),
      status: 'active',
      ownerId: 'usr_1',
      activatedAt: 5,
      activatedBy: 'usr_1',
      hardwareId: 'aa:bb',
      firmware: { ver: '1.0.0' },
      claimCodeHash: 'claim_1',
      makerOrgId: 'org_a',
      meta: { Serial: 'S1' },
      props: { temp: { color: '#ff0000' } },
      provisioningSecurity: 2,
    };
    expect(Object.keys(full).sort()).toEqual(Object.keys(DeviceRecord.properties).sort());
    await store.devices.insert(full);
    const putNow = store.devices.putValuesNow;
    expect(putNow).toBeTypeOf('function');
    const after = putNow!('dev_1', { temp: { value: 21.5, at: 7 } }, 7);
    expect(after).toEqual({ ...full, values: { temp: { value: 21.5, at: 7 } }, lastSeenAt: 7 });
    expect(Object.isFrozen(after)).toBe(true);
    expect(store.devices.peek?.('dev_1')).toBe(after);
    // Last seen alone keeps the values object itself.
    expect(putNow!('dev_1', {}, 8).values).toBe(after.values);
    await store.close();
    expect(await (await reopen(dir)).devices.get('dev_1')).toEqual({ ...after, lastSeenAt: 8 });
  });

  it('refuses a latest value the load would refuse, and changes nothing', async () => {
    const { store } = await openStore();
    await store.orgs.insert(org('org_a'));
    await store.devices.insert(device('dev_1', 'hash_1'));
    const before = await store.devices.get('dev_1');
    const bad = { temp: { value: { nested: 1 } as never, at: 1 } };
    expect(() => store.devices.putValuesNow!('dev_1', bad, 1)).toThrow(/device dev_1: \/values/);
    const error = await store.devices.putValues('dev_1', bad, 1).catch((e: unknown) => e);
    expect(isTetherError(error) && error.code).toBe('STORE_INVALID');
    expect(await store.devices.get('dev_1')).toBe(before);
  });

  it('offers no write at once inside a transaction', async () => {
    const { store } = await openStore();
    await store.transaction(async (tx) => {
      expect(tx.devices.putValuesNow).toBeUndefined();
    });
  });
});
