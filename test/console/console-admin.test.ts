/**
 * The admin pages in a real browser, each main path as an admin would use it: a product with an
 * enum datastream and its minimum security; a static-token mint whose CSV of tokens and sheet of QR
 * labels download from the page; a person's role changed, moved to a sub-organization, mailed a
 * reset, signed out everywhere and deleted; an invitation revoked; a custom role created, edited and
 * deleted (Admin shown locked); the audit log filtered. Every outcome is checked through the API.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIM_QR_OPTIONS } from '../../shared/mint-labels.js';
import { addUser, createOrg, PASSWORD, readOutbox } from '../accounts/account-support.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import {
  choose,
  click,
  control,
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

const PAT = 'pat@example.com';

describe.skipIf(SKIP_BROWSER)('the admin pages in a real browser', { timeout: 90_000 }, () => {
  let gw: TestGateway;
  let chrome: TestBrowser;
  let tab: TestPage;
  let admin: string;
  let rootId: string;
  let branchId: string;
  let templateId: string;
  let downloads: string;
  let revokedId: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    branchId = await createOrg(gw, admin, 'Branch office');
    downloads = await mkdtemp(join(tmpdir(), 'tether-downloads-'));
    chrome = await launchBrowser();
    tab = await chrome.page(DESKTOP);
    const cdp = await tab.page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    await tab.page.goto(`${gw.baseUrl}/sign-in`);
    await fill(tab.page, 'Email', ADMIN.email);
    await fill(tab.page, 'Password', ADMIN.password);
    await click(tab.page, 'Sign in');
    await heading(tab.page, 'Devices');
  }, 60_000);

  afterAll(async () => {
    await chrome?.close();
    await gw?.stop();
    if (downloads) await rm(downloads, { recursive: true, force: true });
  });

  const api = <T>(method: string, path: string, body?: unknown, token = admin) =>
    gw.api<T>(method, path, body, token);
  const go = async (path: string, title: string) => {
    await tab.page.goto(`${gw.baseUrl}${path}`);
    await heading(tab.page, title);
  };
  const waitForText = (wanted: string) =>
    tab.page.waitForFunction((w) => document.querySelector('main')?.textContent?.includes(w), {}, wanted);
  /** Chooses in the Manage card (the invitation form above it has its own Organization and Role). */
  const chooseInManage = async (label: string, value: string) => {
    const id = await tab.page.waitForFunction(
      (text) =>
        [
          ...document.querySelectorAll<HTMLLabelElement>('section[aria-labelledby="manage-title"] label'),
        ].find((l) => l.textContent?.trim() === text)?.htmlFor || false,
      {},
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
  /** The file the browser saved whose name starts with `prefix`, once it is complete. */
  const downloaded = async (prefix: string): Promise<string> => {
    for (let i = 0; i < 100; i++) {
      const name = (await readdir(downloads)).find((f) => f.startsWith(prefix) && !f.endsWith('.crdownload'));
      if (name) return readFile(join(downloads, name), 'utf8');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no download starting with ${prefix} in ${await readdir(downloads)}`);
  };

  it('creates a product with an enum datastream and a minimum security', async () => {
    await go('/admin/templates', 'Products');
    await fill(tab.page, 'Product name', 'Fan');
    await choose(tab.page, 'Minimum security', '1');
    await fill(tab.page, 'Hotspot prefix (optional)', 'FAN');
    await fill(tab.page, 'Name', 'speed');
    await choose(tab.page, 'Type', 'enum');
    await fill(tab.page, 'Values', 'low, mid , high');
    await click(tab.page, 'Create product');
    await tab.page.waitForFunction(() =>
      document.querySelector('main')?.textContent?.includes('low, mid, high'),
    );
    await expectAccessible(tab.page, 'the products page');
    const list = await api<{
      templates: {
        id: string;
        name: string;
        minSecurity: number;
        hotspotPrefix: string;
        datastreams: unknown[];
      }[];
    }>('GET', '/api/templates');
    const fan = list.body.templates.find((t) => t.name === 'Fan');
    expect(fan).toEqual(
      expect.objectContaining({
        minSecurity: 1,
        hotspotPrefix: 'FAN',
        datastreams: [{ name: 'speed', type: 'enum', values: ['low', 'mid', 'high'] }],
      }),
    );
    templateId = fan!.id;
  });

  it('edits an existing product, keeping what the form does not show (the datastream pin)', async () => {
    // Blynk's pin and "sync" are set through the API; the console's form does not show them.
    const pinned = await api('PATCH', `/api/templates/${templateId}`, {
      datastreams: [{ name: 'speed', type: 'enum', values: ['low', 'mid', 'high'], pin: 'V5', sync: true }],
    });
    expect(pinned.status, JSON.stringify(pinned.body)).toBe(200);
    await go('/admin/templates', 'Products');
    await click(tab.page, 'Edit Fan');
    await tab.page.waitForFunction(() =>
      [...document.querySelectorAll('h2')].some((h) => h.textContent === 'Edit Fan'),
    );
    // The form starts from the product as it is.
    expect(
      await tab.page.$eval(await control(tab.page, 'Values'), (e) => (e as HTMLInputElement).value),
    ).toBe('low, mid, high');
    await fill(tab.page, 'Product name', 'Fan Pro');
    await choose(tab.page, 'Minimum security', '2');
    await fill(tab.page, 'Values', 'low, mid, high, turbo');
    await click(tab.page, 'Save product');
    await waitForText('low, mid, high, turbo');
    const after = await api<{
      name: string;
      minSecurity: number;
      hotspotPrefix: string;
      datastreams: unknown[];
    }>('GET', `/api/templates/${templateId}`);
    expect(after.body).toEqual(
      expect.objectContaining({
        name: 'Fan Pro',
        minSecurity: 2,
        hotspotPrefix: 'FAN',
        datastreams: [
          { name: 'speed', type: 'enum', values: ['low', 'mid', 'high', 'turbo'], pin: 'V5', sync: true },
        ],
      }),
    );
    // A refusal by the gateway is shown in the page, and nothing changes.
    await click(tab.page, 'Edit Fan Pro');
    await fill(tab.page, 'Hotspot prefix (optional)', 'FAN');
    await fill(tab.page, 'Values', ' , ');
    await click(tab.page, 'Save product');
    await tab.page.waitForSelector('[role="alert"]');
    expect((await api<{ name: string }>('GET', `/api/templates/${templateId}`)).body.name).toBe('Fan Pro');
    await click(tab.page, 'Cancel');
    await expectAccessible(tab.page, 'the products page after an edit');
  });

  it('mints devices and downloads their tokens (CSV) and QR labels (SVG) from the page', async () => {
    await go('/admin/static-tokens', 'Static tokens');
    await choose(tab.page, 'Product', templateId);
    await fill(tab.page, 'How many', '2');
    const minted = tab.page.waitForResponse(
      (r) => r.url().endsWith('/api/static-tokens') && r.request().method() === 'POST',
    );
    await click(tab.page, 'Mint');
    const { devices } = (await (await minted).json()) as {
      devices: { deviceId: string; name: string; token: string; claimCode: string }[];
    };
    expect(devices).toHaveLength(2);

    await click(tab.page, 'Download tokens (CSV)');
    const csv = await downloaded('tokens-');
    const rows = csv.trim().split('\r\n');
    expect(rows).toHaveLength(3); // the header and one row per device
    for (const d of devices) {
      const row = rows.find((r) => r.includes(d.deviceId));
      expect(row).toContain(d.token);
      expect(row).toContain(d.claimCode);
    }

    await click(tab.page, 'Download QR labels (SVG)');
    const svg = await downloaded('labels-');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const d of devices) {
      expect(svg).toContain(`>${d.claimCode}</text>`);
      // The label's QR code is the claim code's, as the CLI prints it.
      const qr = await QRCode.toString(d.claimCode, { type: 'svg', ...CLAIM_QR_OPTIONS });
      const path = /<path[^>]*stroke="#000000"[^>]*d="([^"]+)"/.exec(qr)?.[1];
      expect(path && svg.includes(path)).toBe(true);
    }
    await expectAccessible(tab.page, 'the static-token page after a mint');

    revokedId = devices[1]!.deviceId;
    await click(tab.page, `Revoke ${devices[1]!.name}`);
    await tab.page.waitForFunction(
      (name) =>
        [...document.querySelectorAll('tr')].some(
          (tr) => tr.textContent?.includes(name) && tr.textContent.includes('revoked'),
        ),
      {},
      devices[1]!.name,
    );
    expect((await api<{ status: string }>('GET', `/api/devices/${revokedId}`)).body.status).toBe('revoked');
  });

  it('changes a person’s role, moves them, mails a reset, signs them out everywhere, and deletes them', async () => {
    const pat = await addUser(gw, admin, PAT, 'user');
    expect((await api('GET', '/api/me', undefined, pat.token)).status).toBe(200);
    await go('/admin/users', 'People');
    await click(tab.page, `Manage ${PAT}`);
    await chooseInManage('Role', 'staff');
    await click(tab.page, 'Save');
    await tab.page.waitForFunction(() => !document.querySelector('#manage-title'));
    expect((await api<{ roleId: string }>('GET', `/api/users/${pat.id}`)).body.roleId).toBe('staff');

    await click(tab.page, `Manage ${PAT}`);
    await chooseInManage('Organization', branchId);
    await chooseInManage('Role', 'user');
    await click(tab.page, 'Save');
    await tab.page.waitForFunction(() => !document.querySelector('#manage-title'));
    const moved = await api<{ orgId: string; roleId: string }>('GET', `/api/users/${pat.id}`);
    expect(moved.body).toEqual(expect.objectContaining({ orgId: branchId, roleId: 'user' }));

    await click(tab.page, `Manage ${PAT}`);
    await click(tab.page, 'Mail a password reset');
    await waitForText(`A password reset link was mailed to ${PAT}.`);
    await expect
      .poll(async () =>
        (await readOutbox(gw.dataDir)).some(
          (m) => m.to.includes(PAT) && m.text.includes('/reset-password#token='),
        ),
      )
      .toBe(true);

    // A role change or a move ends the person's sessions; a new one, then signed out from here.
    const session = await gw.login(PAT, PASSWORD);
    expect((await api('GET', '/api/me', undefined, session)).status).toBe(200);
    await click(tab.page, 'Sign out everywhere');
    await waitForText(`${PAT} is signed out everywhere.`);
    expect((await api('GET', '/api/me', undefined, session)).status).toBe(401);
    await expectAccessible(tab.page, 'the people page managing a person');

    await click(tab.page, 'Delete…');
    await tab.page.waitForSelector('dialog[open]');
    await click(tab.page, 'Delete person');
    await tab.page.waitForFunction((e) => !document.querySelector('main')?.textContent?.includes(e), {}, PAT);
    expect((await api('GET', `/api/users/${pat.id}`)).status).toBe(404);
  });

  it('invites from the invitations page and revokes the invitation', async () => {
    await go('/admin/invitations', 'Invitations');
    await fill(tab.page, 'Email', 'late@example.com');
    await click(tab.page, 'Send invitation');
    await click(tab.page, 'Revoke invitation of late@example.com');
    await tab.page.waitForFunction(
      () => !document.querySelector('[aria-label="Revoke invitation of late@example.com"]'),
    );
    const list = await api<{ invitations: { email: string; status: string }[] }>('GET', '/api/invitations');
    expect(list.body.invitations.find((i) => i.email === 'late@example.com')?.status).not.toBe('pending');
    await expectAccessible(tab.page, 'the invitations page');
  });

  it('creates, edits and deletes a custom role; Admin is shown locked', async () => {
    await go('/admin/roles', 'Roles and permissions');
    await tab.page.waitForSelector('#role-admin');
    expect(
      await tab.page.$eval(
        'section[aria-labelledby="role-admin"] fieldset',
        (f) => (f as HTMLFieldSetElement).disabled,
      ),
    ).toBe(true);
    await fill(tab.page, 'Role name', 'Installer');
    const newRole = 'form[aria-label="Create a role"]';
    await tab.page.click(`${newRole} label[data-permission="devices.provision"] input`);
    await tab.page.click(`${newRole} label[data-permission="templates.view"] input`);
    await click(tab.page, 'Create role');
    await tab.page.waitForFunction(() =>
      [...document.querySelectorAll('h2')].some((h) => h.textContent?.startsWith('Installer')),
    );
    const roles = async () =>
      (
        await api<{ roles: { key: string; name: string; permissions: string[] }[] }>(
          'GET',
          `/api/orgs/${rootId}/roles`,
        )
      ).body.roles;
    const installer = (await roles()).find((r) => r.name === 'Installer');
    expect(installer?.permissions.sort()).toEqual(['devices.provision', 'templates.view']);
    await expectAccessible(tab.page, 'the roles page');
    await screenshot(tab.page, 'roles-desktop');

    const card = `section[aria-labelledby="role-${installer!.key}"]`;
    await tab.page.click(`${card} label[data-permission="devices.org.view"] input`);
    await click(tab.page, 'Save Installer');
    await expect
      .poll(async () =>
        (await roles()).find((r) => r.name === 'Installer')?.permissions.includes('devices.org.view'),
      )
      .toBe(true);

    await click(tab.page, 'Delete Installer…');
    await tab.page.waitForSelector('dialog[open]');
    await click(tab.page, 'Delete role');
    await tab.page.waitForFunction(
      () => ![...document.querySelectorAll('h2')].some((h) => h.textContent?.startsWith('Installer')),
    );
    expect((await roles()).some((r) => r.name === 'Installer')).toBe(false);
  });

  it('filters the audit log by target and by organization', async () => {
    await go('/admin/audit', 'Audit log');
    await tab.page.waitForFunction(() =>
      document.querySelector('[aria-label="Audit log"] tbody')?.textContent?.includes('user.deleted'),
    );
    await fill(tab.page, 'Target id', revokedId);
    await click(tab.page, 'Filter');
    const targets = () =>
      tab.page.$$eval('[aria-label="Audit log"] tbody tr', (rows) =>
        rows.map((r) => (r.children[3] as HTMLElement).textContent ?? ''),
      );
    await tab.page.waitForFunction(
      (id) =>
        [...document.querySelectorAll('[aria-label="Audit log"] tbody tr')].every((r) =>
          r.children[3]?.textContent?.includes(id),
        ),
      {},
      revokedId,
    );
    const rows = await targets();
    expect(rows.length).toBeGreaterThan(0);
    const expected = await api<{ events: unknown[] }>('GET', `/api/audit?targetId=${revokedId}&limit=200`);
    expect(rows).toHaveLength(expected.body.events.length);

    await go('/admin/audit', 'Audit log');
    await choose(tab.page, 'Organization', branchId);
    await click(tab.page, 'Filter');
    const inBranch = await api<{ events: { id: string }[] }>('GET', `/api/audit?orgId=${branchId}&limit=200`);
    expect(inBranch.body.events.length).toBeGreaterThan(0); // the move of Pat, at least
    await tab.page.waitForFunction(
      (n) => document.querySelectorAll('[aria-label="Audit log"] tbody tr').length === n,
      {},
      inBranch.body.events.length,
    );
    await expectAccessible(tab.page, 'the filtered audit log');
    await screenshot(tab.page, 'audit-desktop');
  });

  it('broke no Content-Security-Policy rule and threw no error on the way', () => {
    expect(tab.problems).toEqual([]);
  });
});
