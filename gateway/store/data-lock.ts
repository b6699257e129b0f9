/**
 * One process at a time in a data folder: a gateway, an offline backup or a restore holds
 * `<name>.lock` while it works. Two writers on one store would lose each other's changes, and a
 * backup read under a running gateway would not be consistent.
 *
 * Node has no flock(), so the lock is a file made with O_EXCL that names its holder: process id,
 * host, boot id and the process's start time. A lock left by a process that is gone (killed,
 * power cut: another boot id, a pid that is not running or has been reused) is taken over.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname } from 'node:path';
import { TetherError } from '../../shared/errors.js';
import { notWritable } from './journal.js';
import type { StoreFiles } from './store-files.js';

export interface LockHolder {
  pid: number;
  host: string;
  bootId: string | null;
  startTime: string | null;
  /** What holds it: "gateway", "backup", "restore". */
  purpose: string;
  since: number;
}

export interface DataLock {
  readonly path: string;
  release(): Promise<void>;
}

const readProc = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
};

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function processStartTime(pid: number): string | null {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

const bootId = () => readProc('/proc/sys/kernel/random/boot_id');

function me(purpose: string): LockHolder {
  return {
    pid: process.pid,
    host: hostname(),
    bootId: bootId(),
    startTime: processStartTime(process.pid),
    purpose,
    since: Date.now(),
  };
}

/** Whether the process that wrote `holder` is still running. */
export function holderAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true; // cannot tell: assume it is
  if (holder.bootId && bootId() && holder.bootId !== bootId()) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const started = processStartTime(holder.pid);
  return !(holder.startTime && started && started !== holder.startTime);
}

/** The lock's holder, if the folder is locked by a live process. */
export async function lockHolder(files: StoreFiles, path: string): Promise<LockHolder | undefined> {
  const bytes = await files.read(path);
  if (!bytes) return undefined;
  const holder = parseHolder(bytes);
  return holder && holderAlive(holder) ? holder : undefined;
}

function parseHolder(bytes: Buffer): LockHolder | undefined {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as LockHolder;
    return typeof value?.pid === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

export function describeHolder(holder: LockHolder): string {
  return `${holder.purpose} (process ${holder.pid} on ${holder.host}, since ${new Date(holder.since).toISOString()})`;
}

export async function acquireDataLock(files: StoreFiles, path: string, purpose: string): Promise<DataLock> {
  const dir = dirname(path);
  const mine = me(purpose);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await files.create(path);
      try {
        await handle.write(Buffer.from(`${JSON.stringify(mine)}\n`), 0);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      return {
        path,
        release: async () => {
          // Only our own lock: never one a later holder took over.
          const current = parseHolder((await files.read(path).catch(() => undefined)) ?? Buffer.alloc(0));
          if (current?.pid === mine.pid && current.since === mine.since) await files.unlink(path);
        },
      };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw notWritable(dir, error);
      const bytes = await files.read(path);
      const holder = bytes ? parseHolder(bytes) : undefined;
      if (holder && holderAlive(holder)) {
        throw new TetherError(
          'STORE_LOCKED',
          `The data folder ${dir} is in use by a ${describeHolder(holder)}. Stop it first, or use another folder. If no such process runs, delete ${basename(path)}.`,
          { details: { holder } },
        );
      }
      // Left by a process that is gone: take it over.
      await files.unlink(path);
    }
  }
  throw new TetherError('STORE_LOCKED', `The data folder ${dir} is locked (${basename(path)}).`);
}
