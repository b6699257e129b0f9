/**
 * Helpers for the account tests: read the real messages the gateway wrote into its outbox, pull
 * the single-use token out of a link, and build an org tree with users of each built-in role.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { TestGateway } from '../support/gateway-harness.js';

export interface OutboxMessage {
  file: string;
  to: string;
  subject: string;
  text: string;
}

/** Decodes the body of an RFC 5322 message as nodemailer writes it (7bit or quoted-printable). */
export function parseEml(raw: string, file = ''): OutboxMessage {
  const split = raw.indexOf('\n\n');
  const head = raw.slice(0, split).replace(/\n[ \t]+/g, ' ');
  let body = raw.slice(split + 2);
  const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  if (/quoted-printable/i.test(header('Content-Transfer-Encoding'))) {
    body = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  return { file, to: header('To'), subject: header('Subject'), text: body };
}

export async function readOutbox(dataDir: string): Promise<OutboxMessage[]> {
  const dir = join(dataDir, 'outbox');
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.eml')).sort();
  } catch {
    return [];
  }
  return Promise.all(files.map(async (f) => parseEml(await readFile(join(dir, f), 'utf8'), f)));
}

/** The newest message to `to` whose link is of `kind`; its token. */
export async function tokenFromOutbox(dataDir: string, to: string, kind: string): Promise<string> {
  // Some messages are written just after the answer (forgot-password, sign-up): wait a little.
  // A plain loop, not expect.poll, so that beforeAll hooks may call this too.
  let messages: OutboxMessage[] = [];
  for (let waited = 0; waited <= 3000; waited += 25) {
    messages = (await readOutbox(dataDir)).filter(
      (m) => m.to.includes(to) && m.text.includes(`/${kind}#token=`),
    );
    if (messages.length > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  expect(messages.length, `a ${kind} message to ${to}`).toBeGreaterThan(0);
  return tokenOf(messages[messages.length - 1]!.text, kind);
}

export function tokenOf(text: string, kind: string): string {
  const match = new RegExp(`/${kind}#token=([A-Za-z0-9_-]+)`).exec(text);
  if (!match) throw new Error(`no ${kind} link in:\n${text}`);
  return match[1]!;
}

export const PASSWORD = 'a long enough password';

/** Invites `email` into `orgId` with `roleId`, accepts from the outbox, and logs in. */
export async function addUser(
  gw: TestGateway,
  adminToken: string,
  email: string,
  roleId: string,
  orgId?: string,
): Promise<{ id: string; token: string }> {
  const invited = await gw.api<{ userId: string }>(
    'POST',
    '/api/invitations',
    { email, roleId, ...(orgId ? { orgId } : {}) },
    adminToken,
  );
  expect(invited.status, JSON.stringify(invited.body)).toBe(201);
  const token = await tokenFromOutbox(gw.dataDir, email, 'invitation');
  const accepted = await gw.api('POST', '/api/invitations/accept', { token, password: PASSWORD });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
  return { id: invited.body.userId, token: await gw.login(email, PASSWORD) };
}

export async function createOrg(
  gw: TestGateway,
  token: string,
  name: string,
  parentId?: string,
): Promise<string> {
  const res = await gw.api<{ id: string }>(
    'POST',
    '/api/orgs',
    { name, ...(parentId ? { parentId } : {}) },
    token,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}
