/**
 * The data folder (writable, room to grow) and the store in it (loads as the gateway would load
 * it). Both only read, apart from the one probe file a write check must write and remove.
 */
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isTetherError } from '../../shared/errors.js';
import { storeFileOf } from '../store/data-folder-backup.js';
import { lockHolder } from '../store/data-lock.js';
import { assertWritableFolder, lockPath, readStore } from '../store/store-file.js';
import type { CheckResult, DoctorEnv } from './doctor.js';
import { fail, ok, warn } from './doctor.js';

const MiB = 2 ** 20;
/** Below this the gateway soon stops taking changes (STORE_UNAVAILABLE). */
const MIN_FREE = 100 * MiB;

const size = (bytes: number) =>
  bytes >= 10 * 2 ** 30 ? `${Math.round(bytes / 2 ** 30)} GiB` : `${Math.round(bytes / MiB)} MiB`;

export async function checkDataFolder(dataDir: string, env: DoctorEnv): Promise<CheckResult> {
  // A folder that is not there yet is made at start: its nearest existing parent must take it.
  let folder = dataDir;
  while (!(await exists(folder)) && dirname(folder) !== folder) folder = dirname(folder);
  try {
    await assertWritableFolder(env.files, folder);
  } catch (error) {
    if (!isTetherError(error)) throw error;
    return fail('data folder', error.code, error.message);
  }
  // A compaction writes a whole new snapshot beside the old one: keep room for two.
  const snapshot = (await env.files.read(storeFileOf(dataDir)))?.length ?? 0;
  const needed = Math.max(MIN_FREE, 2 * snapshot);
  const free = await env.freeBytes(folder);
  const where = folder === dataDir ? `${dataDir}: writable` : `${dataDir}: not made yet, ${folder} takes it`;
  if (free < needed) {
    return fail(
      'data folder',
      'STORE_UNAVAILABLE',
      `${where}: only ${size(free)} free, and the gateway needs ${size(needed)} (two copies of its database, at least ${size(MIN_FREE)}). Free disk space, or move the data folder to a bigger disk.`,
    );
  }
  return ok('data folder', `${where}, ${size(free)} free`);
}

export async function checkStore(dataDir: string, env: DoctorEnv): Promise<CheckResult> {
  const file = storeFileOf(dataDir);
  const present = await env.files.list(dataDir);
  if (!present.some((name) => name === 'tether.json' || name.startsWith('tether.journal.'))) {
    return ok('store', `no database in ${dataDir} yet: the gateway makes one at its first start`);
  }
  const holder = await lockHolder(env.files, lockPath(file));
  const held = holder ? ` (in use by ${holder.purpose} process ${holder.pid})` : '';
  let loaded: Awaited<ReturnType<typeof readStore>>;
  try {
    loaded = await readStore(env.files, file);
  } catch (error) {
    if (!isTetherError(error)) throw error;
    // A running gateway may have compacted between the listing and the reading: look once more.
    if (!holder) return fail('store', error.code, error.message);
    try {
      loaded = await readStore(env.files, file);
    } catch (again) {
      if (!isTetherError(again)) throw again;
      return fail('store', again.code, again.message);
    }
  }
  const count = (table: string) => loaded.image.tables.get(table)?.size ?? 0;
  const summary = `${file} loads${held}: schema ${loaded.image.schemaVersion}, ${count('orgs')} organizations, ${count('users')} users, ${count('devices')} devices, journal ${size(loaded.journalBytes)}`;
  if (loaded.migratedFrom !== undefined) {
    return warn(
      'store',
      `${summary}; the next start upgrades it from schema ${loaded.migratedFrom} (the old file is kept). Take a backup first: tether backup --data-dir ${dataDir}.`,
    );
  }
  return ok('store', summary);
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
