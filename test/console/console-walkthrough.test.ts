/**
 * The README's browser walk-through in a real browser (Debian's Chromium, headless): a new gateway
 * prints a set-up link; the person opens it and creates the first admin, makes a product, mints a
 * static-token device and claims it by its code, watches its values arrive live from a device (a
 * real MQTT client standing in for hardware) and sends it a value, then invites someone, who accepts
 * from the mailed link in the outbox. Every step is checked through the API too; every page is
 * checked for accessibility (axe-core) and for Content-Security-Policy violations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupLink } from '../../gateway/main.js';
import { readOutbox } from '../accounts/account-support.js';
import { connectDevice, type TestDevice } from '../devices/device-fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import {
  choose,
  click,
  DESKTOP,
  expectAccessible,
  fill,
  heading,
  launchBrowser,
  PHONE,
  SKIP_BROWSER,
  screenshot,
  type TestBrowser,
  type TestPage,
} from './browser-harness.js';

const OWNER = { email: 'owner@example.com', password: 'a long enough password' };
const FRIEND = { email: 'friend@example.com', password: 'another long password' };

describe.skipIf(SKIP_BROWSER)('web console walk-through in a real browser', { timeout: 90_000 }, () => {
  let gw: TestGateway;
  let chrome: TestBrowser;
  let tab: TestPage;
  let device: TestDevice | undefined;
  let ownerToken: string;
  let templateId: string;
  let deviceId: string;
  let deviceToken: string;

  beforeAll(async () => {
    gw = await startTestGateway({ admin: { email: '', password: '' } });
    chrome = await launchBrowser();
    tab = await chrome.page(PHONE);
  }, 60_000);

  afterAll(async () => {
    await device?.client.endAsync().catch(() => undefined);
    await chrome?.close();
    await gw?.stop();
  });

  const go = async (path: string, title: string) => {
    await tab.page.goto(`${gw.baseUrl}${path}`);
    await heading(tab.page, title);
  };

  it('creates the first admin from the set-up link the gateway printed', async () => {
    const firstRun = gw.gateway.firstRun;
    expect(firstRun?.state).toBe('setup-required');
    const link = setupLink(gw.baseUrl, firstRun?.state === 'setup-required' ? firstRun.setupCode : '');
    await tab.page.goto(link);
    await heading(tab.page, 'Set up Tether');
    // The one-time code left the address bar as soon as the page read it.
    expect(tab.page.url()).toBe(`${gw.baseUrl}/setup`);
    await expectAccessible(tab.page, 'the set-up page');
    await fill(tab.page, 'Organization name', 'Acme Labs');
    await fill(tab.page, 'Your email', OWNER.email);
    await fill(tab.page, 'Password', OWNER.password);
    await click(tab.page, 'Create administrator');
    await heading(tab.page, 'Devices');
    expect(new URL(tab.page.url()).pathname).toBe('/devices');
    await expectAccessible(tab.page, 'the empty device list');
    ownerToken = await gw.login(OWNER.email, OWNER.password);
    const me = await gw.api<{ org: { name: string }; user: { roleId: string } }>(
      'GET',
      '/api/me',
      undefined,
      ownerToken,
    );
    expect(me.body.org.name).toBe('Acme Labs');
    expect(me.body.user.roleId).toBe('admin');
  });

  it('keeps the session across a reload (refresh cookie) and makes a product', async () => {
    await go('/admin/templates', 'Products');
    await fill(tab.page, 'Product name', 'Thermostat');
    await fill(tab.page, 'Name', 'temp');
    await fill(tab.page, 'Min', '-40');
    await fill(tab.page, 'Max', '125');
    await click(tab.page, 'Create product');
    await tab.page.waitForFunction(() => document.body.textContent?.includes('TMPL'));
    await expectAccessible(tab.page, 'the products page');
    const list = await gw.api<{
      templates: { id: string; name: string; datastreams: { name: string; min: number }[] }[];
    }>('GET', '/api/templates', undefined, ownerToken);
    const made = list.body.templates.find((t) => t.name === 'Thermostat');
    expect(made?.datastreams).toEqual([
      expect.objectContaining({ name: 'temp', type: 'double', min: -40, max: 125 }),
    ]);
    templateId = made!.id;
  });

  it('mints a static-token device and claims it by its code', async () => {
    await go('/admin/static-tokens', 'Static tokens');
    await choose(tab.page, 'Product', templateId);
    await fill(tab.page, 'How many', '1');
    const minted = tab.page.waitForResponse(
      (r) => r.url().endsWith('/api/static-tokens') && r.request().method() === 'POST',
    );
    await click(tab.page, 'Mint');
    const body = (await (await minted).json()) as {
      devices: { deviceId: string; token: string; claimCode: string }[];
    };
    const [one] = body.devices;
    deviceId = one!.deviceId;
    deviceToken = one!.token;
    // The page shows the claim code the label will carry.
    await tab.page.waitForFunction((code) => document.body.textContent?.includes(code), {}, one!.claimCode);
    await expectAccessible(tab.page, 'the static-token page after a mint');
    await screenshot(tab.page, 'static-tokens-phone');

    await go('/add-device', 'Add a device');
    await expectAccessible(tab.page, 'the add-device page');
    await fill(tab.page, 'Claim code', one!.claimCode.toLowerCase());
    await click(tab.page, 'Claim device');
    await tab.page.waitForFunction((id) => location.pathname === `/devices/${id}`, {}, deviceId);
    const claimed = await gw.api<{ ownerId: string; status: string }>(
      'GET',
      `/api/devices/${deviceId}`,
      undefined,
      ownerToken,
    );
    const me = await gw.api<{ user: { id: string } }>('GET', '/api/me', undefined, ownerToken);
    expect(claimed.body.ownerId).toBe(me.body.user.id);
  });

  it('shows the device’s values live and sends it a value', async () => {
    device = await connectDevice(gw.brokerUrl, deviceToken);
    await device.client.publishAsync('info/mcu', JSON.stringify({ tmpl: templateId, ver: '1.0.0' }));
    await device.client.publishAsync('ds/temp', '21.5');
    // Pushed to the open page, no reload.
    await tab.page.waitForFunction(
      () => document.querySelector('output[data-datastream="temp"]')?.textContent === '21.5',
      { timeout: 10_000 },
    );
    await tab.page.waitForFunction(() =>
      document.querySelector('.device-summary')?.textContent?.includes('online'),
    );
    await expectAccessible(tab.page, 'the device page');
    await screenshot(tab.page, 'device-phone');

    await fill(tab.page, 'New temp (-40 to 125)', '22.5');
    await click(tab.page, 'Send');
    expect(await device.next('downlink/ds/temp', 5000)).toBe('22.5');
    await tab.page.waitForFunction(() => document.body.textContent?.includes('Sent.'));

    // A third-party page's EventSource cannot send the token: a single-use stream ticket opens it.
    const ticket = await gw.api<{ url: string }>('POST', '/api/stream/tickets', { deviceId }, ownerToken);
    await tab.page.evaluate((url) => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      const source = new EventSource(url);
      source.addEventListener('snapshot', () => seen.push('snapshot'));
      source.addEventListener('value', (e) => {
        seen.push(`value ${(e as MessageEvent).data}`);
        source.close();
      });
    }, ticket.body.url);
    await tab.page.waitForFunction(() => (window as unknown as { seen: string[] }).seen.includes('snapshot'));
    await device.client.publishAsync('ds/temp', '21.75');
    await tab.page.waitForFunction(() =>
      (window as unknown as { seen: string[] }).seen.some((e) => e.includes('"value":21.75')),
    );

    const wide = await chrome.page(DESKTOP);
    await wide.page.goto(`${gw.baseUrl}/devices`);
    await heading(wide.page, 'Devices');
    await wide.page.waitForFunction(
      () => document.querySelector('dd[data-datastream="temp"]')?.textContent !== undefined,
    );
    await device.client.publishAsync('ds/temp', '23');
    await wide.page.waitForFunction(
      () => document.querySelector('dd[data-datastream="temp"]')?.textContent === '23',
    );
    await expectAccessible(wide.page, 'the device list with a device');
    await screenshot(wide.page, 'devices-desktop');
    expect(wide.problems).toEqual([]);
    await wide.page.close();
  });

  it('invites someone, who accepts from the mailed link and lands signed in', async () => {
    await go('/admin/users', 'People');
    await fill(tab.page, 'Email', FRIEND.email);
    await choose(tab.page, 'Role', 'user');
    await click(tab.page, 'Send invitation');
    await tab.page.waitForFunction(
      (e) => document.body.textContent?.includes(`Invitation mailed to ${e}`),
      {},
      FRIEND.email,
    );
    await expectAccessible(tab.page, 'the people page');
    const invitations = await gw.api<{ invitations: { email: string; status: string }[] }>(
      'GET',
      '/api/invitations',
      undefined,
      ownerToken,
    );
    expect(invitations.body.invitations).toEqual([
      expect.objectContaining({ email: FRIEND.email, status: 'pending' }),
    ]);

    const mail = (await readOutbox(gw.dataDir)).find((m) => m.to.includes(FRIEND.email));
    const link = /(http:\/\/\S+\/invitation#token=[A-Za-z0-9_-]+)/.exec(mail?.text ?? '')?.[1];
    expect(link?.startsWith(`${gw.baseUrl}/invitation#token=`)).toBe(true);

    // The friend's own browser: nobody is signed in there.
    const friend = await chrome.page(PHONE, 'incognito');
    await friend.page.goto(link!);
    await heading(friend.page, 'Accept your invitation');
    await expectAccessible(friend.page, 'the invitation page');
    await fill(friend.page, 'Your name', 'Friend');
    await fill(friend.page, 'Password', FRIEND.password);
    await click(friend.page, 'Create my account');
    await heading(friend.page, 'Devices');
    expect(friend.problems).toEqual([]);
    const token = await gw.login(FRIEND.email, FRIEND.password);
    const me = await gw.api<{ user: { name: string; status: string; roleId: string } }>(
      'GET',
      '/api/me',
      undefined,
      token,
    );
    expect(me.body.user).toEqual(
      expect.objectContaining({ name: 'Friend', status: 'active', roleId: 'user' }),
    );
    // A plain User sees no admin pages in the menu.
    const nav = await friend.page.$$eval('#main-nav a', (links) => links.map((a) => a.textContent));
    expect(nav).not.toContain('People');
  });

  it('broke no Content-Security-Policy rule and threw no error on the way', () => {
    expect(tab.problems).toEqual([]);
  });
});
