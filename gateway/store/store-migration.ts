/**
 * Moving a gateway's data between the two store backends (`tether store migrate`): a backup of the
 * source in the one versioned format (backup.ts), checked whole, then restored into an empty
 * target. The backup file stays behind as the copy of what was moved.
 *
 *   embedded data folder ──backup──▶ tether-backup.jsonl ──restore──▶ PostgreSQL (or a folder)
 *
 * A restore into PostgreSQL is one transaction: it lands whole or not at all, and the target is
 * refused unless it is empty. Afterwards the target is read back and its counts compared with the
 * backup's, so a migration that reports success moved every record.
 */
import { resolve } from 'node:path';
import { TetherError } from '../../shared/errors.js';
import { type BackupFile, backupLines, type ReadBackup } from './backup.js';
import {
  backupDataFolder,
  dataFolderFiles,
  restoreDataFolder,
  storeFileOf,
  verifyBackup,
  writeBackupFile,
} from './data-folder-backup.js';
import type { PostgresStore } from './postgres/postgres-store.js';
import type { Store, StoreTables } from './store.js';
import { migrateImage, readStore } from './store-file.js';
import { nodeStoreFiles } from './store-files.js';
import { Problems, type StoreImage, storeInvalid, validateImage } from './store-image.js';
import { TABLES } from './tables.js';

/** Where a store lives: a data folder (embedded) or a PostgreSQL database. */
export type StoreLocation = { backend: 'embedded'; dataDir: string } | { backend: 'postgres'; url: string };

/** `postgres://…` or `postgresql://…` is a database; anything else a data folder. */
export function parseLocation(text: string): StoreLocation {
  const trimmed = text.trim();
  if (trimmed === '') throw new TetherError('VALIDATION_FAILED', 'Name a data folder or a postgres:// URL.');
  if (/^postgres(ql)?:\/\//i.test(trimmed)) {
    try {
      new URL(trimmed);
    } catch {
      throw new TetherError(
        'VALIDATION_FAILED',
        `${redactUrl(trimmed)} is not a valid URL: postgres://user:password@host:5432/database.`,
      );
    }
    return { backend: 'postgres', url: trimmed };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `${redactUrl(trimmed)}: a store is a data folder or a postgres:// URL.`,
    );
  }
  return { backend: 'embedded', dataDir: resolve(trimmed) };
}

/** A URL as it may be shown: the password replaced (a store URL often carries one). */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

export const describeLocation = (location: StoreLocation): string =>
  location.backend === 'embedded'
    ? `the data folder ${location.dataDir}`
    : `PostgreSQL at ${redactUrl(location.url)}`;

export interface MigrationProgress {
  step: 'backup' | 'restore' | 'check';
  /** Records (rows and audit events) done so far in this step, of `total` when known. */
  done: number;
  total?: number;
}

export interface MigrationSummary {
  from: string;
  to: string;
  /** The backup the migration went through, kept as the copy of what was moved. */
  backup: string;
  tables: Record<string, number>;
  audit: number;
  /** Data-folder files carried (signing keys, outbox): restored into a folder target only. */
  files: number;
}

export interface MigrateOptions {
  from: StoreLocation;
  to: StoreLocation;
  /** Where the backup goes (and stays). */
  backupFile: string;
  tether: string;
  /** A PostgreSQL source's data folder: its signing keys and outbox travel with the backup. */
  dataDir?: string;
  onProgress?: (progress: MigrationProgress) => void;
}

/** Backup of `from`, restore into the empty `to`, then `to` read back and counted. */
export async function migrateStore(options: MigrateOptions): Promise<MigrationSummary> {
  const { from, to, backupFile, onProgress } = options;
  if (sameLocation(from, to)) {
    throw new TetherError(
      'VALIDATION_FAILED',
      `The source and the target are the same: ${describeLocation(to)}.`,
    );
  }
  // Refuse a target with data before the long part, and again at the restore (it could fill meanwhile).
  await assertEmptyTarget(to);
  onProgress?.({ step: 'backup', done: 0 });
  if (from.backend === 'embedded') {
    await backupDataFolder(from.dataDir, backupFile, { tether: options.tether, outbox: true });
  } else {
    await withPostgres(from.url, async (store) => {
      let done = 0;
      const counted = async function* () {
        for await (const part of store.dump()) {
          done += part.kind === 'rows' ? part.rows.length : part.kind === 'meta' ? 0 : part.events.length;
          onProgress?.({ step: 'backup', done });
          yield part;
        }
      };
      const files: AsyncIterable<BackupFile> | BackupFile[] = options.dataDir
        ? dataFolderFiles(options.dataDir, { outbox: true })
        : [];
      await writeBackupFile(
        backupFile,
        backupLines(counted(), files, { backend: 'postgres', tether: options.tether }),
      );
    });
  }
  const backup = await verifyBackup(backupFile);
  const expected = countsOf(backup.image);
  if (to.backend === 'embedded') {
    onProgress?.({ step: 'restore', done: 0, total: expected.total });
    await restoreDataFolder(backupFile, to.dataDir);
    onProgress?.({ step: 'restore', done: expected.total, total: expected.total });
  } else {
    const image = checkedImage(backup, backupFile);
    await withPostgres(to.url, async (store) => {
      await restoreIntoStore(store, image, (done) =>
        onProgress?.({ step: 'restore', done, total: expected.total }),
      );
    });
  }
  onProgress?.({ step: 'check', done: 0, total: expected.total });
  const found = await countTarget(to);
  for (const [table, rows] of Object.entries(expected.tables)) {
    // own-key: table names of the store's own schema (TABLES), counted on both sides
    const held = found.tables[table] ?? 0;
    if (held !== rows) {
      throw new TetherError(
        'INTERNAL',
        `After the restore ${describeLocation(to)} holds ${held} ${table} records; the backup ${backupFile} has ${rows}. Nothing was removed from the source.`,
      );
    }
  }
  onProgress?.({ step: 'check', done: expected.total, total: expected.total });
  return {
    from: describeLocation(from),
    to: describeLocation(to),
    backup: backupFile,
    tables: expected.tables,
    audit: expected.audit,
    files: to.backend === 'embedded' ? backup.files.length : 0,
  };
}

/**
 * Writes a checked image into an empty store through the store contract, in one transaction:
 * meta, then every table in dependency order, then the audit log and the device-activity log,
 * each oldest first.
 */
export async function restoreIntoStore(
  store: Store & { isEmpty?: () => Promise<boolean> },
  image: StoreImage,
  onProgress?: (done: number) => void,
): Promise<void> {
  let done = 0;
  await store.transaction(async (tx) => {
    // Checked inside the transaction (PostgreSQL's run one at a time): nothing can slip in first.
    if (store.isEmpty && !(await store.isEmpty())) throw notEmpty(`${store.backend} store`);
    const { schemaVersion: _version, ...meta } = image.meta;
    await tx.setMeta(meta);
    for (const spec of TABLES) {
      const rows = [...(image.tables.get(spec.name)?.values() ?? [])];
      const repository = tx[spec.name as keyof StoreTables] as unknown as {
        insertMany(records: readonly unknown[]): Promise<void>;
      };
      for (let i = 0; i < rows.length; i += RESTORE_BATCH) {
        await repository.insertMany(rows.slice(i, i + RESTORE_BATCH));
        done += Math.min(RESTORE_BATCH, rows.length - i);
        onProgress?.(done);
      }
    }
    for (const event of image.audit) {
      await tx.audit.append(event);
      if (++done % RESTORE_BATCH === 0) onProgress?.(done);
    }
    for (const event of image.deviceActivity) {
      await tx.deviceActivity.append(event);
      if (++done % RESTORE_BATCH === 0) onProgress?.(done);
    }
    onProgress?.(done);
  });
}

const RESTORE_BATCH = 500;

function checkedImage(backup: ReadBackup, backupFile: string): StoreImage {
  const problems = new Problems();
  migrateImage(backup.image, {}, problems);
  validateImage(backup.image, problems);
  if (problems.list.length > 0) {
    throw storeInvalid(backupFile, problems.list, 'The backup was left as it is; nothing was restored.');
  }
  return backup.image;
}

function countsOf(image: StoreImage): { tables: Record<string, number>; audit: number; total: number } {
  const tables = Object.fromEntries(TABLES.map((t) => [t.name, image.tables.get(t.name)?.size ?? 0]));
  const rows = Object.values(tables).reduce((a, b) => a + b, 0);
  const events = image.audit.length + image.deviceActivity.length;
  return { tables, audit: image.audit.length, total: rows + events };
}

async function countTarget(to: StoreLocation): Promise<{ tables: Record<string, number> }> {
  if (to.backend === 'postgres') {
    return withPostgres(to.url, async (store) => {
      const tables: Record<string, number> = {};
      for (const spec of TABLES) {
        const repository = store[spec.name as keyof StoreTables] as unknown as { count(): Promise<number> };
        tables[spec.name] = await repository.count();
      }
      return { tables };
    });
  }
  // The restored folder, read as the next start will read it.
  const { image } = await readStore(nodeStoreFiles, storeFileOf(to.dataDir));
  return { tables: countsOf(image).tables };
}

async function assertEmptyTarget(to: StoreLocation): Promise<void> {
  if (to.backend === 'postgres') {
    await withPostgres(to.url, async (store) => {
      if (!(await store.isEmpty())) throw notEmpty(describeLocation(to));
    });
    return;
  }
  const present = await nodeStoreFiles.list(to.dataDir);
  if (present.length > 0) throw notEmpty(describeLocation(to));
}

const notEmpty = (what: string) =>
  new TetherError(
    'CONFLICT',
    `${what} is not empty: a migration goes into an empty store only, so that it never mixes with or replaces data. Use a new database or folder, or empty it first.`,
  );

async function withPostgres<T>(url: string, fn: (store: PostgresStore) => Promise<T>): Promise<T> {
  // Imported when used: pg and Kysely stay unloaded in a gateway that never names PostgreSQL.
  const { PostgresStore } = await import('./postgres/postgres-store.js');
  const store = new PostgresStore({ url, poolSize: 2 });
  await store.open();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function sameLocation(a: StoreLocation, b: StoreLocation): boolean {
  if (a.backend === 'embedded' && b.backend === 'embedded') return a.dataDir === b.dataDir;
  if (a.backend === 'postgres' && b.backend === 'postgres') {
    const x = new URL(a.url);
    const y = new URL(b.url);
    return x.host === y.host && x.pathname === y.pathname;
  }
  return false;
}
