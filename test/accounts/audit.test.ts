/**
 * The audit log: account, ownership and configuration history outlives the org it happened in and
 * stays readable by those above; device commands go to their own bounded log; filters by action,
 * actor and time.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { SKIP_POSTGRES, startPostgres, type TestPostgres } from '../support/postgres-server.js';
import { addUser, createOrg, PASSWORD } from './account-support.js';

type Event = { action: string; actor: string; targetId: string; at: number; orgId: string | null };

let postgres: TestPostgres | undefined;
let databases = 0;
beforeAll(async () => {
  if (!SKIP_POSTGRES) postgres = await startPostgres();
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
});

// The same promises on either store: the filters and the org paths are the store's queries.
describe.each(SKIP_POSTGRES ? ['embedded'] : ['embedded', 'postgres'])('audit (%s store)', (backend) => {
  let gw: TestGateway;
  let admin: string;
  const events = async (query = '', token = admin) => {
    const res = await gw.api<{ events: Event[] }>('GET', `/api/audit?limit=1000${query}`, undefined, token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.events;
  };

  beforeEach(async () => {
    gw = await startTestGateway(
      backend === 'postgres'
        ? { store: { backend: 'postgres', url: await postgres!.createDatabase(`audit_${++databases}`) } }
        : {},
    );
    admin = await gw.login();
  });
  afterEach(async () => {
    await gw.stop();
  });

  it('the history of a deleted org stays readable by those above it', async () => {
    const region = await createOrg(gw, admin, 'Region');
    const regionAdmin = await addUser(gw, admin, 'region@example.com', 'admin', region);
    const gone = await createOrg(gw, regionAdmin.token, 'Shop', region);
    const clerk = await addUser(gw, regionAdmin.token, 'clerk@example.com', 'user', gone);
    // The clerk leaves of their own accord: their own user.deleted event is in the shop's history.
    expect((await gw.api('DELETE', '/api/me', { password: PASSWORD }, clerk.token)).status).toBe(200);
    const before = (await events('', regionAdmin.token)).filter((e) => e.orgId === gone);
    expect(before.map((e) => e.action)).toEqual(expect.arrayContaining(['org.created', 'user.deleted']));

    expect(
      (await gw.api('DELETE', `/api/orgs/${gone}?force=true`, undefined, regionAdmin.token)).status,
    ).toBe(200);
    for (const token of [regionAdmin.token, admin]) {
      const after = (await events('', token)).filter((e) => e.orgId === gone);
      expect(after.map((e) => e.action).sort()).toEqual(before.map((e) => e.action).sort());
    }
    // Nobody beside or below sees it.
    const beside = await addUser(
      gw,
      admin,
      'beside@example.com',
      'admin',
      await createOrg(gw, admin, 'Beside'),
    );
    expect((await events('', beside.token)).some((e) => e.orgId === gone)).toBe(false);
  });

  it('device commands go to the device-activity log, not the audit log', async () => {
    const template = await gw.api<{ id: string }>(
      'POST',
      '/api/templates',
      { name: 'Fan', datastreams: [{ name: 'speed', type: 'int', min: 0, max: 3 }] },
      admin,
    );
    const session = await gw.api<{ deviceId: string }>(
      'POST',
      '/api/provisioning/sessions',
      { templateId: template.body.id },
      admin,
    );
    const id = session.body.deviceId;
    for (let i = 0; i < 5; i++)
      await gw.api('PUT', `/api/devices/${id}/datastreams/speed`, { value: 1 }, admin);
    await gw.api('POST', `/api/devices/${id}/reboot`, undefined, admin);
    const audit = await events(`&targetId=${id}`);
    expect(audit.map((e) => e.action)).not.toContain('device.datastream-written');
    const activity = await events(`&targetId=${id}&log=devices`);
    expect(activity.map((e) => e.action)).toEqual([
      'device.reboot-requested',
      ...Array(5).fill('device.datastream-written'),
    ]);
  });

  it('filters by action (one or a family), actor and time', async () => {
    const start = Date.now();
    const org = await createOrg(gw, admin, 'Team');
    const lead = await addUser(gw, admin, 'lead@example.com', 'admin', org);
    await createOrg(gw, lead.token, 'Sub', org);
    const me = (await gw.api<{ user: { id: string } }>('GET', '/api/me', undefined, admin)).body.user.id;

    // The root's own (at first run), Team and Sub.
    const created = await events('&action=org.created');
    expect(created.map((e) => e.action)).toEqual(['org.created', 'org.created', 'org.created']);
    const family = await events('&action=invitation.');
    expect(new Set(family.map((e) => e.action))).toEqual(
      new Set(['invitation.created', 'invitation.accepted']),
    );
    const byLead = await events(`&actor=${lead.id}`);
    expect(byLead.map((e) => e.action)).toEqual(
      expect.arrayContaining(['org.created', 'invitation.accepted']),
    );
    expect(byLead.every((e) => e.actor === lead.id)).toBe(true);
    expect((await events(`&actor=${me}&action=org.created`)).length).toBe(1);
    expect((await events('&actor=system&action=org.created')).length).toBe(1);
    // Before this test's start: only the root's own, from first run.
    expect((await events(`&until=${start - 1}&action=org.`)).map((e) => e.actor)).toEqual(['system']);
    expect((await events(`&since=${start}&action=org.`)).length).toBe(2);
    const bad = await gw.api<{ error: { message: string } }>(
      'GET',
      '/api/audit?since=yesterday',
      undefined,
      admin,
    );
    expect(bad.body.error.message).toBe('since must be a time in milliseconds since 1970 (got "yesterday").');
  });
});
