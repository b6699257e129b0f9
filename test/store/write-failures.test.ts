/**
 * A disk that fails (full, permissions, I/O errors) costs the changes that could not be written,
 * each refused with STORE_UNAVAILABLE, and nothing else: the process keeps serving, memory stays
 * what the disk holds, readiness reports it, and writing resumes by itself when the disk does.
 * Tests run as root, where a read-only folder still accepts writes, so the faults are injected at
 * the store's file layer (FaultyStoreFiles), exactly where the store touches the disk.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { FaultyStoreFiles } from '../../gateway/store/store-files.js';
import { isTetherError } from '../../shared/errors.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { device, org, user } from './store-contract.js';
import { crashImage, removeAll, tempDir } from './store-files-support.js';

const dirs: string[] = [];
const stores: EmbeddedStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) {
    // A test that leaves the disk failing gets the report of what was not written (test/gateway/shutdown).
    await store.close().catch((error: unknown) => {
      if (!isTetherError(error) || error.code !== 'STORE_UNAVAILABLE') throw error;
    });
  }
  await removeAll(dirs);
});

async function faultyStore() {
  const dir = await tempDir();
  dirs.push(dir);
  const files = new FaultyStoreFiles();
  const store = new EmbeddedStore({ file: join(dir, 'tether.json'), files, probeIntervalMs: 20 });
  await store.open();
  stores.push(store);
  return { store, files, dir };
}

async function reopenCopy(dir: string) {
  const copy = await crashImage(dir);
  dirs.push(copy);
  const store = new EmbeddedStore({ file: join(copy, 'tether.json') });
  await store.open();
  stores.push(store);
  return store;
}

describe.each(['ENOSPC', 'EACCES', 'EIO'])('the store when the disk fails with %s', (code) => {
  it('refuses the change with STORE_UNAVAILABLE, keeps memory as on disk, and resumes by itself', async () => {
    const { store, files, dir } = await faultyStore();
    await store.orgs.insert(org('org_a'));
    files.fail(code);
    const error = await store.users.insert(user('usr_1', 'a@example.com')).catch((e: unknown) => e);
    expect(isTetherError(error) && error.code).toBe('STORE_UNAVAILABLE');
    expect((error as Error).message).toContain(code);
    expect(await store.users.get('usr_1')).toBeUndefined();
    expect(await store.users.byEmail('a@example.com')).toBeUndefined();
    expect(store.health()).toMatchObject({ writable: false, error: { code: 'STORE_UNAVAILABLE' } });

    files.heal();
    // No request needed: the store's probe finds the disk back.
    await expect.poll(() => store.health().writable).toBe(true);
    await store.users.insert(user('usr_1', 'a@example.com'));
    const after = await reopenCopy(dir);
    expect((await after.users.byEmail('a@example.com'))?.id).toBe('usr_1');
    expect(await after.orgs.count()).toBe(1);
  });
});

describe('the store when writes fail', () => {
  it('fails every change queued behind a failed write, newest first, and undoes them all', async () => {
    const { store, files, dir } = await faultyStore();
    await store.orgs.insert(org('org_a'));
    await store.devices.insert(device('dev_1', 'hash_1'));
    files.fail('ENOSPC', ['sync']);
    const results = await Promise.allSettled([
      store.devices.update('dev_1', { name: 'one' }),
      store.devices.update('dev_1', { name: 'two', tokenHash: 'hash_2' }),
      store.devices.insert(device('dev_2', 'hash_3')),
      store.devices.delete('dev_1'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect((await store.devices.get('dev_1'))?.name).toBe('dev_1');
    expect((await store.devices.byTokenHash('hash_1'))?.id).toBe('dev_1');
    expect(await store.devices.byTokenHash('hash_2')).toBeUndefined();
    expect(await store.devices.get('dev_2')).toBeUndefined();
    files.heal();
    await expect.poll(() => store.health().writable).toBe(true);
    await store.devices.update('dev_1', { name: 'three' });
    // The written-then-refused bytes were cut off: the journal reads back clean.
    const after = await reopenCopy(dir);
    expect((await after.devices.get('dev_1'))?.name).toBe('three');
    expect(await after.devices.count()).toBe(1);
  });

  it('undoes a whole transaction whose commit cannot be written', async () => {
    const { store, files } = await faultyStore();
    await store.orgs.insert(org('org_a'));
    files.fail('EIO', ['write']);
    const error = await store
      .transaction(async (tx) => {
        await tx.users.insert(user('usr_1', 'a@example.com'));
        await tx.devices.insert(device('dev_1', 'hash_1'));
        await tx.orgs.delete('org_a');
      })
      .catch((e: unknown) => e);
    expect(isTetherError(error) && error.code).toBe('STORE_UNAVAILABLE');
    expect(await store.orgs.get('org_a')).toBeDefined();
    expect(await store.users.count()).toBe(0);
    expect(await store.devices.count()).toBe(0);
  });

  it('keeps writing to the journal when a compaction cannot write its snapshot', async () => {
    const { store, files, dir } = await faultyStore();
    await store.orgs.insert(org('org_a'));
    files.fail('ENOSPC', ['rename']);
    expect(await store.compact().catch((e: unknown) => (e as NodeJS.ErrnoException).code)).toBe('ENOSPC');
    files.heal();
    await store.devices.insert(device('dev_1', 'hash_1'));
    expect(store.health().writable).toBe(true);
    const after = await reopenCopy(dir);
    expect(await after.devices.count()).toBe(1);
  });

  it('refuses to start on a data folder it cannot write, saying which and what to do', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const files = new FaultyStoreFiles();
    files.fail('EACCES', ['create']);
    const error = await new EmbeddedStore({ file: join(dir, 'tether.json'), files })
      .open()
      .catch((e: unknown) => e);
    expect(isTetherError(error) && error.code).toBe('STORE_UNAVAILABLE');
    expect((error as Error).message).toContain(`The data folder ${dir} is not writable (EACCES)`);
    expect((error as Error).message).toContain('--data-dir');
  });
});

describe('the gateway when its disk fails', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('answers 503 STORE_UNAVAILABLE, reports not ready, keeps serving, and recovers by itself', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const files = new FaultyStoreFiles();
    const store = new EmbeddedStore({ file: join(dir, 'tether.json'), files, probeIntervalMs: 20 });
    gw = await startTestGateway({}, { store, dataDir: dir });
    const admin = await gw.login();
    expect((await gw.api('GET', '/readyz')).status).toBe(200);

    files.fail('ENOSPC');
    const refused = await gw.api<{ error: { code: string; message: string } }>(
      'POST',
      '/api/templates',
      { name: 'Thermostat', datastreams: [{ name: 'temp', type: 'double' }] },
      admin,
    );
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('STORE_UNAVAILABLE');
    const ready = await gw.api<{ status: string; store: { writable: boolean } }>('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.store.writable).toBe(false);
    // Alive, and reads still work.
    expect((await gw.api('GET', '/healthz')).status).toBe(200);
    expect(
      (await gw.api<{ templates: unknown[] }>('GET', '/api/templates', undefined, admin)).body.templates,
    ).toEqual([]);

    files.heal();
    await expect.poll(async () => (await gw!.api('GET', '/readyz')).status).toBe(200);
    const created = await gw.api(
      'POST',
      '/api/templates',
      { name: 'Thermostat', datastreams: [{ name: 'temp', type: 'double' }] },
      admin,
    );
    expect(created.status).toBe(201);
  });
});
