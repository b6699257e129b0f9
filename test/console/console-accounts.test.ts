/**
 * The accounts model in a real browser: user types (what each may never hold, the type chosen when
 * inviting and changed when managing a person), permissions a plan locks shown locked, a person
 * moved with their devices left behind unowned, self-registration opened on a maker org (and
 * refused where the plan has none), and the audit log filtered by action, person, time and log.
 * Every outcome is checked through the API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, createOrg } from '../accounts/account-support.js';
import { createTemplate, mint } from '../devices/device-fixtures.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import {
  choose,
  click,
  DESKTOP,
  expectAccessible,
  fill,
  heading,
  launchBrowser,
  SKIP_BROWSER,
  screenshot,
  type TestBrowser,
  type TestPage,
} from './browser-harness.js';

interface Row {
  action: string;
  actor: string;
}

describe.skipIf(SKIP_BROWSER)('accounts in the console', { timeout: 90_000 }, () => {
  let gw: TestGateway;
  let chrome: TestBrowser;
  let tab: TestPage;
  let admin: string;
  let rootId: string;
  let branchId: string;
  let sam: { id: string; token: string };
  let deviceId: string;

  beforeAll(async () => {
    // The operator's own plan locks one permission here: the roles page must show it locked.
    gw = await startTestGateway({ plans: { enterprise: { lockedPermissions: ['org.transfer'] } } as never });
    admin = await gw.login();
    rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    branchId = await createOrg(gw, admin, 'Branch office');
    sam = await addUser(gw, admin, 'sam@example.com', 'user');
    const templateId = await createTemplate(gw, admin, 'Lamp');
    const [device] = await mint(gw, admin, templateId);
    const claim = await gw.api<{ deviceId?: string; id?: string }>(
      'POST',
      '/api/claims',
      { claimCode: device!.claimCode },
      sam.token,
    );
    expect(claim.status, JSON.stringify(claim.body)).toBe(200);
    deviceId = device!.deviceId;
    for (let i = 0; i < 3; i++)
      await gw.api('PUT', `/api/devices/${deviceId}/datastreams/power`, { value: 1 }, admin);
    chrome = await launchBrowser();
    tab = await chrome.page(DESKTOP);
    await tab.page.goto(`${gw.baseUrl}/sign-in`);
    await fill(tab.page, 'Email', ADMIN.email);
    await fill(tab.page, 'Password', ADMIN.password);
    await click(tab.page, 'Sign in');
    await heading(tab.page, 'Devices');
  }, 60_000);

  afterAll(async () => {
    await chrome?.close();
    await gw?.stop();
  });

  const api = <T>(method: string, path: string, body?: unknown) => gw.api<T>(method, path, body, admin);
  const go = async (path: string, title: string) => {
    await tab.page.goto(`${gw.baseUrl}${path}`);
    await heading(tab.page, title);
  };
  const waitForText = (wanted: string) =>
    tab.page.waitForFunction((w) => document.querySelector('main')?.textContent?.includes(w), {}, wanted);
  /** Chooses in one section of the page, whose labels repeat elsewhere. */
  const chooseIn = async (section: string, label: string, value: string) => {
    const id = await tab.page.waitForFunction(
      (s, text) =>
        [...document.querySelectorAll<HTMLLabelElement>(`${s} label`)].find(
          (l) => l.textContent?.trim() === text,
        )?.htmlFor || false,
      {},
      section,
      label,
    );
    const selector = `[id="${await id.jsonValue()}"]`;
    await tab.page.waitForFunction(
      (sel, v) => [...(document.querySelector(sel) as HTMLSelectElement).options].some((o) => o.value === v),
      {},
      selector,
      value,
    );
    await tab.page.select(selector, value);
  };

  it('shows what each user type may never hold, and the permissions the plan locks as locked', async () => {
    await go('/admin/roles', 'Roles and permissions');
    await tab.page.waitForSelector('tr[data-type="client"]');
    const never = await tab.page.$eval('tr[data-type="client"] td', (td) => td.textContent ?? '');
    const catalogue = await api<{
      permissions: string[];
      userTypes: { type: string; permissions: string[] }[];
    }>('GET', '/api/permissions');
    const client = new Set(catalogue.body.userTypes.find((t) => t.type === 'client')!.permissions);
    const expected = catalogue.body.permissions.filter((p) => !client.has(p));
    expect(expected).toContain('templates.edit');
    expect(never.split(', ').sort()).toEqual(expected.sort());
    // org.transfer is locked by the plan: its box is disabled in every editable role, and says why.
    await tab.page.waitForSelector(
      'section[aria-labelledby="role-staff"] label[data-permission="org.transfer"]',
    );
    const locked = await tab.page.$$eval('label[data-permission="org.transfer"]', (labels) =>
      labels.map((l) => ({
        disabled: (l.querySelector('input') as HTMLInputElement).disabled,
        text: l.textContent ?? '',
      })),
    );
    expect(locked.length).toBeGreaterThan(0);
    for (const l of locked)
      expect(l).toEqual({ disabled: true, text: expect.stringContaining('locked by plan') });
    const open = await tab.page.$eval(
      'section[aria-labelledby="role-staff"] label[data-permission="devices.org.view"] input',
      (i) => (i as HTMLInputElement).disabled,
    );
    expect(open).toBe(false);
    await waitForText('plan locks 1 permission');
    await expectAccessible(tab.page, 'the roles page with user types');
  });

  it('invites a client, and changes a person’s type', async () => {
    await go('/admin/users', 'People');
    await fill(tab.page, 'Email', 'cleo@example.com');
    await chooseIn('section[aria-labelledby="invite-title"]', 'Type', 'client');
    await click(tab.page, 'Send invitation');
    await waitForText('Invitation mailed to cleo@example.com');
    const invitations = await api<{ invitations: { email: string; type?: string }[] }>(
      'GET',
      '/api/invitations',
    );
    expect(invitations.body.invitations.find((i) => i.email === 'cleo@example.com')?.type).toBe('client');

    await click(tab.page, 'Manage sam@example.com');
    await chooseIn('section[aria-labelledby="manage-title"]', 'Type', 'client');
    await click(tab.page, 'Save');
    await expect
      .poll(async () => (await api<{ type: string }>('GET', `/api/users/${sam.id}`)).body.type)
      .toBe('client');
    await waitForText('client');
    await expectAccessible(tab.page, 'the people page');
  });

  it('moves a person and leaves their devices behind, unowned, when told so', async () => {
    await go('/admin/users', 'People');
    await click(tab.page, 'Manage sam@example.com');
    const manage = 'section[aria-labelledby="manage-title"]';
    await chooseIn(manage, 'Organization', branchId);
    await chooseIn(manage, 'Their devices', 'leave');
    await click(tab.page, 'Save');
    await expect
      .poll(async () => (await api<{ orgId: string }>('GET', `/api/users/${sam.id}`)).body.orgId)
      .toBe(branchId);
    const device = await api<{ orgId: string; ownerId: string | null }>('GET', `/api/devices/${deviceId}`);
    expect(device.body).toMatchObject({ orgId: rootId, ownerId: null });
  });

  it('opens self-registration on a maker org, and shows the refusal where the plan has none', async () => {
    const tenant = await createOrg(gw, admin, 'Small maker');
    expect((await api('PATCH', `/api/orgs/${tenant}`, { plan: 'pro' })).status).toBe(200);
    await go('/admin/orgs', 'Organizations');
    await choose(tab.page, 'Maker organization', rootId);
    const form = 'form[aria-label="Self-registration with My Organization"]';
    await tab.page.waitForSelector(form);
    await tab.page.click(`${form} input[name="enabled"]`);
    await tab.page.click(`${form} input[name="ownOrg"]`);
    await click(tab.page, 'Save sign-ups');
    await waitForText('People can now sign up with My Organization.');
    const root = await api<{ registration?: unknown }>('GET', `/api/orgs/${rootId}`);
    expect(root.body.registration).toEqual({ enabled: true, roleId: 'user', type: 'client', ownOrg: true });
    await waitForText('sign-ups open');
    // The link to share, which opens the sign-up page.
    await waitForText(`${gw.baseUrl}/sign-up?org=${rootId}`);
    await expectAccessible(tab.page, 'the organizations page with sign-ups');
    await screenshot(tab.page, 'sign-ups-desktop');

    await choose(tab.page, 'Maker organization', tenant);
    await tab.page.waitForSelector('form[aria-label="Self-registration with Small maker"]');
    await tab.page.click('form[aria-label="Self-registration with Small maker"] input[name="enabled"]');
    await click(tab.page, 'Save sign-ups');
    const refusal = await api<{ error: { message: string } }>('PATCH', `/api/orgs/${tenant}`, {
      registration: { enabled: true },
    });
    expect(refusal.status).toBeGreaterThanOrEqual(400);
    await waitForText(refusal.body.error.message);
    expect(
      (await api<{ registration?: unknown }>('GET', `/api/orgs/${tenant}`)).body.registration,
    ).toBeUndefined();
  });

  it('filters the audit log by action family, person and time, and shows device commands apart', async () => {
    const rows = () =>
      tab.page.$$eval('main table tbody tr', (trs) =>
        trs.map((tr) => ({
          action: tr.children[1]?.textContent ?? '',
          actor: tr.children[2]?.textContent ?? '',
        })),
      );
    const settle = async (count: number) =>
      tab.page.waitForFunction(
        (n) => document.querySelectorAll('main table tbody tr').length === n,
        {},
        count,
      );

    await go('/admin/audit', 'Audit log');
    await fill(tab.page, 'Action', 'user.');
    await click(tab.page, 'Filter');
    const users = await api<{ events: Row[] }>('GET', '/api/audit?action=user.&limit=200');
    expect(users.body.events.length).toBeGreaterThan(0);
    await settle(users.body.events.length);
    for (const row of await rows()) expect(row.action).toMatch(/^user\./);

    await click(tab.page, 'Clear');
    await choose(tab.page, 'Who', sam.id);
    await click(tab.page, 'Filter');
    const bySam = await api<{ events: Row[] }>('GET', `/api/audit?actor=${sam.id}&limit=200`);
    expect(bySam.body.events.length).toBeGreaterThan(0); // the invitation accepted, the claim
    await settle(bySam.body.events.length);
    for (const row of await rows()) expect(row.actor).toContain('sam@example.com');

    // A time range in the future holds nothing.
    await click(tab.page, 'Clear');
    await fill(tab.page, 'From', '2099-01-01T00:00');
    await click(tab.page, 'Filter');
    await waitForText('No events match these filters.');

    await click(tab.page, 'Clear');
    await choose(tab.page, 'Log', 'devices');
    await click(tab.page, 'Filter');
    await settle(3);
    expect((await rows()).map((r) => r.action)).toEqual(Array(3).fill('device.datastream-written'));
    const audit = await api<{ events: Row[] }>('GET', `/api/audit?targetId=${deviceId}&limit=200`);
    expect(audit.body.events.map((e) => e.action)).not.toContain('device.datastream-written');
    await expectAccessible(tab.page, 'the device-command log');
    await screenshot(tab.page, 'audit-filters-desktop');
  });

  it('broke no Content-Security-Policy rule and threw no error on the way', () => {
    expect(tab.problems).toEqual([]);
  });
});
