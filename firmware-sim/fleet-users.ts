/**
 * People for a fleet run, so ownership across users is exercised: invited through the gateway's
 * own HTTP API (POST /api/invitations as an admin), then accepted with the link token from the
 * invitation mail, exactly as a person would finish from the command line. The embedded mailer
 * writes each mail into the gateway's outbox folder, which the fleet reads: this works against a
 * gateway on the same machine (the developer's loop), not one that sends real mail.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TetherError } from '../shared/errors.js';
import { GatewayClient } from '../shared/gateway-client.js';
import type { FleetUser } from './fleet-runner.js';

export interface FleetAccount {
  email: string;
  password: string;
}

export interface InviteFleetUsersOptions {
  /** Logged in as someone who may invite (users.invite) into their org. */
  admin: GatewayClient;
  count: number;
  /** The gateway's mail outbox folder (<dataDir>/outbox by default). */
  outboxDir: string;
  /** Distinguishes this run's addresses from an earlier run's. */
  runId?: string;
  /** Built-in User: may provision, and see and control its own devices. */
  roleId?: string;
  timeoutMs?: number;
}

export async function inviteFleetUsers(options: InviteFleetUsersOptions): Promise<FleetAccount[]> {
  const runId = options.runId ?? randomBytes(3).toString('hex');
  const accounts: FleetAccount[] = [];
  for (let i = 0; i < options.count; i++) {
    const email = `fleet-${runId}-${i + 1}@example.com`;
    try {
      await options.admin.request('POST', '/api/invitations', {
        email,
        roleId: options.roleId ?? 'user',
        name: `Fleet user ${i + 1}`,
      });
    } catch (error) {
      if ((error as TetherError).code === 'NOT_FOUND' || (error as TetherError).code === 'INTERNAL') {
        throw new TetherError(
          'NOT_FOUND',
          'This gateway has no invitation API (POST /api/invitations): run the fleet as one user (--users 1).',
          { cause: error },
        );
      }
      throw error;
    }
    const token = await invitationToken(options.outboxDir, email, options.timeoutMs ?? 5_000);
    const password = `fleet-${randomBytes(12).toString('base64url')}`;
    await options.admin.request('POST', '/api/invitations/accept', { token, password }, { auth: false });
    accounts.push({ email, password });
  }
  return accounts;
}

/** Log each account in with its own client: each user's companion has its own session. */
export async function loginFleetUsers(
  baseUrl: string,
  accounts: readonly FleetAccount[],
): Promise<FleetUser[]> {
  const users: FleetUser[] = [];
  for (const account of accounts) {
    const gateway = new GatewayClient({ baseUrl });
    await gateway.login(account.email, account.password);
    users.push({ email: account.email, gateway });
  }
  return users;
}

/** The single-use token in the newest invitation mail to `email`. */
async function invitationToken(outboxDir: string, email: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const files = await readdir(outboxDir).catch(() => [] as string[]);
    for (const file of files
      .filter((f) => f.includes('invitation'))
      .sort()
      .reverse()) {
      const text = decodeQuotedPrintable(await readFile(join(outboxDir, file), 'utf8'));
      if (!text.toLowerCase().includes(email)) continue;
      const token = /--token\s+([A-Za-z0-9_-]+)/.exec(text)?.[1];
      if (token) return token;
    }
    if (Date.now() > deadline) {
      throw new TetherError(
        'NOT_FOUND',
        `No invitation mail to ${email} in ${outboxDir}. Point --outbox at the gateway's outbox folder.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function decodeQuotedPrintable(text: string): string {
  return text
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}
