import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { addUser, createOrg, PASSWORD } from './account-support.js';

type Err = { error: { code: string; details?: Record<string, unknown> } };

describe('partner organizations', () => {
  let gw: TestGateway;
  afterEach(async () => {
    await gw.stop();
  });

  it('exist on enterprise only, and partner users belong to one', async () => {
    gw = await startTestGateway({ admin: { plan: 'pro' } });
    const admin = await gw.login();
    const rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    const refused = await gw.api<Err>('POST', '/api/orgs', { name: 'Reseller', kind: 'partner' }, admin);
    expect(refused.body.error).toMatchObject({
      code: 'PLAN_LIMIT',
      details: { limit: 'partnerOrgs', plan: 'pro' },
    });
    await gw.api('PATCH', `/api/orgs/${rootId}`, { plan: 'enterprise' }, admin);
    const partner = await gw.api<{ id: string; kind: string }>(
      'POST',
      '/api/orgs',
      { name: 'Reseller', kind: 'partner' },
      admin,
    );
    expect(partner.body.kind).toBe('partner');
    const plain = await createOrg(gw, admin, 'Plain');
    const wrongOrg = await gw.api<Err>(
      'POST',
      '/api/invitations',
      { email: 'p@example.com', roleId: 'admin', type: 'partner', orgId: plain },
      admin,
    );
    expect(wrongOrg.body.error.code).toBe('VALIDATION_FAILED');
    const ok = await gw.api<{ type: string }>(
      'POST',
      '/api/invitations',
      { email: 'p@example.com', roleId: 'admin', type: 'partner', orgId: partner.body.id },
      admin,
    );
    expect(ok.body.type).toBe('partner');
  });
});

describe('persistence', () => {
  let gw: TestGateway | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await gw?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('roles, invitations, grants and sessions survive a restart', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tether-accounts-'));
    gw = await startTestGateway({}, { dataDir: dir });
    const admin = await gw.login();
    const rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    const role = await gw.api<{ key: string }>(
      'POST',
      `/api/orgs/${rootId}/roles`,
      { name: 'Viewer', permissions: ['org.view', 'devices.own.view'] },
      admin,
    );
    const viewer = await addUser(gw, admin, 'viewer@example.com', role.body.key);
    await gw.api('POST', '/api/invitations', { email: 'later@example.com', roleId: 'user' }, admin);
    const template = await gw.api<{ id: string }>('POST', '/api/templates', { name: 'Lamp' }, admin);
    const session = await gw.api<{ deviceId: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId: template.body.id },
      admin,
    );
    await gw.api(
      'POST',
      `/api/devices/${session.body.deviceId}/shares`,
      { email: 'viewer@example.com', level: 'view' },
      admin,
    );
    await gw.stop();

    gw = await startTestGateway({}, { dataDir: dir });
    // Same signing key, same stored role: the old access token still works and sees the shared device.
    const me = await gw.api<{ permissions: string[]; sharedDevices: Array<{ deviceId: string }> }>(
      'GET',
      '/api/me',
      undefined,
      viewer.token,
    );
    expect(me.body.permissions).toEqual(['devices.own.view', 'org.view']);
    expect(me.body.sharedDevices).toEqual([{ deviceId: session.body.deviceId, level: 'view' }]);
    expect(
      (await gw.api('GET', `/api/devices/${session.body.deviceId}`, undefined, viewer.token)).status,
    ).toBe(200);
    const admin2 = await gw.login();
    const invitations = await gw.api<{ invitations: Array<{ email: string; status: string }> }>(
      'GET',
      '/api/invitations',
      undefined,
      admin2,
    );
    expect(invitations.body.invitations).toEqual(
      expect.arrayContaining([expect.objectContaining({ email: 'later@example.com', status: 'pending' })]),
    );
    expect(await gw.login('viewer@example.com', PASSWORD)).toBeTruthy();
  });
});
