/**
 * A real PostgreSQL for the store tests: Debian's server binaries, a new cluster made by initdb in
 * a temp folder, listening on a free loopback port, stopped (folder removed) afterwards. PostgreSQL
 * refuses to run as root, and CI runs as root: there the server runs as the `postgres` user (made
 * by Debian's package), spawned with its uid and gid (no wrapper in between, so a signal reaches
 * the server itself). Without the binaries the tests skip, except under CI=true,
 * where a missing server fails them (.ci/run installs it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServerProcess } from './server-process.js';

const run = promisify(execFile);

const PG_BIN = [
  '/usr/lib/postgresql/17/bin',
  '/usr/lib/postgresql/16/bin',
  '/usr/lib/postgresql/15/bin',
].find((dir) => existsSync(join(dir, 'postgres')));

/** Skip the PostgreSQL tests only off CI: under CI=true a missing server is a failure. */
export const SKIP_POSTGRES = PG_BIN === undefined && process.env.CI !== 'true';

export interface TestPostgres {
  /** postgres://… of the server's `postgres` database. */
  url: string;
  /** The server's process id (the postmaster; its backends are its children). */
  pid: number;
  /** A new, empty database on the server; its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (SIGKILL when `hard`, as a crash would) and removes its folder. */
  stop(options?: { hard?: boolean }): Promise<void>;
}

/** As root, the postgres user runs the server; otherwise this process's user does. */
async function runAs(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout } = await run('id', ['-u', 'postgres']).catch(() => {
    throw new Error('PostgreSQL refuses root and there is no postgres user: apt-get install postgresql.');
  });
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(gid.trim()) };
}

export async function startPostgres(): Promise<TestPostgres> {
  if (!PG_BIN) throw new Error('No PostgreSQL server: apt-get install postgresql (CI installs it).');
  const user = await runAs();
  const dir = await mkdtemp(join(tmpdir(), 'tether-pg-'));
  if (user) await chown(dir, user.uid, user.gid);
  await chmod(dir, 0o700);
  const data = join(dir, 'data');
  const as = user ? { uid: user.uid, gid: user.gid, cwd: dir } : {};
  await run(
    join(PG_BIN, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
    as,
  );
  const server = await startServerProcess({
    name: 'postgres',
    binary: join(PG_BIN, 'postgres'),
    args: (port) => [
      '-D',
      data,
      '-p',
      String(port),
      '-h',
      '127.0.0.1',
      '-k',
      dir,
      // A test server: nothing it holds must survive a power cut.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    readyText: 'ready to accept connections',
    readyTimeoutMs: 30_000,
    dir,
    // SIGINT: PostgreSQL's fast shutdown (ends the sessions, no waiting for clients).
    stopSignal: 'SIGINT',
    spawnOptions: as,
  });
  const { port } = server;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    pid: server.child.pid ?? 0,
    createDatabase: async (name) => {
      if (!/^[a-z_][a-z0-9_]{0,40}$/.test(name)) throw new Error(`bad database name ${name}`);
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop: server.stop,
  };
}
