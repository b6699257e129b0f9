/** The `tether org|user|role` commands, run as a person would, against a real gateway. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { runCli } from '../support/run-cli.js';
import { PASSWORD, tokenFromOutbox } from './account-support.js';

describe('tether org / user / role', () => {
  let gw: TestGateway;
  let home: string;
  const cli = (...args: string[]) =>
    runCli([...args, '-g', gw.baseUrl], { TETHER_HOME: home, TETHER_PASSWORD: '' });
  const json = async <T>(...args: string[]): Promise<T> => {
    const res = await cli(...args, '--json');
    expect(res.code, res.stderr + res.stdout).toBe(0);
    return JSON.parse(res.stdout) as T;
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    home = await mkdtemp(join(tmpdir(), 'tether-cli-'));
    const login = await cli('login', '-e', ADMIN.email, '-p', ADMIN.password);
    expect(login.code, login.stderr).toBe(0);
  }, 90_000);

  afterAll(async () => {
    await gw.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('walks an admin through orgs, invitations, roles, moves, resets and deletes', {
    // About 25 CLI processes, each ~1 s of CPU to start: minutes on a busy 2-core machine.
    timeout: 240_000,
  }, async () => {
    const org = await json<{ id: string }>('org', 'create', '-n', 'Field team');
    const orgs = await json<Array<{ id: string; name: string }>>('org', 'list');
    expect(orgs.map((o) => o.name)).toContain('Field team');

    const invited = await json<{ userId: string }>(
      'user',
      'invite',
      'tech@example.com',
      '-r',
      'staff',
      '-o',
      org.id,
    );
    const token = await tokenFromOutbox(gw.dataDir, 'tech@example.com', 'invitation');
    const accept = await runCli(['user', 'accept', '--token', token, '-p', PASSWORD, '-g', gw.baseUrl], {
      TETHER_HOME: home,
    });
    expect(accept.code, accept.stderr).toBe(0);
    const users = await json<Array<{ email: string; status: string }>>('user', 'list', '-o', org.id);
    expect(users).toEqual([expect.objectContaining({ email: 'tech@example.com', status: 'active' })]);

    const roles = await json<Array<{ key: string }>>('role', 'list', '-o', org.id);
    expect(roles.map((r) => r.key)).toEqual(expect.arrayContaining(['admin', 'staff', 'user']));
    const custom = await json<{ key: string }>(
      'role',
      'create',
      '-o',
      org.id,
      '-n',
      'Installer',
      '-p',
      'org.view',
      'devices.provision',
    );
    const edited = await json<{ permissions: string[] }>(
      'role',
      'edit',
      custom.key,
      '-o',
      org.id,
      '-p',
      'org.view',
    );
    expect(edited.permissions).toEqual(['org.view']);

    const moved = await json<{ roleId: string }>(
      'user',
      'move',
      invited.userId,
      '-o',
      org.id,
      '-r',
      custom.key,
    );
    expect(moved.roleId).toBe(custom.key);
    const deleteRole = await cli('role', 'delete', custom.key, '-o', org.id);
    expect(deleteRole.code).toBe(2);
    expect(deleteRole.stderr).toContain('VALIDATION_FAILED');
    await json('role', 'delete', custom.key, '-o', org.id, '--move-to', 'user');

    const reset = await json<{ mailed: boolean }>('user', 'reset-password', invited.userId);
    expect(reset.mailed).toBe(true);
    const resetToken = await tokenFromOutbox(gw.dataDir, 'tech@example.com', 'reset-password');
    const finish = await runCli(
      ['user', 'reset-password', '--token', resetToken, '-p', 'a fresh long password', '-g', gw.baseUrl],
      { TETHER_HOME: home },
    );
    expect(finish.code, finish.stderr).toBe(0);
    expect(await gw.login('tech@example.com', 'a fresh long password')).toBeTruthy();

    const notEmpty = await cli('org', 'delete', org.id);
    expect(notEmpty.code).toBe(5);
    expect(notEmpty.stderr).toContain('ORG_NOT_EMPTY');
    const deleted = await json<{ unownedDevices: number }>('user', 'delete', invited.userId);
    expect(deleted.unownedDevices).toBe(0);
    await json('org', 'delete', org.id);
    const plan = await json<{ effectivePlan: string }>(
      'org',
      'update',
      orgs.find((o) => o.name !== 'Field team')!.id,
      '--plan',
      'pro',
    );
    expect(plan.effectivePlan).toBe('pro');
  });

  it('a refused command exits with the code of its error', { timeout: 90_000 }, async () => {
    const res = await cli('user', 'invite', ADMIN.email);
    expect(res.code).toBe(5);
    expect(res.stderr).toContain('already in use');
  });
});
