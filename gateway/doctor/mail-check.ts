/**
 * Mail: with an SMTP URL, the server must answer and take the login (nodemailer's verify: connect,
 * STARTTLS where offered, AUTH); without one, messages go to the outbox folder as .eml files.
 * The URL holds a password: only its host and port are ever printed.
 */
import { join } from 'node:path';
import type { TetherConfig } from '../../shared/config.js';
import type { CheckResult, DoctorEnv } from './doctor.js';
import { fail, ok } from './doctor.js';

export async function checkMail(config: TetherConfig, dataDir: string, env: DoctorEnv): Promise<CheckResult> {
  const { smtpUrl, outboxDir } = config.mail;
  if (!smtpUrl) {
    return ok(
      'mail',
      `no SMTP server set: invitations and password resets are written to ${outboxDir || join(dataDir, 'outbox')} as .eml files (set TETHER_MAIL_SMTP_URL to send them)`,
    );
  }
  let server: string;
  try {
    const url = new URL(smtpUrl);
    server = `${url.protocol}//${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)}`;
  } catch {
    return fail('mail', 'CONFIG_INVALID', 'mail.smtpUrl is not a URL: smtp(s)://user:password@host:port');
  }
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    url: smtpUrl,
    connectionTimeout: env.timeoutMs,
    greetingTimeout: env.timeoutMs,
    socketTimeout: env.timeoutMs,
  } as Parameters<typeof createTransport>[0]);
  try {
    await transport.verify();
    return ok('mail', `${server} answers and accepts the login`);
  } catch (error) {
    // nodemailer's message names the cause: "connect ECONNREFUSED …", "Invalid login: 535 …".
    const why = (error as Error).message;
    return fail(
      'mail',
      'GATEWAY_UNREACHABLE',
      `${server}: ${redact(why, smtpUrl)}. Check the host, port and login in mail.smtpUrl (TETHER_MAIL_SMTP_URL).`,
    );
  } finally {
    transport.close();
  }
}

/** A server's answer may echo what it was sent: never the URL's password. */
function redact(text: string, smtpUrl: string): string {
  const { password } = new URL(smtpUrl);
  return password ? text.split(decodeURIComponent(password)).join('***') : text;
}
