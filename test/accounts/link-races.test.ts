/**
 * Requests that race for one thing: the same single-use link used twice at once, or the last place
 * a plan allows taken by several requests at once. Each check commits with the write it guards, so
 * exactly one request wins. The embedded store's races come from the password hash awaited between
 * the check and the write; PostgreSQL's from every query being a round trip.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { SKIP_POSTGRES, startPostgres, type TestPostgres } from '../support/postgres-server.js';
import { addUser, PASSWORD, tokenFromOutbox } from './account-support.js';

const OTHER_PASSWORD = 'another long passphrase 42';

interface Err {
  error: { code: string; details?: Record<string, unknown> };
}

describe('single-use links used twice at once', () => {
  let gw: TestGateway | undefined;

  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('an invitation accepted twice at once sets one password; the other use is refused', async () => {
    gw = await startTestGateway();
    const admin = await gw.login();
    const invited = await gw.api(
      'POST',
      '/api/invitations',
      { email: 'ann@example.com', roleId: 'user' },
      admin,
    );
    expect(invited.status).toBe(201);
    const token = await tokenFromOutbox(gw.dataDir, 'ann@example.com', 'invitation');

    const passwords = [PASSWORD, OTHER_PASSWORD];
    const answers = await Promise.all(
      passwords.map((password) => gw!.api<Err>('POST', '/api/invitations/accept', { token, password })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 410]);
    expect(answers.find((a) => a.status === 410)?.body.error.code).toBe('LINK_INVALID');

    // The password that won is the one that logs in; the refused one does not.
    const won = passwords[answers.findIndex((a) => a.status === 201)]!;
    const lost = passwords[answers.findIndex((a) => a.status === 410)]!;
    expect(await gw.login('ann@example.com', won)).toMatch(/^ey/);
    const refused = await gw.api('POST', '/api/auth/login', { email: 'ann@example.com', password: lost });
    expect(refused.status).toBe(401);
  });

  it('a verification link used twice at once makes one account and one client org', async () => {
    gw = await startTestGateway();
    const admin = await gw.login();
    const rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    await gw.api('PATCH', `/api/orgs/${rootId}`, { registration: { enabled: true, ownOrg: true } }, admin);
    expect(
      (await gw.api('POST', '/api/registrations', { orgId: rootId, email: 'bo@example.com' })).status,
    ).toBe(202);
    const token = await tokenFromOutbox(gw.dataDir, 'bo@example.com', 'verify-email');

    const answers = await Promise.all(
      [PASSWORD, OTHER_PASSWORD].map((password) =>
        gw!.api<Err>('POST', '/api/registrations/verify', { token, password }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 410]);
    const { store } = gw.gateway.services;
    expect((await store.users.find({ email: 'bo@example.com' })).length).toBe(1);
    // The loser left nothing behind: one Clients org and one client org of the winner's.
    expect(await store.orgs.count({ kind: 'clients' })).toBe(1);
    expect(await store.orgs.count({ kind: 'client' })).toBe(1);
  });

  it('an invitation revoked while it is accepted ends either accepted or revoked, never both', async () => {
    gw = await startTestGateway();
    const admin = await gw.login();
    const invited = await gw.api<{ id: string; userId: string }>(
      'POST',
      '/api/invitations',
      { email: 'cy@example.com', roleId: 'user' },
      admin,
    );
    const token = await tokenFromOutbox(gw.dataDir, 'cy@example.com', 'invitation');
    const [accepted, revoked] = await Promise.all([
      gw.api('POST', '/api/invitations/accept', { token, password: PASSWORD }),
      gw.api('DELETE', `/api/invitations/${invited.body.id}`, undefined, admin),
    ]);
    const { store } = gw.gateway.services;
    const invitation = await store.invitations.get(invited.body.id);
    const user = await store.users.get(invited.body.userId);
    if (accepted.status === 201) {
      expect(invitation?.status).toBe('accepted');
      expect(user?.status).toBe('active');
      expect(revoked.status).toBe(400);
    } else {
      expect(accepted.status).toBe(410);
      expect(revoked.status).toBe(204);
      expect(invitation?.status).toBe('revoked');
      expect(user).toBeUndefined();
    }
  });
});

describe.skipIf(SKIP_POSTGRES)('the last place on a plan, on PostgreSQL', () => {
  let server: TestPostgres;
  let databases = 0;

  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('eight invitations at once for the one user place left: one is sent, seven get PLAN_LIMIT', async () => {
    const url = await server.createDatabase(`races_${++databases}`);
    const gw = await startTestGateway({
      store: { backend: 'postgres', url },
      admin: { plan: 'pro' },
      plans: { pro: { users: 2 } } as never,
    });
    try {
      const admin = await gw.login();
      const answers = await Promise.all(
        [1, 2, 3, 4, 5, 6, 7, 8].map((n) =>
          gw.api<Err>('POST', '/api/invitations', { email: `p${n}@example.com`, roleId: 'user' }, admin),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([201, 403, 403, 403, 403, 403, 403, 403]);
      for (const refused of answers.filter((a) => a.status === 403)) {
        expect(refused.body.error).toMatchObject({ code: 'PLAN_LIMIT', details: { limit: 'users', max: 2 } });
      }
      expect(await gw.gateway.services.store.users.count()).toBe(2);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it('a refresh token used twice at once rotates once; the replay ends the session', async () => {
    const url = await server.createDatabase(`races_${++databases}`);
    const gw = await startTestGateway({ store: { backend: 'postgres', url } });
    try {
      const login = await gw.api<{ refreshToken: string }>('POST', '/api/auth/login', ADMIN);
      expect(login.status).toBe(200);
      const answers = await Promise.all(
        [1, 2, 3, 4].map(() =>
          gw.api<{ refreshToken: string }>('POST', '/api/auth/refresh', {
            refreshToken: login.body.refreshToken,
          }),
        ),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 401, 401, 401]);
      // The token was presented again after its rotation: the session it belonged to is over.
      const issued = answers.find((a) => a.status === 200)!.body.refreshToken;
      expect((await gw.api('POST', '/api/auth/refresh', { refreshToken: issued })).status).toBe(401);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it('a password-reset link used twice at once sets one password', async () => {
    const url = await server.createDatabase(`races_${++databases}`);
    const gw = await startTestGateway({ store: { backend: 'postgres', url } });
    try {
      const admin = await gw.login();
      await addUser(gw, admin, 'dee@example.com', 'user');
      expect((await gw.api('POST', '/api/auth/forgot-password', { email: 'dee@example.com' })).status).toBe(
        202,
      );
      const token = await tokenFromOutbox(gw.dataDir, 'dee@example.com', 'reset-password');
      const passwords = [OTHER_PASSWORD, `${OTHER_PASSWORD} again`, `${OTHER_PASSWORD} once more`];
      const answers = await Promise.all(
        passwords.map((password) => gw.api('POST', '/api/auth/reset-password', { token, password })),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([204, 410, 410]);
      const won = passwords[answers.findIndex((a) => a.status === 204)]!;
      expect(await gw.login('dee@example.com', won)).toMatch(/^ey/);
      for (const lost of passwords.filter((p) => p !== won)) {
        const refused = await gw.api('POST', '/api/auth/login', { email: 'dee@example.com', password: lost });
        expect(refused.status).toBe(401);
      }
    } finally {
      await gw.stop();
    }
  }, 60_000);
});
