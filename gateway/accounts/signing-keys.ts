/**
 * The gateway's JWT signing keys: a key set (Ed25519), each key with an id (`kid`) that every
 * access token names in its header. New tokens are signed with the newest key; a token is
 * verified with whichever key it names, so rotating keys logs nobody out: a retired key keeps
 * verifying until every token it signed has expired, then it is dropped.
 *
 * Where the set lives:
 * - one node: the data folder (keys/jwt-keys.json, mode 0600), or memory for an in-memory
 *   gateway. The key of the older single-key file (keys/jwt-ed25519.json) is taken over, so the
 *   tokens it signed stay valid.
 * - a cluster: the store (its meta record), which every node shares, and not Redis: a signing key
 *   mints a session for anyone, Redis is commonly run without a password or persistence, while
 *   the store already holds everything such a key would open and is what gets backed up. Nodes
 *   re-read the set when a token names a key they do not know (another node rotated; at most
 *   once a second) and every few minutes anyway. Creating and rotating hold a cluster lock, so
 *   two nodes never mint rival keys.
 */
import type { webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { Clock } from '../../shared/clock.js';
import { TetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Part } from '../part.js';
import type { Store } from '../store/store.js';
import type { StoredSigningKey } from '../store/types.js';

type CryptoKey = webcrypto.CryptoKey;

export const SIGNING_ALG = 'EdDSA';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/** What access tokens are signed and verified with. */
export interface SigningKeySet {
  /** The key new tokens are signed with. */
  current(): SigningKey;
  /** The public key a token names; undefined for a key this gateway does not (or no longer) trust. */
  verificationKey(kid: string): Promise<CryptoKey | undefined>;
  /** Starts signing with a new key; the earlier ones verify what they signed until it has expired. */
  rotate(): Promise<void>;
}

/** Where a key set is kept: a file, the shared store, or memory. */
export interface KeyShelf {
  read(): Promise<StoredSigningKey[]>;
  /**
   * Changes the set as one step; `change` sees the set as it is now (another node may have moved
   * it) and answers the new set, or undefined to leave it. Resolves with the set as it ends up.
   */
  update(
    change: (keys: StoredSigningKey[]) => Promise<StoredSigningKey[] | undefined>,
  ): Promise<StoredSigningKey[]>;
}

/** Runs `fn` while no other node of the cluster runs one under the same name. */
export type ClusterLock = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

export interface KeySetOptions {
  clock: Clock;
  logger: Logger;
  /** Rotate the signing key once it is this old; 0 never rotates by age. */
  rotateAfterMs: number;
  /** The longest an access token lives: a retired key verifies for this long (plus a margin). */
  tokenTtlMs: number;
  /** A cluster's lock around creating and rotating keys; one node needs none. */
  lock?: ClusterLock;
}

/** A retired key is kept this much longer than the tokens it signed live (clock skew between nodes). */
const RETIRE_MARGIN_MS = 5 * 60_000;
/** How often a node checks whether its signing key is due for rotation, and re-reads a shared set. */
const CHECK_EVERY_MS = 5 * 60_000;
/** An unknown kid re-reads the set at most this often: a flood of made-up kids costs one read a second. */
const RELOAD_AT_MOST_EVERY_MS = 1_000;

interface LoadedKey {
  stored: StoredSigningKey;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export class KeySet implements SigningKeySet, Part {
  readonly name = 'signing-keys';
  #keys: LoadedKey[] = [];
  #timer: ReturnType<Clock['setInterval']> | undefined;
  #lastReload = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly shelf: KeyShelf,
    private readonly options: KeySetOptions,
  ) {}

  /** keys/jwt-keys.json in the data folder; memory without one. */
  static local(dataDir: string | undefined, options: KeySetOptions): KeySet {
    return new KeySet(dataDir ? fileShelf(join(dataDir, 'keys')) : memoryShelf(), options);
  }

  /** The set every node of a cluster shares, in the store. */
  static shared(store: Store, options: KeySetOptions): KeySet {
    return new KeySet(storeShelf(store), options);
  }

  async start(): Promise<void> {
    const { clock } = this.options;
    const stored = await this.#locked(() =>
      this.shelf.update(async (keys) => (keys.length > 0 ? undefined : [await newKey(clock.now())])),
    );
    await this.#load(stored);
    await this.#rotateIfDue();
    this.#timer = clock.setInterval(() => void this.refresh(), CHECK_EVERY_MS);
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) this.options.clock.clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The kids this gateway trusts now, newest last: for tests and `tether doctor`. */
  get kids(): string[] {
    return this.#keys.map((k) => k.stored.kid);
  }

  current(): SigningKey {
    const newest = this.#keys[this.#keys.length - 1];
    if (!newest)
      throw new TetherError('INTERNAL', 'The signing keys are not loaded: start the gateway first.');
    return { kid: newest.stored.kid, privateKey: newest.privateKey };
  }

  async verificationKey(kid: string): Promise<CryptoKey | undefined> {
    const known = this.#find(kid);
    if (known) return known;
    const now = this.options.clock.now();
    if (now - this.#lastReload < RELOAD_AT_MOST_EVERY_MS) return undefined;
    this.#lastReload = now;
    await this.#load(await this.shelf.read());
    return this.#find(kid);
  }

  async rotate(): Promise<void> {
    const { clock, logger } = this.options;
    const previous = this.current().kid;
    const stored = await this.#locked(() =>
      this.shelf.update(async (keys) => {
        // Another node rotated since this one loaded the set: take its key rather than add another.
        if (keys.length > 0 && keys[keys.length - 1]?.kid !== previous) return undefined;
        const now = clock.now();
        const kept = keys
          .map((k) => (k.retiredAt === null ? { ...k, retiredAt: now } : k))
          .filter((k) => !this.#expired(k, now));
        return [...kept, await newKey(now)];
      }),
    );
    await this.#load(stored);
    logger.info({ kid: this.current().kid, previous }, 'signing key rotated');
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.options.lock ? this.options.lock('signing-keys', fn) : fn();
  }

  #find(kid: string): CryptoKey | undefined {
    const key = this.#keys.find((k) => k.stored.kid === kid);
    return key && !this.#expired(key.stored, this.options.clock.now()) ? key.publicKey : undefined;
  }

  #expired(key: StoredSigningKey, now: number): boolean {
    return key.retiredAt !== null && key.retiredAt + this.options.tokenTtlMs + RETIRE_MARGIN_MS < now;
  }

  /** Re-reads the set (another node may have rotated) and rotates when the signing key is due. */
  async refresh(): Promise<void> {
    try {
      await this.#load(await this.shelf.read());
      await this.#rotateIfDue();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'signing keys: could not refresh; the current key stays');
    }
  }

  async #rotateIfDue(): Promise<void> {
    const { rotateAfterMs, clock } = this.options;
    const newest = this.#keys[this.#keys.length - 1];
    if (rotateAfterMs > 0 && newest && newest.stored.createdAt + rotateAfterMs <= clock.now())
      await this.rotate();
  }

  async #load(stored: StoredSigningKey[]): Promise<void> {
    if (stored.length === 0) return;
    const cached = new Map(this.#keys.map((k) => [k.stored.kid, k]));
    const loaded: LoadedKey[] = [];
    for (const key of [...stored].sort((a, b) => a.createdAt - b.createdAt)) {
      const known = cached.get(key.kid);
      loaded.push(known ? { ...known, stored: key } : await importKey(key));
    }
    this.#keys = loaded;
  }
}

async function newKey(now: number): Promise<StoredSigningKey> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  // The kid says when the key was made and is unique across nodes.
  const kid = `k${now.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return { kid, createdAt: now, retiredAt: null, jwk: jwk as Record<string, string> };
}

async function importKey(stored: StoredSigningKey): Promise<LoadedKey> {
  try {
    const { d: _private, ...publicJwk } = stored.jwk as JWK;
    return {
      stored,
      privateKey: (await importJWK(stored.jwk as JWK, SIGNING_ALG)) as CryptoKey,
      publicKey: (await importJWK(publicJwk, SIGNING_ALG)) as CryptoKey,
    };
  } catch (error) {
    throw new TetherError(
      'CONFIG_INVALID',
      `Signing key ${stored.kid} cannot be read; it was left untouched.`,
      {
        cause: error,
      },
    );
  }
}

function memoryShelf(): KeyShelf {
  let keys: StoredSigningKey[] = [];
  return {
    read: async () => keys,
    update: async (change) => {
      keys = (await change(keys)) ?? keys;
      return keys;
    },
  };
}

/** keys/jwt-keys.json, written atomically (temp file, fsync'd rename) and readable by the owner only. */
export function fileShelf(folder: string): KeyShelf {
  const file = join(folder, 'jwt-keys.json');
  const legacy = join(folder, 'jwt-ed25519.json');
  const readMain = async (): Promise<StoredSigningKey[] | undefined> => {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    return text === undefined ? undefined : parseKeyFile(file, text);
  };
  return {
    read: async () => (await readMain()) ?? (await readLegacy(legacy)),
    update: async (change) => {
      const main = await readMain();
      const keys = main ?? (await readLegacy(legacy));
      // The key of the older single-key file moves into jwt-keys.json even when nothing changes.
      const next = (await change(keys)) ?? (main === undefined && keys.length > 0 ? keys : undefined);
      if (next) {
        await mkdir(folder, { recursive: true, mode: 0o700 });
        const tmp = `${file}.tmp`;
        await writeFile(tmp, JSON.stringify({ keys: next }), { mode: 0o600, flush: true });
        await chmod(tmp, 0o600);
        await rename(tmp, file);
        if (main === undefined) await rm(legacy, { force: true });
      }
      return next ?? keys;
    },
  };
}

function parseKeyFile(file: string, text: string): StoredSigningKey[] {
  try {
    const parsed = JSON.parse(text) as { keys?: unknown };
    if (!Array.isArray(parsed.keys) || !parsed.keys.every(isStoredKey)) throw new Error('not a key set');
    return parsed.keys;
  } catch (error) {
    throw new TetherError(
      'CONFIG_INVALID',
      `The signing keys in ${file} cannot be read; the file was left untouched.`,
      {
        cause: error,
      },
    );
  }
}

/** The single key of keys/jwt-ed25519.json (before key sets), taken over with its kid. */
async function readLegacy(file: string): Promise<StoredSigningKey[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    const jwk = JSON.parse(text) as Record<string, string>;
    if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 private key');
    const createdAt = (await stat(file)).mtimeMs;
    return [{ kid: jwk.kid ?? 'k0', createdAt: Math.floor(createdAt), retiredAt: null, jwk }];
  } catch (error) {
    throw new TetherError(
      'CONFIG_INVALID',
      `The signing key ${file} cannot be read; it was left untouched.`,
      {
        cause: error,
      },
    );
  }
}

const isStoredKey = (k: unknown): k is StoredSigningKey => {
  const key = k as StoredSigningKey;
  return (
    typeof key === 'object' &&
    key !== null &&
    typeof key.kid === 'string' &&
    typeof key.createdAt === 'number' &&
    (key.retiredAt === null || typeof key.retiredAt === 'number') &&
    typeof key.jwk === 'object' &&
    key.jwk !== null
  );
};

/** The cluster's set, in the store's meta record: every node reads and changes the same one. */
function storeShelf(store: Store): KeyShelf {
  return {
    read: async () => (await store.getMeta()).signingKeys ?? [],
    update: (change) =>
      store.transaction(async (tx) => {
        const keys = (await tx.getMeta()).signingKeys ?? [];
        const next = await change(keys);
        if (next) await tx.setMeta({ signingKeys: next });
        return next ?? keys;
      }),
  };
}
