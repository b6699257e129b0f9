/**
 * Damaged or foreign data is refused, never served and never overwritten: each file below makes
 * the store refuse to open with STORE_INVALID and a message that names the problem, and leaves
 * every file in the folder exactly as it was.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../gateway/store/embedded-store.js';
import { isTetherError } from '../../shared/errors.js';
import { runCli } from '../support/run-cli.js';
import { DAMAGED, validDocument } from './damaged-cases.js';
import { folderDigest, removeAll, tempDir } from './store-files-support.js';

describe('a damaged or foreign database file', () => {
  const dirs: string[] = [];
  afterEach(() => removeAll(dirs));

  it('opens the valid file these cases start from', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    await writeFile(join(dir, 'tether.json'), JSON.stringify(validDocument()));
    const store = new EmbeddedStore({ file: join(dir, 'tether.json') });
    await store.open();
    expect(await store.devices.count()).toBe(2);
    await store.close();
  });

  it.each(DAMAGED)('is refused and left untouched: %s', async (_what, content, says) => {
    const dir = await tempDir();
    dirs.push(dir);
    await writeFile(join(dir, 'tether.json'), content);
    const before = await folderDigest(dir);
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await new EmbeddedStore({ file: join(dir, 'tether.json') })
        .open()
        .catch((e: unknown) => e);
      expect(isTetherError(error) && error.code).toBe('STORE_INVALID');
      expect((error as Error).message).toMatch(says);
      expect((error as Error).message).toContain('nothing in it was changed');
    }
    expect(await folderDigest(dir)).toEqual(before);
  });

  it('names the previous snapshot when there is one, and a backup when there is not', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    await writeFile(join(dir, 'tether.json'), '{');
    const without = await new EmbeddedStore({ file: join(dir, 'tether.json') })
      .open()
      .catch((e: unknown) => e);
    expect((without as Error).message).toContain('If you have a backup, restore it into an empty folder');
    await writeFile(join(dir, 'tether.prev.json'), JSON.stringify(validDocument()));
    const withPrev = await new EmbeddedStore({ file: join(dir, 'tether.json') })
      .open()
      .catch((e: unknown) => e);
    expect((withPrev as Error).message).toContain(
      'The snapshot before the last compaction is tether.prev.json',
    );
  });

  it('stops `tether gateway start` with STORE_INVALID and exit code 2', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    await writeFile(join(dir, 'tether.json'), 'null');
    const before = await folderDigest(dir);
    const result = await runCli([
      'gateway',
      'start',
      '--data-dir',
      dir,
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error STORE_INVALID: The database in .* cannot be used; nothing in it was changed/,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // The store's files as they were (the gateway's signing keys may have been made beside them).
    expect(await folderDigest(dir)).toMatchObject(before);
  }, 60_000); // a gateway process of its own: slow to start on a busy machine
});
