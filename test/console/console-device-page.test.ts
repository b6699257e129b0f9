/**
 * A device's page in a real browser, as its owner uses it: a control for each datastream type
 * (slider, switch, choice, text, location) whose value reaches the device over MQTT; rename;
 * share with view, then control, then stop; what a person it is shared with sees; restart, ping and
 * reconfigure; re-provision and delete, each behind a confirmation; transfer; and its history.
 * Every outcome is checked through the API or on the device's own MQTT connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, PASSWORD } from '../accounts/account-support.js';
import {
  activeDevice,
  connackCode,
  connectDevice,
  createTemplate,
  type TestDevice,
} from '../devices/device-fixtures.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import {
  choose,
  click,
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

const FRIEND = 'friend@example.com';
const BUYER = 'buyer@example.com';

describe.skipIf(SKIP_BROWSER)('a device’s page in a real browser', { timeout: 90_000 }, () => {
  let gw: TestGateway;
  let chrome: TestBrowser;
  let tab: TestPage;
  let admin: string;
  let deviceId: string;
  let deviceToken: string;
  let device: TestDevice;
  let friend: { id: string; token: string };
  let buyer: { id: string; token: string };
  const extra: TestDevice[] = [];

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.login();
    const templateId = await createTemplate(gw, admin);
    const minted = await activeDevice(gw, admin, templateId);
    deviceId = minted.deviceId;
    deviceToken = minted.token;
    device = await connectDevice(gw.brokerUrl, deviceToken);
    friend = await addUser(gw, admin, FRIEND, 'user');
    buyer = await addUser(gw, admin, BUYER, 'user');
    chrome = await launchBrowser();
    tab = await chrome.page(PHONE);
    await tab.page.goto(`${gw.baseUrl}/sign-in`);
    await fill(tab.page, 'Email', ADMIN.email);
    await fill(tab.page, 'Password', ADMIN.password);
    await click(tab.page, 'Sign in');
    await heading(tab.page, 'Devices');
  }, 60_000);

  afterAll(async () => {
    for (const d of [device, ...extra]) await d?.client.endAsync().catch(() => undefined);
    await chrome?.close();
    await gw?.stop();
  });

  const api = <T>(method: string, path: string, body?: unknown, token = admin) =>
    gw.api<T>(method, path, body, token);
  const text = (t: TestPage = tab) => t.page.$eval('main', (m) => m.textContent ?? '');
  const waitForText = (wanted: string, t: TestPage = tab) =>
    t.page.waitForFunction((w) => document.querySelector('main')?.textContent?.includes(w), {}, wanted);
  const send = (name: string) => tab.page.click(`form[aria-label="Send ${name}"] button[type="submit"]`);
  const openDevice = async (t: TestPage = tab) => {
    await t.page.goto(`${gw.baseUrl}/devices/${deviceId}`);
    await t.page.waitForSelector('output[data-datastream="temp"]');
  };

  it('pages through a thousand devices and filters them by state and product', async () => {
    const other = await api<{ id: string }>('POST', '/api/templates', { name: 'Sensor', datastreams: [] });
    for (const count of [500, 500, 100]) {
      const made = await api('POST', '/api/static-tokens', { templateId: other.body.id, count });
      expect(made.status).toBe(201);
    }
    const pager = () => tab.page.$eval('nav[aria-label="Pages"] span', (s) => s.textContent ?? '');
    const cards = () => tab.page.$$eval('ul[aria-label="Devices"] > li', (items) => items.length);
    await tab.page.goto(`${gw.baseUrl}/devices`);
    await tab.page.waitForFunction(() =>
      document.querySelector('nav[aria-label="Pages"]')?.textContent?.includes('1101 devices'),
    );
    expect(await pager()).toBe('Page 1 of 23 · 1101 devices');
    expect(await cards()).toBe(50);
    await click(tab.page, 'Next');
    await tab.page.waitForFunction(() =>
      document.querySelector('nav[aria-label="Pages"] span')?.textContent?.startsWith('Page 2'),
    );
    expect(new URL(tab.page.url()).search).toBe('?page=1');
    expect(await cards()).toBe(50);

    await choose(tab.page, 'State', 'active');
    // Not "includes('1 device')": the page before the filter says "1101 devices".
    await tab.page.waitForFunction(
      () => document.querySelectorAll('ul[aria-label="Devices"] > li').length === 1,
    );
    expect(await cards()).toBe(1);
    expect(await tab.page.$('nav[aria-label="Pages"]')).toBeNull();

    await choose(tab.page, 'State', 'unclaimed');
    await choose(tab.page, 'Product', other.body.id);
    await tab.page.waitForFunction(() =>
      document.querySelector('nav[aria-label="Pages"]')?.textContent?.includes('1100 devices'),
    );
    expect(await pager()).toBe('Page 1 of 22 · 1100 devices');
    const listed = await api<{ total: number }>(
      'GET',
      `/api/devices?status=unclaimed&templateId=${other.body.id}&limit=1`,
    );
    expect(listed.body.total).toBe(1100);
    await expectAccessible(tab.page, 'a filtered page of a long device list');
  });

  it('offers the control each datastream type calls for, and each one reaches the device', async () => {
    await openDevice();
    const controls = await tab.page.$$eval('li[data-control]', (items) =>
      Object.fromEntries(
        items.map((li) => [
          li.querySelector('.datastream-name')?.textContent,
          li.getAttribute('data-control'),
        ]),
      ),
    );
    expect(controls).toEqual({
      temp: 'slider',
      power: 'switch',
      mode: 'choice',
      label: 'text',
      where: 'location',
    });

    // The slider, by keyboard: End moves it to the top of the range, and the number follows it.
    await tab.page.focus('input[aria-label="Slide temp"]');
    await tab.page.keyboard.press('End');
    await tab.page.waitForFunction(() =>
      [...document.querySelectorAll('input[type="number"]')].some(
        (i) => (i as HTMLInputElement).value === '125',
      ),
    );
    await send('temp');
    expect(await device.next('downlink/ds/temp', 15_000)).toBe('125');
    await fill(tab.page, 'New temp (-40 to 125)', '21.5');
    await send('temp');
    expect(await device.next('downlink/ds/temp', 15_000)).toBe('21.5');

    // The switch sends as soon as it is flipped, and shows the state the gateway now holds.
    await tab.page.click('input[role="switch"]');
    expect(await device.next('downlink/ds/power', 15_000)).toBe('1');
    await tab.page.waitForFunction(
      () => (document.querySelector('input[role="switch"]') as HTMLInputElement).checked,
    );

    await choose(tab.page, 'New mode', 'heat');
    await send('mode');
    expect(await device.next('downlink/ds/mode', 15_000)).toBe('heat');

    await fill(tab.page, 'New label', 'Kitchen');
    await send('label');
    expect(await device.next('downlink/ds/label', 15_000)).toBe('Kitchen');

    await fill(tab.page, 'Longitude of where', '24.94');
    await fill(tab.page, 'Latitude of where', '60.17');
    await send('where');
    expect(await device.next('downlink/ds/where', 15_000)).toBe('24.94\u000060.17'); // Blynk's NUL between the values of one write
    await tab.page.waitForFunction(
      () => document.querySelector('output[data-datastream="where"]')?.textContent === '24.94, 60.17',
    );

    // A value the product refuses is explained beside the control, and nothing is sent.
    await tab.page.$eval('form[aria-label="Send temp"] input[type="number"]', (i) => {
      (i as HTMLInputElement).removeAttribute('max'); // past the browser's own check, to the gateway's
    });
    await fill(tab.page, 'New temp (-40 to 125)', '500');
    await send('temp');
    await waitForText('500 is above the maximum 125.');

    const values = (
      await api<{ values: Record<string, { value: unknown }> }>('GET', `/api/devices/${deviceId}`)
    ).body.values;
    expect(values.temp?.value).toBe(21.5);
    expect(values.power?.value).toBe(1);
    expect(values.mode?.value).toBe('heat');
    expect(values.label?.value).toBe('Kitchen');
    expect(values.where?.value).toEqual([24.94, 60.17]);
    await expectAccessible(tab.page, 'the device page with every kind of control');
    await screenshot(tab.page, 'device-controls-phone');
  });

  it('renames the device', async () => {
    await openDevice();
    await fill(tab.page, 'Device name', 'Living room heater');
    await click(tab.page, 'Rename');
    await heading(tab.page, 'Living room heater');
    expect((await api<{ name: string }>('GET', `/api/devices/${deviceId}`)).body.name).toBe(
      'Living room heater',
    );
  });

  it('shares it to view, then to control, then stops sharing', async () => {
    await fill(tab.page, "Person's email", FRIEND);
    await choose(tab.page, 'Access', 'view');
    await click(tab.page, 'Share');
    await tab.page.waitForSelector(`li[data-share="${FRIEND}"]`);
    const shares = () =>
      api<{ shares: { email: string; level: string; id: string }[] }>(
        'GET',
        `/api/devices/${deviceId}/shares`,
      );
    expect((await shares()).body.shares).toEqual([expect.objectContaining({ email: FRIEND, level: 'view' })]);

    // What the friend sees: the values, and no control.
    const theirs = await chrome.page(PHONE, 'incognito');
    await theirs.page.goto(`${gw.baseUrl}/sign-in?next=${encodeURIComponent(`/devices/${deviceId}`)}`);
    await fill(theirs.page, 'Email', FRIEND);
    await fill(theirs.page, 'Password', PASSWORD);
    await click(theirs.page, 'Sign in');
    await heading(theirs.page, 'Living room heater');
    await waitForText('Shared with you to view.', theirs);
    expect(await theirs.page.$$('form[aria-label^="Send "]')).toEqual([]);
    expect(await text(theirs)).not.toContain('Sharing');
    expect(
      (await api('PUT', `/api/devices/${deviceId}/datastreams/mode`, { value: 'cool' }, friend.token)).status,
    ).toBe(403);

    await click(tab.page, `Let ${FRIEND} control it`);
    await tab.page.waitForFunction(
      (e) => document.querySelector(`li[data-share="${e}"]`)?.textContent?.includes('view and control'),
      {},
      FRIEND,
    );
    expect((await shares()).body.shares).toEqual([
      expect.objectContaining({ email: FRIEND, level: 'control' }),
    ]);
    await theirs.page.reload();
    await waitForText('Shared with you to view and control.', theirs);
    await theirs.page.waitForSelector('form[aria-label="Send mode"]');
    expect(
      (await api('PUT', `/api/devices/${deviceId}/datastreams/mode`, { value: 'cool' }, friend.token)).status,
    ).toBe(200);
    expect(await device.next('downlink/ds/mode', 15_000)).toBe('cool');
    await expectAccessible(tab.page, 'the device page with a share');

    await click(tab.page, `Stop sharing with ${FRIEND}`);
    await waitForText('Not shared with anyone.');
    expect((await shares()).body.shares).toEqual([]);
    expect((await api('GET', `/api/devices/${deviceId}`, undefined, friend.token)).status).toBe(404);
    expect(theirs.problems).toEqual([]);
    await theirs.page.close();
  });

  it('restarts, pings and reconfigures the device, and says so when it is offline', async () => {
    await click(tab.page, 'Restart');
    await waitForText('The device was told to restart.');
    expect(await device.next('downlink/reboot', 15_000)).toBe('');
    await click(tab.page, 'Ping');
    await waitForText('A ping was sent to the device.');
    expect(await device.next('downlink/ping', 15_000)).toBe('');
    await click(tab.page, 'Reconfigure Wi-Fi');
    await waitForText('The device was told to return to provisioning mode.');
    expect(await device.next('downlink/reconfigure', 15_000)).toBe('');

    await device.client.endAsync();
    await tab.page.waitForFunction(() =>
      document.querySelector('.device-summary')?.textContent?.includes('offline'),
    );
    await click(tab.page, 'Restart');
    await waitForText('The device is offline: nothing was sent.');
  });

  it('re-provisions only after confirming: the new token connects, the old one no longer does', async () => {
    await click(tab.page, 'Re-provision…');
    await tab.page.waitForSelector('dialog[open]');
    await expectAccessible(tab.page, 'the re-provision confirmation');
    await tab.page.click('dialog[open] .button-quiet'); // Cancel
    await tab.page.waitForFunction(() => !document.querySelector('dialog[open]'));
    expect(await connackCode(gw.brokerUrl, { username: 'device', password: deviceToken })).toBe(0);

    await click(tab.page, 'Re-provision…');
    await click(tab.page, 'Re-provision');
    const fresh = await (await tab.page.waitForSelector('code.secret'))!.evaluate((c) => c.textContent ?? '');
    expect(fresh).not.toBe(deviceToken);
    expect(await connackCode(gw.brokerUrl, { username: 'device', password: deviceToken })).not.toBe(0);
    const reconnected = await connectDevice(gw.brokerUrl, fresh);
    extra.push(reconnected);
    device = reconnected;
  });

  it('shows its history', async () => {
    await openDevice();
    await tab.page.waitForFunction(() =>
      document.querySelector('[aria-label="Device history"]')?.textContent?.includes('device.renamed'),
    );
    const history = await tab.page.$eval('[aria-label="Device history"]', (t) => t.textContent ?? '');
    for (const action of [
      'device.datastream-written',
      'device.renamed',
      'device.shared',
      'device.unshared',
      'device.reboot-requested',
      'device.reprovisioned',
    ]) {
      expect(history, action).toContain(action);
    }
  });

  it('transfers it to another person', async () => {
    await choose(tab.page, 'New owner', `user:${buyer.id}`);
    await click(tab.page, 'Transfer');
    // The new owner by email (the admin may list people), not by id.
    await tab.page.waitForFunction(
      (email) => document.querySelector('dd[data-owner]')?.textContent === email,
      {},
      BUYER,
    );
    const moved = await api<{ ownerId: string }>('GET', `/api/devices/${deviceId}`);
    expect(moved.body.ownerId).toBe(buyer.id);
    expect((await api('GET', `/api/devices/${deviceId}`, undefined, buyer.token)).status).toBe(200);
  });

  it('deletes it only after confirming, and the device is told to wipe itself', async () => {
    await click(tab.page, 'Delete…');
    await tab.page.waitForSelector('dialog[open]');
    await expectAccessible(tab.page, 'the delete confirmation');
    await click(tab.page, 'Delete device');
    await heading(tab.page, 'Devices');
    expect((await api('GET', `/api/devices/${deviceId}`)).status).toBe(404);
    expect(await device.next('downlink/wipe', 15_000)).toBeDefined();
  });

  it('broke no Content-Security-Policy rule and threw no error on the way', () => {
    expect(tab.problems).toEqual([]);
  });
});
