/** The embedded mail default: one .eml file per message in <dataDir>/outbox, readable only by us, and the link in the log. */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { readOutbox, tokenOf } from './account-support.js';

describe('outbox mail', () => {
  let gw: TestGateway;
  afterEach(async () => {
    await gw.stop();
  });

  it('writes a 0600 .eml file in a 0700 outbox and logs the link, never the password', async () => {
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
    expect(entry).toMatchObject({ kind: 'invitation', to: 'logged@example.com' });
    expect(entry?.link).toContain(`/invitation#token=${token}`);
    expect(entry?.link?.startsWith(gw.baseUrl)).toBe(true);
    expect(lines.join('\n')).not.toContain('correct horse battery');
  });
});
