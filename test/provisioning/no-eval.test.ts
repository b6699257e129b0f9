/**
 * The web console runs the provisioning codecs and security sessions under a Content-Security-Policy
 * without 'unsafe-eval'. This bundles a probe the way the console is bundled (WebCrypto as the
 * default crypto provider, no node:crypto) and runs it in a Node that forbids code generation from
 * strings, the same rule: protobufjs's generated encoders (new Function) fail there, the
 * schema-walking codec does not.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleBuildOptions } from '../../console/build.mjs';

const run = promisify(execFile);

describe('provisioning code with code generation from strings forbidden (the console CSP)', () => {
  let dir: string;
  let bundle: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tether-no-eval-'));
    bundle = join(dir, 'probe.js');
    await build({
      ...consoleBuildOptions(),
      entryPoints: [join(import.meta.dirname, 'no-eval-probe.ts')],
      outfile: bundle,
      minify: false,
      sourcemap: false,
      metafile: false,
      legalComments: 'none',
    });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('pulls no Node built-in into the browser bundle', async () => {
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(bundle, 'utf8')).not.toMatch(/from\s*["']node:|require\(["'](node:)?crypto/);
  });

  it('encodes and decodes protocomm messages to the esp-idf bytes, and runs security 1 and 2 on WebCrypto', async () => {
    const { stdout } = await run(process.execPath, ['--disallow-code-generation-from-strings', bundle]);
    const results = JSON.parse(stdout) as Record<string, unknown>;
    expect(results.crypto).toBe('WebCrypto (BigInt modexp)');
    expect(results.security1).toBe('esp32-a1b2c3');
    expect(results.security2).toBe('esp32-a1b2c3');
    expect(results.sec2cmd1).toBe('100262080802b201030a0109');
    expect(results.sec2resp0).toEqual({
      secVer: 2,
      kind: 'resp0',
      status: 0,
      devicePubkey: '0506',
      deviceSalt: '0708',
    });
    expect(results.setConfig).toBe('080262150a04686f6d65120d636f727265637420686f727365');
    expect(results.status).toEqual({
      kind: 'get-status',
      status: 0,
      wifi: { state: 'failed', reason: 'auth-error' },
    });
  });
});
