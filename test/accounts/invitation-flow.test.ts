import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../shared/ids.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { PASSWORD, readOutbox, tokenFromOutbox } from './account-support.js';

describe('invitations', () => {
  let gw: TestGateway;
  let admin: string;

  beforeEach(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
  });

  afterEach(async () => {
    await gw.stop();
  });

  it('invite → mail in the outbox → accept → login; the link works once', async () => {
    const invited = await gw.api<{ id: string; userId: string; tokenHash?: string }>(
      'POST',
      '/api/invitations',
      { email: 'Ann@Example.com', roleId: 'user', name: 'Ann' },
      admin,
    );
    expect(invited.status).toBe(201);
    expect(invited.body).not.toHaveProperty('tokenHash');
    const pending = await gw.api<{ status: string }>(
      'GET',
      `/api/users/${invited.body.userId}`,
      undefined,
      admin,
    );
    expect(pending.body.status).toBe('pending');

    const [message] = await readOutbox(gw.dataDir);
    expect(message?.to).toContain('ann@example.com');
    expect(message?.subject).toContain('invited');
    const token = await tokenFromOutbox(gw.dataDir, 'ann@example.com', 'invitation');
    // Only the hash is stored.
    await gw.gateway.services.store.flush();
    const db = await readFile(join(gw.dataDir, 'tether.json'), 'utf8');
    expect(db).toContain(sha256Hex(token));
    expect(db).not.toContain(token);

    const accepted = await gw.api<{ user: { status: string } }>('POST', '/api/invitations/accept', {
      token,
      password: PASSWORD,
    });
    expect(accepted.status).toBe(201);
    expect(accepted.body.user.status).toBe('active');
    const session = await gw.login('ann@example.com', PASSWORD);
    const me = await gw.api<{ permissions: string[] }>('GET', '/api/me', undefined, session);
    expect(me.body.permissions).toContain('devices.provision');
    expect(me.body.permissions).not.toContain('users.invite');

    const again = await gw.api<{ error: { code: string } }>('POST', '/api/invitations/accept', {
      token,
      password: PASSWORD,
    });
    expect(again.status).toBe(410);
    expect(again.body.error.code).toBe('LINK_INVALID');
  });

  it('refuses an email that already has an account, as Blynk', async () => {
    const res = await gw.api<{ error: { code: string; message: string } }>(
      'POST',
      '/api/invitations',
      { email: ADMIN.email, roleId: 'user' },
      admin,
    );
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain('already in use');
  });

  it('an invitation expires after 30 days', async () => {
    const invited = await gw.api<{ id: string }>(
      'POST',
      '/api/invitations',
      { email: 'late@example.com', roleId: 'user' },
      admin,
    );
    const token = await tokenFromOutbox(gw.dataDir, 'late@example.com', 'invitation');
    await gw.gateway.services.store.invitations.update(invited.body.id, { expiresAt: Date.now() - 1 });
    const res = await gw.api<{ error: { code: string } }>('POST', '/api/invitations/accept', {
      token,
      password: PASSWORD,
    });
    expect(res.body.error.code).toBe('LINK_INVALID');
  });

  it('limits invitations per org per day', async () => {
    await gw.stop();
    gw = await startTestGateway({ accounts: { invitationsPerOrgPerDay: 2 } });
    admin = await gw.login();
    for (const n of [1, 2]) {
      const ok = await gw.api(
        'POST',
        '/api/invitations',
        { email: `p${n}@example.com`, roleId: 'user' },
        admin,
      );
      expect(ok.status).toBe(201);
    }
    const res = await gw.api<{ error: { code: string } }>(
      'POST',
      '/api/invitations',
      { email: 'p3@example.com', roleId: 'user' },
      admin,
    );
    expect(res.status).toBe(429);
    expect(res.body.error.code).toBe('RATE_LIMITED');
  });

  it('revoking an invitation removes the pending user and kills the link', async () => {
    const invited = await gw.api<{ id: string; userId: string }>(
      'POST',
      '/api/invitations',
      { email: 'rev@example.com', roleId: 'staff' },
      admin,
    );
    const token = await tokenFromOutbox(gw.dataDir, 'rev@example.com', 'invitation');
    expect((await gw.api('DELETE', `/api/invitations/${invited.body.id}`, undefined, admin)).status).toBe(
      204,
    );
    expect((await gw.api('GET', `/api/users/${invited.body.userId}`, undefined, admin)).status).toBe(404);
    const res = await gw.api<{ error: { code: string } }>('POST', '/api/invitations/accept', {
      token,
      password: PASSWORD,
    });
    expect(res.body.error.code).toBe('LINK_INVALID');
  });
});
