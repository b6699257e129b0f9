/**
 * Backups of a data folder and restores into one (the format: backup.ts). A gateway makes an
 * online backup from its live store (GET /api/backup); these functions work on a folder no
 * gateway holds: the offline backup (`tether backup --data-dir`) and the restore
 * (`tether restore`, into an empty folder only). Both hold the folder's lock meanwhile.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { TetherError } from '../../shared/errors.js';
import { type BackupFile, backupLines, imageDump, readBackup } from './backup.js';
import { acquireDataLock } from './data-lock.js';
import { lockPath, migrateImage, readStore, writeFileAtomically } from './store-file.js';
import { nodeStoreFiles, type StoreFiles } from './store-files.js';
import { imageView, Problems, snapshotPieces, storeInvalid, validateImage } from './store-image.js';

/** The store file of a data folder. */
export const storeFileOf = (dataDir: string) => join(dataDir, 'tether.json');

/** The data-folder files a backup carries besides the store: the signing keys, and the outbox if asked. */
export async function* dataFolderFiles(
  dataDir: string,
  options: { outbox?: boolean } = {},
): AsyncGenerator<BackupFile> {
  const folders = options.outbox ? ['keys', 'outbox'] : ['keys'];
  for (const folder of folders) {
    let names: string[];
    try {
      names = (await readdir(join(dataDir, folder))).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const path = `${folder}/${name}`;
      if ((await stat(join(dataDir, path))).isFile())
        yield { path, data: await readFile(join(dataDir, path)) };
    }
  }
}

export interface BackupSummary {
  file: string;
  bytes: number;
  rows: number;
  audit: number;
  activity: number;
  files: number;
}

/** Writes the lines to `out` (mode 0600: a backup holds password hashes and the signing key). */
export async function writeBackupFile(out: string, lines: AsyncIterable<string>): Promise<number> {
  const chunks: string[] = [];
  for await (const line of lines) chunks.push(line);
  return writeFileAtomically(nodeStoreFiles, out, chunks);
}

/** `tether backup --data-dir`: a folder no gateway runs on, read under its lock. */
export async function backupDataFolder(
  dataDir: string,
  out: string,
  options: { outbox?: boolean; tether: string; files?: StoreFiles },
): Promise<BackupSummary> {
  const files = options.files ?? nodeStoreFiles;
  const file = storeFileOf(dataDir);
  if (!(await files.list(dataDir)).includes('tether.json')) {
    throw new TetherError('NOT_FOUND', `${dataDir} holds no Tether database (no tether.json).`);
  }
  const lock = await acquireDataLock(files, lockPath(file), 'backup');
  try {
    const { image } = await readStore(files, file);
    const bytes = await writeBackupFile(
      out,
      backupLines(imageDump(image), dataFolderFiles(dataDir, options), {
        backend: 'embedded',
        tether: options.tether,
      }),
    );
    return { file: out, bytes, ...(await verifyBackup(out)).counts };
  } finally {
    await lock.release();
  }
}

/** Reads a backup file whole and checks it (format, hash, counts): what `tether restore` refuses first. */
export async function verifyBackup(path: string) {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  try {
    return await readBackup(lines, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new TetherError('NOT_FOUND', `There is no backup file ${path}.`);
    throw error;
  } finally {
    lines.close();
  }
}

export interface RestoreSummary {
  dataDir: string;
  schemaVersion: number;
  tables: Record<string, number>;
  audit: number;
  activity: number;
  files: number;
  createdAt: string;
}

/**
 * `tether restore FILE`: into an empty (or missing) folder only, never over data. The backup is
 * checked whole, migrated to this Tether's schema and shape-checked before the first byte is
 * written; then the snapshot and the files, each 0600.
 */
export async function restoreDataFolder(
  backupFile: string,
  dataDir: string,
  options: { files?: StoreFiles } = {},
): Promise<RestoreSummary> {
  const files = options.files ?? nodeStoreFiles;
  const present = await files.list(dataDir);
  if (present.length > 0) {
    throw new TetherError(
      'CONFLICT',
      `${dataDir} is not empty (${present.slice(0, 3).join(', ')}${present.length > 3 ? ', …' : ''}): a restore goes into an empty folder only, so that it never mixes with or replaces data. Choose a new --data-dir, or move that folder away first.`,
    );
  }
  const backup = await verifyBackup(backupFile);
  const problems = new Problems();
  migrateImage(backup.image, {}, problems);
  validateImage(backup.image, problems);
  if (problems.list.length > 0) {
    throw storeInvalid(backupFile, problems.list, 'The backup was left as it is; nothing was restored.');
  }
  await files.mkdir(dataDir);
  const file = storeFileOf(dataDir);
  const lock = await acquireDataLock(files, lockPath(file), 'restore');
  try {
    await writeFileAtomically(files, file, snapshotPieces(imageView(backup.image)));
    for (const entry of backup.files) {
      const target = join(dataDir, entry.path);
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await writeFile(target, entry.data, { mode: 0o600, flag: 'wx' });
    }
  } finally {
    await lock.release();
  }
  return {
    dataDir,
    schemaVersion: backup.image.schemaVersion,
    tables: Object.fromEntries([...backup.image.tables].map(([name, rows]) => [name, rows.size])),
    audit: backup.image.audit.length,
    activity: backup.image.deviceActivity.length,
    files: backup.files.length,
    createdAt: backup.header.createdAt,
  };
}
