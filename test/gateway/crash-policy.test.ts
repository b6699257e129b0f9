/**
 * The crash policy of a running gateway process (gateway/crash-policy.ts): an error that escapes
 * one request's handler is logged with a code and the gateway keeps serving; a broken invariant of
 * the process ends it non-zero with one line saying why.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('./fixtures/faulty-gateway.ts', import.meta.url));
// Inside the repository, so the bundle finds node_modules (dependencies stay external).
const bundle = resolve('dist/test/faulty-gateway.mjs');

interface Running {
  child: ChildProcessWithoutNullStreams;
  baseUrl: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

describe('crash policy of the gateway process', () => {
  let dataDir: string;
  let running: Running | undefined;

  beforeAll(async () => {
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: bundle,
      logLevel: 'silent',
    });
  });

  afterEach(async () => {
    if (running && running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
    running = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  afterAll(async () => {
    await rm(bundle, { force: true });
  });

  const start = async (): Promise<Running> => {
    dataDir = await mkdtemp(join(tmpdir(), 'tether-crash-'));
    // No admin is made: no password hashing, so a busy machine starts the gateway fast.
    const child = spawn(process.execPath, [bundle], {
      env: {
        PATH: process.env.PATH,
        TETHER_DATA_DIR: dataDir,
        TETHER_HTTP_HOST: '127.0.0.1',
        TETHER_HTTP_PORT: '0',
        TETHER_MQTT_HOST: '127.0.0.1',
        TETHER_MQTT_PORT: '0',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const baseUrl = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`gateway did not start:\n${out}\n${err}`)), 45_000);
      const check = () => {
        const match = out.match(/HTTP API\s+(http:\/\/\S+)/);
        if (match) {
          clearTimeout(timer);
          child.stdout.off('data', check);
          res(match[1]!);
        }
      };
      child.stdout.on('data', check);
      void exited.then((code) => rej(new Error(`gateway exited (${code}):\n${out}\n${err}`)));
    });
    running = { child, baseUrl, stdout: () => out, stderr: () => err, exited };
    return running;
  };

  const login = (baseUrl: string, email: string) =>
    fetch(`${baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'not the password' }),
    });

  const waitFor = async (what: () => boolean, label: string): Promise<void> => {
    for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 25));
    if (!what()) throw new Error(`timed out waiting for ${label}`);
  };

  it('logs an error that escapes one request with a code, and keeps serving everyone', async () => {
    const gw = await start();
    expect((await login(gw.baseUrl, 'escape@fault.test')).status).toBe(401);
    await waitFor(() => gw.stdout().includes('a rejection nobody handled'), 'the rejection to be logged');
    await waitFor(() => gw.stdout().includes('a handler bug that escaped'), 'the exception to be logged');

    const escaped = gw
      .stdout()
      .split('\n')
      .filter((line) => line.includes('"escaped"'))
      .map((line) => JSON.parse(line) as { code: string; escaped: string; level: number });
    expect(escaped.map((e) => e.escaped).sort()).toEqual(['uncaughtException', 'unhandledRejection']);
    expect(escaped.every((e) => e.code === 'INTERNAL' && e.level === 50)).toBe(true);

    // Still serving, and the process is alive.
    expect((await fetch(`${gw.baseUrl}/healthz`)).status).toBe(200);
    const refused = await fetch(`${gw.baseUrl}/api/devices`);
    expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([
      401,
      'AUTH_REQUIRED',
    ]);
    expect(gw.child.exitCode).toBeNull();
  }, 60_000);

  it('exits non-zero with one line saying why when an invariant of the process breaks', async () => {
    const gw = await start();
    await login(gw.baseUrl, 'fatal@fault.test').catch(() => undefined);
    const code = await gw.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(gw.stderr().trim().split('\n')).toEqual([
      'tether gateway: stopping: INVARIANT_BROKEN: The store can no longer write consistently.',
    ]);
  }, 60_000);
});
