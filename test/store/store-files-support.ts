/** Helpers for tests of the embedded store's files: temp folders, crash images, byte-exact checks. */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function tempDir(prefix = 'tether-store-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * The folder as a process killed right now would leave it: every file as the disk holds it, the
 * lock file left out (its holder, this test process, is alive; a killed one would not be).
 */
export async function crashImage(dir: string): Promise<string> {
  const copy = await tempDir('tether-crash-');
  for (const name of await readdir(dir)) {
    if (name.endsWith('.lock')) continue;
    await copyFile(join(dir, name), join(copy, name));
  }
  return copy;
}

/** Every file's name and SHA-256: equal before and after means not one byte changed. */
export async function folderDigest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const name = entry.name;
    if (!entry.isFile()) {
      out[name] = 'folder';
      continue;
    }
    out[name] = createHash('sha256')
      .update(await readFile(join(dir, name)))
      .digest('hex');
  }
  return out;
}

/** Every store file's text, for checks that a secret never reaches the disk. */
export async function storeText(dir: string): Promise<string> {
  let text = '';
  for (const name of await readdir(dir)) {
    if (/^tether\.(json|journal\.\d+)$/.test(name)) text += await readFile(join(dir, name), 'utf8');
  }
  return text;
}

export async function removeAll(dirs: string[]): Promise<void> {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
}

export { mkdir };
