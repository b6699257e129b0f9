/**
 * A self-signed certificate made at test time with the openssl CLI, for 127.0.0.1 and localhost.
 * CI installs openssl (.ci/run); a test that needs it fails there when it is missing, and is
 * skipped with a warning elsewhere.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const hasBinary = (name: string): boolean =>
  spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;

/** true: run the test; false: skip it (never under CI=true, where a missing tool is a failure). */
export function toolAvailable(name: string, debianPackage: string): boolean {
  if (hasBinary(name)) return true;
  if (process.env.CI === 'true') throw new Error(`${name} is missing: CI must install ${debianPackage}.`);
  console.warn(`${name} not found: install the Debian package ${debianPackage}; its tests are skipped.`);
  return false;
}

export interface TestCertificate {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: Buffer;
  remove(): Promise<void>;
}

/** A P-256 certificate and its key in a temp folder of their own, valid for `days` (default 1). */
export async function makeSelfSignedCert(
  commonName = 'localhost',
  { days = 1 }: { days?: number } = {},
): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'tether-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  // P-256 keeps key generation instant.
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    String(days),
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return {
    dir,
    certFile,
    keyFile,
    cert: await readFile(certFile),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
