/**
 * Outgoing mail through nodemailer. With an SMTP URL in the config it sends real mail; without
 * one (the embedded default) it writes each message as an .eml file into the outbox folder, so a
 * single machine needs no mail server. Links carry single-use secrets (a reset link is the
 * account): they go only into the message, whose file is mode 0600 in a 0700 folder. The log says
 * that a message was written, and where; never the link. A gateway that lives in memory keeps no
 * message at all.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Transporter } from 'nodemailer';
import type { Clock } from '../../shared/clock.js';
import type { TetherConfig } from '../../shared/config.js';
import { TetherError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Part } from '../part.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** A short name for logs and file names: invitation, verify-email, reset-password, password-set. */
  kind: string;
}

/** A gateway part: start() has nothing to open; stop() closes pooled SMTP connections. */
export interface Mailer extends Part {
  send(message: MailMessage): Promise<void>;
}

export interface MailerOptions {
  config: TetherConfig['mail'];
  /** The outbox folder; undefined for a gateway that lives in memory. */
  outboxDir: string | undefined;
  clock: Clock;
  logger: Logger;
}

/** nodemailer is loaded with the first message (≈ 15 MB a gateway that mails nobody need not hold). */
const createTransport = async (
  ...args: Parameters<typeof import('nodemailer').createTransport>
): Promise<Transporter> => (await import('nodemailer')).createTransport(...args);

export function createMailer(options: MailerOptions): Mailer {
  return options.config.smtpUrl ? new SmtpMailer(options) : new OutboxMailer(options);
}

class OutboxMailer implements Mailer {
  // Builds the RFC 5322 message (headers, encoding) without sending it anywhere.
  #transport: Promise<Transporter> | undefined;

  constructor(private readonly options: MailerOptions) {}

  async send(message: MailMessage): Promise<void> {
    const { outboxDir, logger, clock, config } = this.options;
    this.#transport ??= createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    const info = await (await this.#transport).sendMail({
      from: config.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
    });
    if (!outboxDir) {
      logger.info({ to: message.to, kind: message.kind }, 'mail dropped: this gateway keeps nothing on disk');
      return;
    }
    const stamp = new Date(clock.now()).toISOString().replace(/[:.]/g, '-');
    const file = join(outboxDir, `${stamp}-${message.kind}-${randomBytes(4).toString('hex')}.eml`);
    try {
      await mkdir(outboxDir, { recursive: true, mode: 0o700 });
      await writeFile(file, info.message as Buffer, { mode: 0o600 });
    } catch (error) {
      throw new TetherError('INTERNAL', `Could not write the message to the outbox ${outboxDir}.`, {
        cause: error,
      });
    }
    logger.info({ to: message.to, kind: message.kind, file }, 'mail written to the outbox');
  }

  readonly name = 'mail';
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

class SmtpMailer implements Mailer {
  #transport: Transporter | undefined;

  constructor(private readonly options: MailerOptions) {}

  async send(message: MailMessage): Promise<void> {
    const { config, logger } = this.options;
    try {
      if (!this.#transport) throw new Error('the mailer is not started');
      const info = await this.#transport.sendMail({
        from: config.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
      // The link holds a secret and the mail server has it: the log gets only the envelope.
      logger.info({ to: message.to, kind: message.kind, messageId: info.messageId }, 'mail sent');
    } catch (error) {
      throw new TetherError('GATEWAY_UNREACHABLE', 'The mail server refused or could not be reached.', {
        cause: error,
      });
    }
  }

  readonly name = 'mail';
  // Opens nothing: nodemailer connects per message.
  async start(): Promise<void> {
    this.#transport ??= await createTransport(this.options.config.smtpUrl);
  }
  async stop(): Promise<void> {
    this.#transport?.close();
  }
}
