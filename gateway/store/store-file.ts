/**
 * The embedded store on disk: `<name>.json` (the snapshot: every table at one journal sequence
 * number), `<name>.journal.<n>` (the segments written since), `<name>.prev.json` (the snapshot
 * before the last compaction, the fallback if the current one is damaged) and `<name>.lock`.
 *
 * readStore() loads all of it into one image and checks its whole shape; it never writes, except
 * the copy of an old version's data it keeps before a migration. writeSnapshot() replaces the
 * snapshot atomically from pieces of text, awaiting the disk between pieces so that a large
 * store is written without blocking the event loop.
 */
import { dirname, join } from 'node:path';
import { TetherError } from '../../shared/errors.js';
import { decodeSegment, listSegments, notWritable, snapshotBase } from './journal.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import type { StoreFiles } from './store-files.js';
import {
  emptyImage,
  imageFromDocument,
  imageView,
  Problems,
  replayEntry,
  type StoreImage,
  snapshotPieces,
  storeInvalid,
  validateImage,
} from './store-image.js';
import { SCHEMA_VERSION } from './tables.js';

export const prevSnapshotPath = (file: string) => join(dirname(file), `${snapshotBase(file)}.prev.json`);
export const versionCopyPath = (file: string, version: number) =>
  join(dirname(file), `${snapshotBase(file)}.v${version}.json`);
export const lockPath = (file: string) => join(dirname(file), `${snapshotBase(file)}.lock`);

export interface ReadStoreOptions {
  /** Write `<name>.v<old>.json` before migrating (a gateway starting); off for read-only uses. */
  keepPreviousVersion?: boolean;
  migrations?: readonly Migration[];
  schemaVersion?: number;
}

export interface LoadedStore {
  image: StoreImage;
  /** Whether a snapshot file existed (a new folder has none). */
  existed: boolean;
  snapshotBytes: number;
  journalBytes: number;
  /** Segment files read, with their sizes: the next snapshot covers them all. */
  segments: Array<{ path: string; bytes: number }>;
  /** The number the next segment gets. */
  nextSegment: number;
  /** Segments that ended in an unfinished record (a crash while it was written). */
  torn: string[];
  migratedFrom?: number;
}

export async function readStore(
  files: StoreFiles,
  file: string,
  options: ReadStoreOptions = {},
): Promise<LoadedStore> {
  const target = options.schemaVersion ?? SCHEMA_VERSION;
  const problems = new Problems();
  const refuse = async () => storeInvalid(dirname(file), problems.list, await recoveryHint(files, file));
  const bytes = await files.read(file);
  let image: StoreImage;
  if (bytes) {
    const doc = parseDocument(bytes, file, target, problems);
    if (!doc) throw await refuse();
    image = imageFromDocument(doc, problems);
  } else {
    image = { ...emptyImage(), schemaVersion: target, meta: { schemaVersion: target, setupCodeHash: null } };
  }
  const segments = await listSegments(files, file);
  let journalBytes = 0;
  const sizes: Array<{ path: string; bytes: number }> = [];
  const torn: string[] = [];
  for (const segment of segments) {
    const name = segment.path.slice(dirname(file).length + 1);
    const content = (await files.read(segment.path)) ?? Buffer.alloc(0);
    journalBytes += content.length;
    sizes.push({ path: segment.path, bytes: content.length });
    let decoded: ReturnType<typeof decodeSegment>;
    try {
      decoded = decodeSegment(content, name);
    } catch (error) {
      problems.add((error as Error).message);
      break;
    }
    if (decoded.torn) torn.push(name);
    for (const entry of decoded.entries) {
      if (entry.seq <= image.journalSeq) continue;
      if (entry.seq !== image.journalSeq + 1) {
        problems.add(
          `journal ${name}: record ${entry.seq} follows record ${image.journalSeq}; the records between are missing`,
        );
        break;
      }
      replayEntry(image, entry, `journal ${name}`, problems);
      image.journalSeq = entry.seq;
    }
    if (problems.list.length > 0) break;
  }
  if (problems.list.length > 0) throw await refuse();

  let migratedFrom: number | undefined;
  if (image.schemaVersion < target) {
    migratedFrom = image.schemaVersion;
    if (options.keepPreviousVersion) {
      await writeFileAtomically(
        files,
        versionCopyPath(file, image.schemaVersion),
        snapshotPieces(imageView(image)),
      );
    }
    migrateImage(image, options, problems);
    if (problems.list.length > 0) throw await refuse();
  }
  validateImage(image, problems);
  if (problems.list.length > 0) throw await refuse();
  return {
    image,
    existed: bytes !== undefined,
    snapshotBytes: bytes?.length ?? 0,
    journalBytes,
    segments: sizes,
    nextSegment: (segments.at(-1)?.n ?? 0) + 1,
    torn,
    ...(migratedFrom === undefined ? {} : { migratedFrom }),
  };
}

/** Runs the migrations from the image's schema version up to this Tether's; a missing step is a problem. */
export function migrateImage(
  image: StoreImage,
  options: Pick<ReadStoreOptions, 'migrations' | 'schemaVersion'>,
  problems: Problems,
): void {
  const target = options.schemaVersion ?? SCHEMA_VERSION;
  const migrations = options.migrations ?? MIGRATIONS;
  if (image.schemaVersion > target) {
    problems.add(
      `it was written by a newer Tether (schema version ${image.schemaVersion}; this one reads up to ${target})`,
    );
    return;
  }
  while (image.schemaVersion < target) {
    const step = migrations.find((m) => m.from === image.schemaVersion);
    if (!step) {
      problems.add(`no migration from schema version ${image.schemaVersion} to ${image.schemaVersion + 1}`);
      return;
    }
    step.migrate(image);
    image.schemaVersion = step.from + 1;
    image.meta = { ...image.meta, schemaVersion: image.schemaVersion };
  }
}

/** The file as a JSON object of a version this Tether reads; problems say why not. */
function parseDocument(
  bytes: Buffer,
  file: string,
  target: number,
  problems: Problems,
): Record<string, unknown> | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    problems.add(`${file} is not valid JSON (${(error as Error).message})`);
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    problems.add(
      `${file} holds ${doc === null ? 'null' : Array.isArray(doc) ? 'a list' : `a ${typeof doc}`}, not a Tether database`,
    );
    return undefined;
  }
  const version = (doc as { schemaVersion?: unknown }).schemaVersion;
  if (version === undefined) {
    problems.add(`${file} has no schemaVersion: it is not a Tether database, or it is damaged`);
    return undefined;
  }
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    problems.add(
      `${file} has schemaVersion ${JSON.stringify(version)?.slice(0, 40)}, which no Tether writes`,
    );
    return undefined;
  }
  if ((version as number) > target) {
    problems.add(
      `${file} was written by a newer Tether (schema version ${version as number}; this one reads up to ${target}). Run that newer version, or restore a backup made by this one`,
    );
    return undefined;
  }
  return doc as Record<string, unknown>;
}

/** What an operator can do about a refused store, from what the folder holds. */
async function recoveryHint(files: StoreFiles, file: string): Promise<string> {
  const prev = prevSnapshotPath(file);
  const names = new Set(await files.list(dirname(file)).catch(() => [] as string[]));
  const prevName = prev.slice(dirname(file).length + 1);
  if (names.has(prevName)) {
    return `The snapshot before the last compaction is ${prevName}: to start from it (losing the changes made after it), copy it alone into an empty folder as ${snapshotBase(file)}.json and start the gateway there. Or restore a backup into an empty folder: tether restore FILE --data-dir DIR.`;
  }
  return 'If you have a backup, restore it into an empty folder: tether restore FILE --data-dir DIR. To start with no data, point the gateway at an empty folder (--data-dir). Keep this folder as it is.';
}

/**
 * Replaces `file` with the text of `pieces`: a temporary file, fsynced, then the old snapshot
 * kept as `<name>.prev.json` (a hard link, so `file` never goes missing) and the new one renamed
 * over it. A crash at any point leaves a complete snapshot in place. Returns the bytes written.
 */
export async function writeSnapshot(
  files: StoreFiles,
  file: string,
  pieces: Iterable<string>,
): Promise<number> {
  const tmp = `${file}.tmp`;
  const bytes = await writeTemp(files, tmp, pieces);
  const prev = prevSnapshotPath(file);
  await files.unlink(prev);
  try {
    await files.link(file, prev);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await files.rename(tmp, file);
  await files.syncDir(dirname(file));
  return bytes;
}

/** A file written whole or not at all (temporary file, fsync, rename, folder fsync). */
export async function writeFileAtomically(
  files: StoreFiles,
  file: string,
  pieces: Iterable<string> | AsyncIterable<string>,
): Promise<number> {
  const tmp = `${file}.tmp`;
  const bytes = await writeTemp(files, tmp, pieces);
  await files.rename(tmp, file);
  await files.syncDir(dirname(file));
  return bytes;
}

async function writeTemp(
  files: StoreFiles,
  tmp: string,
  pieces: Iterable<string> | AsyncIterable<string>,
): Promise<number> {
  await files.unlink(tmp);
  const handle = await files.create(tmp);
  let position = 0;
  try {
    let buffered: Buffer[] = [];
    let size = 0;
    for await (const piece of pieces) {
      const chunk = Buffer.from(piece);
      buffered.push(chunk);
      size += chunk.length;
      // Each await gives the event loop back between pieces.
      if (size >= 256 * 1024) {
        await handle.write(Buffer.concat(buffered), position);
        position += size;
        buffered = [];
        size = 0;
      } else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (size > 0) await handle.write(Buffer.concat(buffered), position);
    position += size;
    await handle.datasync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await files.unlink(tmp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return position;
}

/**
 * Checks that `dir` can hold a store: created if missing, a file written, synced and removed.
 * STORE_UNAVAILABLE (saying which folder and what to do) when it cannot.
 */
export async function assertWritableFolder(files: StoreFiles, dir: string): Promise<void> {
  const probe = join(dir, '.tether-write-check');
  try {
    await files.mkdir(dir);
    await files.unlink(probe);
    const handle = await files.create(probe);
    try {
      await handle.write(Buffer.from('ok'), 0);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await files.unlink(probe);
  } catch (error) {
    throw notWritable(dir, error);
  }
}

export const isStoreInvalid = (error: unknown): error is TetherError =>
  error instanceof TetherError && error.code === 'STORE_INVALID';
