/**
 * TLS files: each certificate and key pair in the settings must be readable, parse, belong
 * together, and be valid now. A mismatch otherwise shows up only as a failed handshake on a device.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TetherConfig } from '../../shared/config.js';
import type { CheckResult, DoctorEnv } from './doctor.js';
import { fail, ok, warn } from './doctor.js';

const DAY = 86_400_000;
/** A certificate that ends sooner than this is worth a warning: renew before devices refuse it. */
const RENEW_WITHIN = 14 * DAY;

/** Every listener section that takes a certificate (`tlsCertFile` and `tlsKeyFile`). */
function tlsPairs(config: TetherConfig): Array<{ section: string; cert: string; key: string }> {
  const pairs = [];
  for (const section of ['http', 'mqtt'] as const) {
    const settings = config[section] as { tlsCertFile?: unknown; tlsKeyFile?: unknown };
    const cert = typeof settings.tlsCertFile === 'string' ? settings.tlsCertFile : '';
    const key = typeof settings.tlsKeyFile === 'string' ? settings.tlsKeyFile : '';
    if (cert || key) pairs.push({ section, cert, key });
  }
  return pairs;
}

export async function checkTls(config: TetherConfig, env: DoctorEnv): Promise<CheckResult[]> {
  const pairs = tlsPairs(config);
  if (pairs.length === 0) return [ok('tls', 'no TLS files set (plain HTTP and MQTT)')];
  return Promise.all(pairs.map((pair) => checkPair(pair, env.now())));
}

async function checkPair(
  { section, cert, key }: { section: string; cert: string; key: string },
  now: number,
): Promise<CheckResult> {
  const check = `tls ${section}`;
  if (!cert || !key) {
    return fail(
      check,
      'CONFIG_INVALID',
      `${section}.${cert ? 'tlsKeyFile' : 'tlsCertFile'} is not set: a certificate needs its key, and a key its certificate.`,
    );
  }
  let certificate: X509Certificate;
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    certificate = new X509Certificate(await readFile(cert));
  } catch (error) {
    return fail(check, 'CONFIG_INVALID', `${cert}: ${readProblem(error, 'a PEM certificate')}`);
  }
  try {
    privateKey = createPrivateKey(await readFile(key));
  } catch (error) {
    return fail(
      check,
      'CONFIG_INVALID',
      `${key}: ${readProblem(error, 'a PEM private key (without a passphrase)')}`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    return fail(
      check,
      'CONFIG_INVALID',
      `${key} is not the key of ${cert} (${certificate.subject.replace(/\n/g, ', ')}): set the key the certificate was made for.`,
    );
  }
  const from = Date.parse(certificate.validFrom);
  const to = Date.parse(certificate.validTo);
  const subject = certificate.subject.replace(/\n/g, ', ');
  if (now < from) {
    return fail(
      check,
      'CONFIG_INVALID',
      `${cert} is valid only from ${new Date(from).toISOString()}: devices refuse it until then (or the clock is wrong).`,
    );
  }
  if (now > to) {
    return fail(check, 'CONFIG_INVALID', `${cert} expired on ${new Date(to).toISOString()}: renew it.`);
  }
  if (to - now < RENEW_WITHIN) {
    return warn(check, `${cert} (${subject}) expires on ${new Date(to).toISOString()}: renew it soon.`);
  }
  return ok(check, `${cert} (${subject}) matches its key, valid until ${new Date(to).toISOString()}`);
}

function readProblem(error: unknown, what: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'there is no such file';
  if (code === 'EACCES') return 'this user may not read it';
  return `not ${what} (${(error as Error).message})`;
}
