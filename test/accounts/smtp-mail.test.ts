/** Real mail: the gateway sends through nodemailer to a real SMTP server on loopback. */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { PASSWORD, parseEml, readOutbox, tokenOf } from './account-support.js';

describe('mail over SMTP', () => {
  let smtp: SMTPServer;
  let port: number;
  let gw: TestGateway | undefined;
  const received: Array<{ from: string; to: string[]; raw: string }> = [];

  beforeEach(async () => {
    received.length = 0;
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8').replace(/\r\n/g, '\n'),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    port = (smtp.server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  it('an invitation reaches the SMTP server, nothing goes to the outbox, and its link is accepted', async () => {
    gw = await startTestGateway({
      mail: { smtpUrl: `smtp://127.0.0.1:${port}`, from: 'Tether <gw@example.com>' },
    });
    const admin = await gw.login();
    const res = await gw.api(
      'POST',
      '/api/invitations',
      { email: 'smtp-user@example.com', roleId: 'user' },
      admin,
    );
    expect(res.status).toBe(201);
    expect(received).toHaveLength(1);
    expect(received[0]!.to).toEqual(['smtp-user@example.com']);
    expect(received[0]!.from).toBe('gw@example.com');
    const message = parseEml(received[0]!.raw);
    expect(message.subject).toContain('invited');
    expect(await readOutbox(gw.dataDir)).toEqual([]);
    const token = tokenOf(message.text, 'invitation');
    expect((await gw.api('POST', '/api/invitations/accept', { token, password: PASSWORD })).status).toBe(201);
    expect(await gw.login('smtp-user@example.com', PASSWORD)).toBeTruthy();
  });

  it('a mail server that cannot be reached is a clear error', async () => {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    smtp = new SMTPServer({ logger: false });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    gw = await startTestGateway({ mail: { smtpUrl: `smtp://127.0.0.1:${port}` } });
    const admin = await gw.login();
    const res = await gw.api<{ error: { code: string } }>(
      'POST',
      '/api/invitations',
      { email: 'lost@example.com', roleId: 'user' },
      admin,
    );
    expect(res.body.error.code).toBe('GATEWAY_UNREACHABLE');
    // Nothing half-done is left: the same invitation can be sent again once mail works.
    expect(await gw.gateway.services.store.users.byEmail('lost@example.com')).toBeUndefined();
  });
});
