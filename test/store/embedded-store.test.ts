import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedStore, SCHEMA_VERSION } from '../../gateway/store/embedded-store.js';
import { isTetherError } from '../../shared/errors.js';
import { device, org, storeContract } from './store-contract.js';

storeContract('embedded, in memory', async () => {
  const store = new EmbeddedStore();
  await store.open();
  return store;
});

const dirs: string[] = [];
storeContract('embedded, on file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tether-store-'));
  dirs.push(dir);
  const store = new EmbeddedStore({ file: join(dir, 'tether.json'), flushDelayMs: 5 });
  await store.open();
  return store;
});

describe('embedded store on file', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tether-store-'));
    file = join(dir, 'tether.json');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('coalesces a burst of 1,000 changes into one file write', async () => {
    const store = new EmbeddedStore({ file, flushDelayMs: 50 });
    await store.open();
    await store.flush();
    const before = store.writeCount;
    await store.orgs.insert(org('org_a'));
    for (let i = 0; i < 1000; i++) await store.devices.insert(device(`dev_${i}`, `hash_${i}`));
    await store.flush();
    expect(store.writeCount - before).toBe(1);
    await store.close();
  });

  it('survives a restart: what was written is read back, with its indexes', async () => {
    const first = new EmbeddedStore({ file, flushDelayMs: 5 });
    await first.open();
    await first.orgs.insert(org('org_a'));
    await first.devices.insert(device('dev_1', 'hash_1'));
    await first.close();
    const saved = JSON.parse(await readFile(file, 'utf8')) as { schemaVersion: number };
    expect(saved.schemaVersion).toBe(SCHEMA_VERSION);
    const second = new EmbeddedStore({ file });
    await second.open();
    expect((await second.devices.byTokenHash('hash_1'))?.id).toBe('dev_1');
    await second.close();
  });

  it('writes in slices without losing a change made while a write is under way', async () => {
    const store = new EmbeddedStore({ file, flushDelayMs: 1 });
    await store.open();
    await store.orgs.insert(org('org_a'));
    for (let i = 0; i < 1_200; i++) await store.devices.insert(device(`dev_${i}`, `hash_${i}`));
    const writing = store.flush();
    // The write yields to the event loop between slices: change a row it has not reached yet, and
    // one it has already passed.
    await new Promise((resolve) => setImmediate(resolve));
    await store.devices.update('dev_1199', { name: 'renamed late' });
    await store.devices.update('dev_0', { name: 'renamed early' });
    await store.devices.delete('dev_600');
    await writing;
    await store.close();
    const reopened = new EmbeddedStore({ file });
    await reopened.open();
    expect((await reopened.devices.get('dev_1199'))?.name).toBe('renamed late');
    expect((await reopened.devices.get('dev_0'))?.name).toBe('renamed early');
    expect(await reopened.devices.get('dev_600')).toBeUndefined();
    expect(await reopened.devices.count()).toBe(1_199);
    expect((await reopened.devices.byTokenHash('hash_42'))?.id).toBe('dev_42');
    await reopened.close();
  });

  it('refuses to open a corrupt file and leaves it untouched', async () => {
    await writeFile(file, '{"schemaVersion":1, "orgs": [');
    const store = new EmbeddedStore({ file });
    const error = await store.open().catch((e: unknown) => e);
    expect(isTetherError(error) && error.code).toBe('CONFIG_INVALID');
    expect(await readFile(file, 'utf8')).toBe('{"schemaVersion":1, "orgs": [');
  });

  it('refuses a file from a newer schema version', async () => {
    await writeFile(file, JSON.stringify({ schemaVersion: SCHEMA_VERSION + 1 }));
    const error = await new EmbeddedStore({ file }).open().catch((e: unknown) => e);
    expect(isTetherError(error) && error.message).toContain('Upgrade Tether');
  });
});
