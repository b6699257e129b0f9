/**
 * The embedded store's file layer: every read, write, sync and rename the store does goes
 * through this small interface, so a test can make the disk fail (ENOSPC, EACCES, EIO) exactly
 * where the store touches it, even as root, where a read-only folder still accepts writes.
 * `nodeStoreFiles` is the real one; `FaultyStoreFiles` wraps it and fails chosen operations.
 */
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { ownValue } from '../../shared/own-keys.js';

export interface StoreFileHandle {
  /** Writes all of `data` at `position`. */
  write(data: Buffer, position: number): Promise<void>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export type StoreFileOp =
  | 'read'
  | 'list'
  | 'mkdir'
  | 'create'
  | 'open'
  | 'write'
  | 'sync'
  | 'truncate'
  | 'rename'
  | 'link'
  | 'unlink'
  | 'chmod';

export interface StoreFiles {
  /** The file's bytes, or undefined when it does not exist. */
  read(path: string): Promise<Buffer | undefined>;
  /** Names in a folder (empty when the folder does not exist). */
  list(dir: string): Promise<string[]>;
  /** Creates the folder and its parents (mode 0700 for the ones it creates). */
  mkdir(dir: string): Promise<void>;
  /** A new file, mode 0600; fails with EEXIST when it exists. */
  create(path: string): Promise<StoreFileHandle>;
  /** An existing file, for writing. */
  open(path: string): Promise<StoreFileHandle>;
  rename(from: string, to: string): Promise<void>;
  /** A second name for a file (a hard link); fails with EEXIST when `to` exists. */
  link(from: string, to: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  unlink(path: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  /** Makes the folder's entries (created, renamed, removed files) durable. */
  syncDir(dir: string): Promise<void>;
}

class NodeFileHandle implements StoreFileHandle {
  constructor(private readonly handle: fs.FileHandle) {}

  async write(data: Buffer, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

export const nodeStoreFiles: StoreFiles = {
  async read(path) {
    try {
      return await fs.readFile(path);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  },
  async list(dir) {
    try {
      return await fs.readdir(dir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  },
  async mkdir(dir) {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  },
  async create(path) {
    const handle = await fs.open(path, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR, 0o600);
    // The mode above is reduced by the umask; a store file is the owner's alone whatever it is.
    await handle.chmod(0o600);
    return new NodeFileHandle(handle);
  },
  async open(path) {
    return new NodeFileHandle(await fs.open(path, 'r+'));
  },
  rename: (from, to) => fs.rename(from, to),
  link: (from, to) => fs.link(from, to),
  async unlink(path) {
    await fs.rm(path, { force: true });
  },
  chmod: (path, mode) => fs.chmod(path, mode),
  async syncDir(dir) {
    const handle = await fs.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** An error as the operating system reports it: `code` ENOSPC, EACCES, EIO… */
export function fsError(code: string, op: string, path: string): NodeJS.ErrnoException {
  const messages: Record<string, string> = {
    ENOSPC: 'no space left on device',
    EACCES: 'permission denied',
    EIO: 'i/o error',
    EROFS: 'read-only file system',
  };
  const error = new Error(
    `${code}: ${ownValue(messages, code) ?? 'failed'}, ${op} '${path}'`,
  ) as NodeJS.ErrnoException;
  error.code = code;
  error.syscall = op;
  error.path = path;
  return error;
}

/**
 * The real file layer with faults on demand: `fail('ENOSPC', ['write', 'sync'])` makes those
 * operations fail until `heal()`. A failing write first writes part of its data, as a full disk
 * does, so the store has to cope with a torn tail.
 */
export class FaultyStoreFiles implements StoreFiles {
  #fault: { code: string; ops: ReadonlySet<StoreFileOp> } | undefined;
  /** How many operations failed so far. */
  failures = 0;

  constructor(private readonly real: StoreFiles = nodeStoreFiles) {}

  fail(
    code: string,
    ops: readonly StoreFileOp[] = ['create', 'write', 'sync', 'truncate', 'rename', 'link'],
  ): void {
    this.#fault = { code, ops: new Set(ops) };
  }

  heal(): void {
    this.#fault = undefined;
  }

  #check(op: StoreFileOp, path: string): void {
    if (this.#fault?.ops.has(op)) {
      this.failures++;
      throw fsError(this.#fault.code, op, path);
    }
  }

  async read(path: string) {
    this.#check('read', path);
    return this.real.read(path);
  }
  async list(dir: string) {
    this.#check('list', dir);
    return this.real.list(dir);
  }
  async mkdir(dir: string) {
    this.#check('mkdir', dir);
    return this.real.mkdir(dir);
  }
  async create(path: string) {
    this.#check('create', path);
    return this.#wrap(await this.real.create(path), path);
  }
  async open(path: string) {
    this.#check('open', path);
    return this.#wrap(await this.real.open(path), path);
  }
  async rename(from: string, to: string) {
    this.#check('rename', to);
    return this.real.rename(from, to);
  }
  async link(from: string, to: string) {
    this.#check('link', to);
    return this.real.link(from, to);
  }
  async unlink(path: string) {
    this.#check('unlink', path);
    return this.real.unlink(path);
  }
  async chmod(path: string, mode: number) {
    this.#check('chmod', path);
    return this.real.chmod(path, mode);
  }
  async syncDir(dir: string) {
    this.#check('sync', dir);
    return this.real.syncDir(dir);
  }

  #wrap(handle: StoreFileHandle, path: string): StoreFileHandle {
    return {
      write: async (data, position) => {
        if (this.#fault?.ops.has('write')) {
          // A full disk takes part of a write before it refuses the rest.
          await handle.write(data.subarray(0, Math.floor(data.length / 2)), position);
          this.#check('write', path);
        }
        return handle.write(data, position);
      },
      datasync: async () => {
        this.#check('sync', path);
        return handle.datasync();
      },
      truncate: async (length) => {
        this.#check('truncate', path);
        return handle.truncate(length);
      },
      close: () => handle.close(),
    };
  }
}
