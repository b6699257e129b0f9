/**
 * The embedded mail default: one .eml file per message in <dataDir>/outbox, readable only by us.
 * The log says a message was written and where, never its link: a reset link in a log is the account.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { readOutbox, tokenFromOutbox, tokenOf } from './account-support.js';

describe('outbox mail', () => {
  let gw: TestGateway;
  afterEach(async () => {
    await gw.stop();
  });

  it('writes a 0600 .eml file in a 0700 outbox; the log names the file, never the link or a password', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    gw = await startTestGateway({}, { logger: pino({ level: 'info' }, sink) });
    const admin = await gw.login();
    await gw.api('POST', '/api/invitations', { email: 'logged@example.com', roleId: 'user' }, admin);
    const [message] = await readOutbox(gw.dataDir);
    expect(message).toBeDefined();
    const file = join(gw.dataDir, 'outbox', message!.file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(gw.dataDir, 'outbox'))).mode & 0o777).toBe(0o700);
    const token = tokenOf(message!.text, 'invitation');
    const logged = lines.map(
      (l) => JSON.parse(l) as { msg: string; link?: string; kind?: string; to?: string },
    );
    const entry = logged.find((l) => l.msg === 'mail written to the outbox');
    expect(entry).toMatchObject({ kind: 'invitation', to: 'logged@example.com', file });
    expect(message!.text).toContain(`${gw.baseUrl}/invitation#token=${token}`);

    // The same for a password reset, whose link is the account itself.
    await gw.api('POST', '/api/auth/forgot-password', { email: 'admin@example.com' });
    await tokenFromOutbox(gw.dataDir, 'admin@example.com', 'reset-password');
    await expect.poll(() => lines.filter((l) => l.includes('mail written to the outbox')).length).toBe(2);
    const log = lines.join('\n');
    expect(log).not.toContain(token);
    expect(log).not.toMatch(/#token=/);
    expect(log).not.toContain('correct horse battery');
  });
});
