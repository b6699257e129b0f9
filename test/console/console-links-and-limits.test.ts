/**
 * The console's other mailed links and its limits, in a real browser: a self-registration's
 * verification link and a forgotten password's reset link, each opened from the outbox and finished
 * in the page; plan usage shown where each limit applies; and no way to add a device for someone
 * whose role cannot. Every outcome is checked through the API too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, PASSWORD, readOutbox, tokenFromOutbox } from '../accounts/account-support.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import {
  click,
  DESKTOP,
  expectAccessible,
  fill,
  heading,
  launchBrowser,
  PHONE,
  SKIP_BROWSER,
  type TestBrowser,
  type TestPage,
} from './browser-harness.js';

const CLIENT = { email: 'client@example.com', name: 'Client One' };
const NEW_PASSWORD = 'a brand new long password';

describe.skipIf(SKIP_BROWSER)('mailed links and plan limits in a real browser', { timeout: 90_000 }, () => {
  let gw: TestGateway;
  let chrome: TestBrowser;
  let admin: string;
  let rootId: string;
  const pages: TestPage[] = [];

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    rootId = (await gw.api<{ org: { id: string } }>('GET', '/api/me', undefined, admin)).body.org.id;
    // Self-registration is off until a maker opens it.
    const open = { registration: { enabled: true } };
    expect((await gw.api('PATCH', `/api/orgs/${rootId}`, open, admin)).status).toBe(200);
    chrome = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await chrome?.close();
    await gw?.stop();
  });

  /** A browser of its own: nobody signed in there. */
  const freshPage = async (viewport: typeof PHONE | typeof DESKTOP = PHONE) => {
    const tab = await chrome.page(viewport, 'incognito');
    pages.push(tab);
    return tab;
  };

  /** The link the outbox holds for `to`, as the person would click it. */
  const mailedLink = async (to: string, kind: string) => {
    await tokenFromOutbox(gw.dataDir, to, kind); // waits for the message to be written
    const mail = (await readOutbox(gw.dataDir)).filter(
      (m) => m.to.includes(to) && m.text.includes(`/${kind}#`),
    );
    const link = new RegExp(`(http://\\S+/${kind}#token=[A-Za-z0-9_-]+)`).exec(mail.at(-1)?.text ?? '')?.[1];
    expect(link?.startsWith(`${gw.baseUrl}/${kind}#token=`)).toBe(true);
    return link!;
  };

  it('refuses a sign-up where the organization has not opened sign-ups, in the page', async () => {
    const tab = await freshPage();
    await tab.page.goto(`${gw.baseUrl}/sign-up?org=org_doesnotexist`);
    await fill(tab.page, 'Email', 'nobody@example.com');
    await click(tab.page, 'Send me the link');
    await tab.page.waitForSelector('[role="alert"]');
    await tab.page.goto(`${gw.baseUrl}/sign-up`);
    await tab.page.waitForFunction(() =>
      document.querySelector('main')?.textContent?.includes('sign-up link'),
    );
  });

  const signIn = async (tab: TestPage, email: string, password: string) => {
    await tab.page.goto(`${gw.baseUrl}/sign-in`);
    await fill(tab.page, 'Email', email);
    await fill(tab.page, 'Password', password);
    await click(tab.page, 'Sign in');
    await heading(tab.page, 'Devices');
  };

  it("signs up from the maker's sign-up link and finishes from the mailed verification link", async () => {
    const tab = await freshPage();
    await tab.page.goto(`${gw.baseUrl}/sign-up?org=${rootId}`);
    await heading(tab.page, 'Sign up');
    await expectAccessible(tab.page, 'the sign-up page');
    await fill(tab.page, 'Email', CLIENT.email);
    await click(tab.page, 'Send me the link');
    await tab.page.waitForFunction(
      (email) => document.querySelector('main')?.textContent?.includes(`on its way to ${email}`),
      {},
      CLIENT.email,
    );
    const link = await mailedLink(CLIENT.email, 'verify-email');

    await tab.page.goto(link);
    await heading(tab.page, 'Verify your email');
    // The token left the address bar as soon as the page read it.
    expect(tab.page.url()).toBe(`${gw.baseUrl}/verify-email`);
    await expectAccessible(tab.page, 'the verify-email page');
    await fill(tab.page, 'Your name', CLIENT.name);
    await fill(tab.page, 'Password', PASSWORD);
    await click(tab.page, 'Finish my account');
    await heading(tab.page, 'Devices');

    const token = await gw.login(CLIENT.email, PASSWORD);
    const me = await gw.api<{ user: { name: string; status: string; type: string } }>(
      'GET',
      '/api/me',
      undefined,
      token,
    );
    expect(me.body.user).toEqual(
      expect.objectContaining({ name: CLIENT.name, status: 'active', type: 'client' }),
    );
    expect(tab.problems).toEqual([]);
  });

  it('resets a forgotten password from the mailed link, and the old one stops working', async () => {
    const tab = await freshPage();
    await tab.page.goto(`${gw.baseUrl}/forgot-password`);
    await fill(tab.page, 'Email', CLIENT.email);
    await click(tab.page, 'Send the link');
    await tab.page.waitForFunction(
      () => document.querySelector('[role="status"]')?.textContent?.includes('is on its way'),
      { timeout: 30_000 },
    );
    const link = await mailedLink(CLIENT.email, 'reset-password');

    await tab.page.goto(link);
    await heading(tab.page, 'Choose a new password');
    expect(tab.page.url()).toBe(`${gw.baseUrl}/reset-password`);
    await expectAccessible(tab.page, 'the reset-password page');
    await fill(tab.page, 'New password', NEW_PASSWORD);
    await click(tab.page, 'Change password');
    await tab.page.waitForFunction(() => document.body.textContent?.includes('Your password is changed'), {
      timeout: 30_000,
    });

    const old = await gw.api<{ error: { code: string } }>('POST', '/api/auth/login', {
      email: CLIENT.email,
      password: PASSWORD,
    });
    expect(old.status).toBe(401);
    await signIn(tab, CLIENT.email, NEW_PASSWORD);
    // The link was single-use: opened again, it is refused in the page.
    await tab.page.goto(link);
    await heading(tab.page, 'Choose a new password');
    await fill(tab.page, 'New password', 'yet another long password');
    await click(tab.page, 'Change password');
    await tab.page.waitForFunction(
      () => document.querySelector('[role="alert"]')?.textContent?.includes('LINK_INVALID'),
      {
        timeout: 30_000,
      },
    );
    expect(tab.problems).toEqual([]);
  });

  it('shows plan usage where each limit applies, and when a limit is reached', async () => {
    // Forced: the free plan has no self-registration, which is open here.
    const downgrade = { plan: 'free', force: true };
    expect((await gw.api('PATCH', `/api/orgs/${rootId}`, downgrade, admin)).status).toBe(200);
    await gw.api(
      'POST',
      '/api/templates',
      { name: 'Lamp', datastreams: [{ name: 'on', type: 'int' }] },
      admin,
    );
    const tab = await freshPage(DESKTOP);
    await signIn(tab, 'admin@example.com', 'correct horse battery');
    const usage = async (path: string, title: string, limit: string) => {
      await tab.page.goto(`${gw.baseUrl}${path}`);
      await heading(tab.page, title);
      const handle = await tab.page.waitForSelector(`.plan-usage[data-limit="${limit}"]`, {
        timeout: 30_000,
      });
      return (await handle!.evaluate((p) => p.textContent ?? '')).trim();
    };
    // The tree holds the admin and the registered client: over the free plan's one person.
    expect(await usage('/admin/users', 'People', 'users')).toBe(
      '2 of 1 people on the free plan: the limit is reached. Upgrade the plan or remove some first.',
    );
    await expectAccessible(tab.page, 'the people page with its plan usage');
    expect(await usage('/admin/templates', 'Products', 'templates')).toBe('1 of 2 products on the free plan');
    expect(await usage('/admin/static-tokens', 'Static tokens', 'devices')).toBe(
      '0 of 5 devices on the free plan',
    );
    expect(await usage('/devices', 'Devices', 'devices')).toBe('0 of 5 devices on the free plan');
    expect(await usage('/admin/orgs', 'Organizations', 'subOrgs')).toMatch(
      /^\d+ of 0 sub-organizations on the free plan/,
    );
    const api = await gw.api<{ plan: string; limits: Record<string, { used: number; max: number }> }>(
      'GET',
      `/api/orgs/${rootId}/usage`,
      undefined,
      admin,
    );
    expect(api.body.plan).toBe('free');
    expect(api.body.limits).toEqual(
      expect.objectContaining({
        users: { used: 2, max: 1 },
        templates: { used: 1, max: 2 },
        devices: { used: 0, max: 5 },
      }),
    );
    expect(tab.problems).toEqual([]);
  });

  it('offers no way to add a device to someone whose role cannot', async () => {
    // Back on the operator's plan, the org's User role loses devices.provision; someone joins as a User.
    expect((await gw.api('PATCH', `/api/orgs/${rootId}`, { plan: 'enterprise' }, admin)).status).toBe(200);
    const roles = await gw.api<{ roles: { key: string; permissions: string[] }[] }>(
      'GET',
      `/api/orgs/${rootId}/roles`,
      undefined,
      admin,
    );
    const user = roles.body.roles.find((r) => r.key === 'user')!;
    expect(user.permissions).toContain('devices.provision');
    const permissions = user.permissions.filter((p) => p !== 'devices.provision');
    expect((await gw.api('PATCH', `/api/orgs/${rootId}/roles/user`, { permissions }, admin)).status).toBe(
      200,
    );
    const viewer = await addUser(gw, admin, 'viewer@example.com', 'user');
    const me = await gw.api<{ permissions: string[] }>('GET', '/api/me', undefined, viewer.token);
    expect(me.body.permissions).not.toContain('devices.provision');

    const tab = await freshPage();
    await signIn(tab, 'viewer@example.com', PASSWORD);
    const nav = await tab.page.$$eval('#main-nav a', (links) => links.map((a) => a.textContent));
    expect(nav).not.toContain('Add a device');
    expect(await tab.page.$$eval('main a', (links) => links.map((a) => a.textContent))).not.toContain(
      'Add a device',
    );
    await tab.page.goto(`${gw.baseUrl}/add-device`);
    await heading(tab.page, 'Add a device');
    await tab.page.waitForFunction(() =>
      document.body.textContent?.includes('Your role does not include adding devices'),
    );
    expect(await tab.page.$('form')).toBeNull();
    expect(tab.problems).toEqual([]);
  });
});
