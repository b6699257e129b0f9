/**
 * The account commands of `tether` against a real gateway: orgs, users, invitations, roles and
 * permissions, shares, a person's own account, sign-up. Most run in this process (runCliHere: the
 * same command code and HTTP, without a process start per command); a few run as a separate
 * process, as a person would, where the process itself matters (exit codes, no terminal).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { runCli, runCliHere } from '../support/run-cli.js';
import { PASSWORD, readOutbox, tokenFromOutbox } from './account-support.js';

describe('tether account commands', () => {
  let gw: TestGateway;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const cli = (...args: string[]) => runCliHere(args, env);
  const ok = async (...args: string[]) => {
    const res = await cli(...args);
    expect(res.code, `${args.join(' ')}\n${res.stderr}${res.stdout}`).toBe(0);
    return res.stdout;
  };
  const json = async <T>(...args: string[]): Promise<T> => JSON.parse(await ok(...args, '--json')) as T;
  /** The one error line a refused command prints. */
  const refused = async (...args: string[]) => {
    const res = await cli(...args);
    expect(res.code, `${args.join(' ')} should fail`).not.toBe(0);
    return { code: res.code, line: res.stderr.trim() };
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    home = await mkdtemp(join(tmpdir(), 'tether-cli-'));
    env = { TETHER_HOME: home, TETHER_GATEWAY_URL: gw.baseUrl, TETHER_PASSWORD: '' };
    await ok('login', '-e', ADMIN.email, '-p', ADMIN.password);
    // The first call loads the whole command line into this process: slow on a busy machine.
  }, 120_000);

  afterAll(async () => {
    await gw.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('says how to log in when there is no session, instead of failing to reach a gateway', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'tether-cli-none-'));
    try {
      const res = await runCliHere(['org', 'list'], {
        TETHER_HOME: elsewhere,
        TETHER_GATEWAY_URL: gw.baseUrl,
      });
      expect(res.code).toBe(3);
      expect(res.stderr.trim()).toBe(
        `error AUTH_REQUIRED: You are not logged in to ${gw.baseUrl}. Log in first: tether login --email <your email> --gateway ${gw.baseUrl}`,
      );
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('validation messages name the option and what is allowed', async () => {
    const me = await json<{ org: { id: string } }>('account', 'show');
    expect(await refused('org', 'update', me.org.id as string, '--plan', 'gold')).toEqual({
      code: 2,
      line: 'error VALIDATION_FAILED: --plan must be one of free, pro, enterprise (got "gold").',
    });
    // A field the gateway refuses is named as the option that carried it.
    expect((await refused('org', 'create', '-n', ' ')).line).toBe(
      'error VALIDATION_FAILED: --name must be printable text with at least one visible character and no control characters (got " ").',
    );
    expect((await refused('user', 'move', 'nobody@example.com', '--org', 'Nowhere')).line).toBe(
      'error NOT_FOUND: <user> "nobody@example.com": no person you can see has that email or name.',
    );
    expect((await refused('user', 'invite', 'x@example.com', '--type', 'boss')).line).toBe(
      'error VALIDATION_FAILED: --type must be one of developer, client, partner (got "boss").',
    );
  });

  it('orgs, invitations and people by name and email; moves say what happens to devices', {
    timeout: 60_000,
  }, async () => {
    await ok('org', 'create', '-n', 'Field team');
    const orgs = await ok('org', 'list');
    expect(orgs).toMatch(/Field team/);

    // --org takes a name; the invitation list shows addresses and names, not bare ids.
    await ok('user', 'invite', 'tech@example.com', '-r', 'staff', '-o', 'Field team', '-n', 'Tess Tech');
    const invitations = await ok('invitation', 'list', '--org', 'field team');
    expect(invitations).toMatch(/tech@example\.com\s+Field team\s+staff\s+developer\s+pending/);
    expect(invitations).toContain('you <admin@example.com>');
    const [invitation] = await json<Array<{ id: string }>>('invitation', 'list');
    const first = await tokenFromOutbox(gw.dataDir, 'tech@example.com', 'invitation');
    expect(await ok('invitation', 'resend', invitation!.id)).toContain('Sent again to tech@example.com');
    await expect.poll(() => tokenFromOutbox(gw.dataDir, 'tech@example.com', 'invitation')).not.toBe(first);
    const token = await tokenFromOutbox(gw.dataDir, 'tech@example.com', 'invitation');
    // The mail's command carries this gateway's address, since it is not the default.
    const mail = (await readOutbox(gw.dataDir)).filter((m) => m.to.includes('tech@')).pop()!;
    expect(mail.text).toContain(`tether user accept --token ${token} --gateway ${gw.baseUrl}`);
    await ok('user', 'accept', '--token', token, '-p', PASSWORD);

    const users = await ok('user', 'list', '-o', 'Field team');
    expect(users).toMatch(/Tess Tech\s+tech@example\.com\s+staff\s+developer\s+active\s+Field team/);

    // A move names what happens to the person's devices.
    const tess = await gw.login('tech@example.com', PASSWORD);
    const template = await gw.api<{ id: string }>(
      'POST',
      '/api/templates',
      { name: 'Lamp' },
      await gw.login(),
    );
    await gw.api('POST', '/api/provisioning/sessions', { templateId: template.body.id }, tess);
    await ok('org', 'create', '-n', 'Depot');
    expect((await refused('user', 'move', 'tech@example.com', '--org', 'Depot')).line).toBe(
      'error VALIDATION_FAILED: tech@example.com owns 1 device(s): say whether they move with them (--devices move) or stay in their organization without an owner (--devices leave).',
    );
    expect(await ok('user', 'move', 'Tess Tech', '--org', 'Depot', '-r', 'staff', '--devices', 'move')).toBe(
      'Moved tech@example.com to Depot as staff; 1 device(s) moved with them.\n',
    );
    const devices = await ok('device', 'list', '--owner', 'tech@example.com');
    expect(devices).toContain('Tess Tech <tech@example.com>');

    // Force logout, then delete: destructive, so asked for (here: no terminal, so --yes).
    expect(await ok('user', 'logout', 'tech@example.com')).toBe(
      'Ended every session of Tess Tech <tech@example.com>.\n',
    );
    expect((await gw.api('GET', '/api/me', undefined, tess)).status).toBe(401);
    expect((await refused('user', 'delete', 'tech@example.com')).line).toBe(
      'error VALIDATION_FAILED: Delete Tess Tech <tech@example.com>? Their sessions end, and the 1 device(s) they own stay in their organization without an owner. Nothing was done: confirm with --yes (there is no terminal to ask on).',
    );
    expect(await ok('user', 'delete', 'tech@example.com', '--yes')).toContain(
      '1 device(s) now have no owner',
    );

    // An org with things in it: --force asks first, naming what would go.
    expect((await refused('org', 'delete', 'Depot')).line).toContain(
      'or delete it with --force (everything in it goes)',
    );
    const forced = await refused('org', 'delete', 'Depot', '--force');
    expect(forced.line).toBe(
      'error VALIDATION_FAILED: Delete Depot and everything in and below it: 0 sub-org(s), 0 user(s) (their sessions end), 1 device(s) (their tokens stop working) and 0 template(s)? Nothing was done: confirm with --yes (there is no terminal to ask on).',
    );
    expect(await ok('org', 'delete', 'Depot', '--force', '--yes')).toContain('Deleted Depot');
    await ok('org', 'delete', 'Field team');
  });

  it('roles and the permission catalogue show what each plan locks', async () => {
    const catalogue = await ok('role', 'permissions');
    expect(catalogue).toMatch(/roles\.edit\s+Admin\s+developer, client, partner\s+free, pro/);
    expect(catalogue).toMatch(/templates\.edit\s+Admin\s+developer\s+free/);
    const me = await json<{ org: { name: string } }>('account', 'show');
    const roles = await ok('role', 'list', '-o', me.org.name);
    expect(roles).toContain('The enterprise plan locks no permission.');
    const custom = await json<{ key: string }>(
      'role',
      'create',
      '-o',
      me.org.name,
      '-n',
      'Installer',
      '-p',
      'org.view',
    );
    await ok('user', 'invite', 'installer@example.com', '-r', custom.key);
    expect((await refused('role', 'delete', custom.key, '-o', me.org.name)).line).toBe(
      'error VALIDATION_FAILED: 1 user(s) hold this role: name the role they move to (--move-to <role>).',
    );
    expect(await ok('role', 'delete', custom.key, '-o', me.org.name, '--sub-orgs', '--move-to', 'user')).toBe(
      `Deleted role ${custom.key} in 1 organization(s); 1 user(s) moved to user.\n`,
    );
  });

  it('shares: add by email, list by address, remove by address', async () => {
    const template = await gw.api<{ id: string }>(
      'POST',
      '/api/templates',
      { name: 'Plug' },
      await gw.login(),
    );
    const session = await gw.api<{ deviceId: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId: template.body.id },
      await gw.login(),
    );
    const device = session.body.deviceId;
    expect(await ok('share', 'add', device, '-e', 'Friend@Example.com', '-l', 'control')).toMatch(
      new RegExp(`^Shared ${device} with friend@example\\.com \\(control; share grt_`),
    );
    expect(await ok('share', 'list', device)).toMatch(
      /friend@example\.com\s+control\s+you <admin@example\.com>/,
    );
    expect((await refused('share', 'add', device, '-e', 'x@example.com', '-l', 'own')).line).toBe(
      'error VALIDATION_FAILED: --level must be one of view, control (got "own").',
    );
    expect(await ok('share', 'remove', device, 'friend@example.com')).toBe(
      `${device} is no longer shared with friend@example.com.\n`,
    );
    expect(await ok('share', 'list', device)).toBe('(none)\n');
  });

  it('sign-up and verification from the terminal, with the commands the mail gives', async () => {
    const me = await json<{ org: { id: string; name: string } }>('account', 'show');
    expect((await refused('user', 'register', '--org', me.org.id, '--email', 'new@example.com')).code).toBe(
      4,
    );
    expect(await ok('org', 'registration', me.org.name, '--on')).toContain(
      'a registrant becomes a client with the user role, in the Clients organization',
    );
    await ok('user', 'register', '--org', me.org.id, '--email', 'new@example.com');
    const token = await tokenFromOutbox(gw.dataDir, 'new@example.com', 'verify-email');
    const mail = (await readOutbox(gw.dataDir)).filter((m) => m.to.includes('new@')).pop()!;
    expect(mail.text).toContain(`tether user verify --token ${token} --gateway ${gw.baseUrl}`);
    expect(await ok('user', 'verify', '--token', token, '-p', PASSWORD, '-n', 'Newt')).toBe(
      `Welcome, new@example.com. Next: tether login --email new@example.com --gateway ${gw.baseUrl}\n`,
    );
    await ok('org', 'registration', me.org.name, '--off');
  });

  it("a person's own account: show, change the password, delete", async () => {
    const own = await mkdtemp(join(tmpdir(), 'tether-cli-own-'));
    try {
      await gw.api(
        'POST',
        '/api/invitations',
        { email: 'self@example.com', roleId: 'user' },
        await gw.login(),
      );
      const token = await tokenFromOutbox(gw.dataDir, 'self@example.com', 'invitation');
      await gw.api('POST', '/api/invitations/accept', { token, password: PASSWORD });
      const mine = { TETHER_HOME: own, TETHER_GATEWAY_URL: gw.baseUrl, TETHER_PASSWORD: '' };
      expect((await runCliHere(['login', '-e', 'self@example.com', '-p', PASSWORD], mine)).code).toBe(0);
      expect((await runCliHere(['account', 'show'], mine)).stdout).toMatch(/email\s+self@example\.com/);
      const changed = await runCliHere(
        ['account', 'password', '--current', PASSWORD, '--new', 'a different long password'],
        mine,
      );
      expect(changed.stdout).toBe('Password changed; your other sessions were ended.\n');
      // The saved session carries on with the new pair.
      expect((await runCliHere(['account', 'show'], mine)).code).toBe(0);
      const wrong = await runCliHere(['account', 'delete', '--yes', '-p', PASSWORD], mine);
      expect(wrong.stderr.trim()).toBe('error INVALID_CREDENTIALS: The current password is wrong.');
      const gone = await runCliHere(['account', 'delete', '--yes', '-p', 'a different long password'], mine);
      expect(gone.stdout).toBe('Deleted self@example.com; 0 device(s) you owned have no owner now.\n');
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it('audit with filters, and sessions: list, end; logout ends the access token at once', async () => {
    const audit = await ok('audit', '--action', 'org.', '--actor', 'admin@example.com', '--since', '1d');
    expect(audit).toMatch(/org\.created\s+you <admin@example\.com>\s+org org_/);
    expect((await refused('audit', '--since', 'yesterday')).line).toBe(
      'error VALIDATION_FAILED: --since must be a date (2026-11-30 or 2026-11-30T18:00:00Z) or a span back from now (30m, 12h, 7d) (got "yesterday").',
    );
    expect((await refused('audit', '--action', 'Not An Action')).line).toBe(
      'error VALIDATION_FAILED: --action must be an action such as user.deleted, or a family such as user. (got "Not An Action").',
    );
    const other = await gw.api<{ accessToken: string }>('POST', '/api/auth/login', ADMIN);
    const sessions = await json<Array<{ id: string; current: boolean }>>('session', 'list');
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    const elsewhere = sessions.filter((s) => !s.current);
    for (const s of elsewhere) await ok('session', 'end', s.id);
    expect((await gw.api('GET', '/api/me', undefined, other.body.accessToken)).status).toBe(401);
    expect(await ok('session', 'list')).toMatch(/yes/);
  });

  it('as a separate process: a refused command exits with the code of its error', {
    timeout: 90_000,
  }, async () => {
    const res = await runCli(['user', 'invite', ADMIN.email], env);
    expect(res.code).toBe(5);
    expect(res.stderr).toContain('already in use');
  });
});
