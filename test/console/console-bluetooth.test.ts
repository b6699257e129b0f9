/**
 * Web Bluetooth provisioning from the console, end to end in a real browser: Chromium's Bluetooth
 * emulation (DevTools BluetoothEmulation) presents a peripheral whose GATT reads and writes are the
 * firmware simulator's own protocomm device; the page runs the activation flow `tether provision`
 * runs, in the browser (WebCrypto, BigInt SRP), against a real gateway and broker. The person picks
 * the device in the browser's chooser, sees each step, corrects a refused Wi-Fi passphrase in the
 * same session, and ends with the device active and theirs — checked through the API.
 */
import type { CDPSession } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceHost } from '../../firmware-sim/device-host.js';
import { ACTIVATION_STEPS } from '../../provisioning/companion/activation-flow.js';
import { ESP_PROV_EXAMPLE_SERVICE_UUID } from '../../provisioning/transport/ble-gatt-layout.js';
import { ADMIN, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { HOME_WIFI, startSimDevice } from '../support/sim-device.js';
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
import { EmulatedBlePeripheral, resetBluetoothEmulation } from './emulated-ble-peripheral.js';

describe.skipIf(SKIP_BROWSER)('Web Bluetooth provisioning in a real browser', { timeout: 120_000 }, () => {
  let gw: TestGateway;
  let chrome: TestBrowser;
  let tab: TestPage;
  let cdp: CDPSession;
  let token: string;
  let myId: string;
  const templates = { sec2: '', sec1: '' };
  const hosts: DeviceHost[] = [];
  const peripherals: EmulatedBlePeripheral[] = [];
  let nextAddress = 0x10;

  beforeAll(async () => {
    gw = await startTestGateway();
    token = await gw.login();
    myId = (await gw.api<{ user: { id: string } }>('GET', '/api/me', undefined, token)).body.user.id;
    for (const [key, minSecurity] of [
      ['sec2', 2],
      ['sec1', 1],
    ] as const) {
      const made = await gw.api<{ id: string }>(
        'POST',
        '/api/templates',
        { name: `Plug ${key}`, datastreams: [{ name: 'temp', type: 'double' }], minSecurity },
        token,
      );
      templates[key] = made.body.id;
    }
    chrome = await launchBrowser();
    cdp = await chrome.browser.target().createCDPSession();
    tab = await chrome.page(PHONE);
    await tab.page.goto(`${gw.baseUrl}/sign-in`);
    await fill(tab.page, 'Email', ADMIN.email);
    await fill(tab.page, 'Password', ADMIN.password);
    await click(tab.page, 'Sign in');
    await heading(tab.page, 'Devices');
  }, 90_000);

  afterEach(async () => {
    for (const p of peripherals.splice(0)) p.stop();
    for (const host of hosts.splice(0)) await host.stop();
  });

  afterAll(async () => {
    await cdp?.detach().catch(() => undefined);
    await chrome?.close();
    await gw?.stop();
  });

  /** A simulated device, in provisioning mode, within Bluetooth range of the browser. */
  const deviceInRange = async (templateId: string, security: 1 | 2) => {
    const host = await startSimDevice({ templateId, security });
    hosts.push(host);
    const address = `09:09:09:09:09:${(nextAddress++).toString(16).padStart(2, '0')}`;
    const peripheral = new EmulatedBlePeripheral(cdp, {
      address,
      name: host.device.factory.name,
      serviceUuid: ESP_PROV_EXAMPLE_SERVICE_UUID,
      handler: host.endpoints,
    });
    peripherals.push(peripheral);
    return { host, peripheral, address };
  };

  /** Opens Add a device with this device in Bluetooth range of the browser. */
  const openAddDevice = async (device: { peripheral: EmulatedBlePeripheral }) => {
    await tab.page.goto(`${gw.baseUrl}/add-device`);
    await heading(tab.page, 'Add a device');
    await resetBluetoothEmulation(cdp);
    await device.peripheral.start();
  };

  /** Fills the set-up form, starts it, and picks the device at `address` in the browser's chooser. */
  const setUp = async (form: { templateId: string; pop: string; passphrase: string }, address: string) => {
    await choose(tab.page, 'Product', form.templateId);
    await fill(tab.page, 'Proof of possession', form.pop);
    await fill(tab.page, 'Wi-Fi network', HOME_WIFI.ssid);
    await fill(tab.page, 'Wi-Fi passphrase', form.passphrase);
    const [prompt] = await Promise.all([
      tab.page.waitForDevicePrompt({ timeout: 30_000 }),
      click(tab.page, 'Connect and set up'),
    ]);
    await prompt.select(await prompt.waitForDevice((d) => d.id === address, { timeout: 30_000 }));
  };

  const stepState = (step: string) =>
    tab.page.$eval(`li[data-step="${step}"]`, (li) => li.getAttribute('data-state')).catch(() => null);

  const waitForText = (text: string) =>
    tab.page.waitForFunction(
      (t) => document.querySelector('main')?.textContent?.includes(t),
      { timeout: 60_000 },
      text,
    );

  it('is a secure context on the gateway’s loopback address, with Web Bluetooth', async () => {
    expect(new URL(gw.baseUrl).hostname).toBe('127.0.0.1');
    expect(await tab.page.evaluate(() => window.isSecureContext && 'bluetooth' in navigator)).toBe(true);
  });

  it('activates a security 2 device: a refused passphrase is corrected in the same session', async () => {
    const device = await deviceInRange(templates.sec2, 2);
    const { host, peripheral, address } = device;
    await openAddDevice(device);
    await setUp(
      { templateId: templates.sec2, pop: host.device.factory.pop, passphrase: 'not-the-passphrase' },
      address,
    );

    // The router refuses the passphrase: the page says so and asks again, the device still waiting.
    await tab.page.waitForFunction(
      () => [...document.querySelectorAll('button')].some((b) => b.textContent === 'Try again'),
      {
        timeout: 60_000,
      },
    );
    expect(await stepState('secure-session')).toBe('done');
    expect(await stepState('activation-data')).toBe('done');
    expect(await stepState('wifi')).toBe('failed');
    expect(await tab.page.$eval('main', (m) => m.textContent)).toContain(
      'The Wi-Fi password was refused by the router',
    );
    await expectAccessible(tab.page, 'the Bluetooth set-up asking for the passphrase again');
    const sessionsBefore = peripheral.writes.filter((e) => e === 'prov-session').length;

    await fill(tab.page, 'Passphrase', HOME_WIFI.passphrase);
    await click(tab.page, 'Try again');
    await waitForText('is active and yours (security 2)');
    for (const step of ACTIVATION_STEPS) {
      expect(await stepState(step), step).toBe('done');
    }
    // The correction went over the session already open: no new handshake.
    expect(peripheral.writes.filter((e) => e === 'prov-session').length).toBe(sessionsBefore);
    await expectAccessible(tab.page, 'the Bluetooth set-up, done');
    await screenshot(tab.page, 'bluetooth-setup-phone');

    const list = await gw.api<{
      devices: { id: string; status: string; ownerId: string; hardwareId: string }[];
    }>('GET', `/api/devices?templateId=${templates.sec2}`, undefined, token);
    const activated = list.body.devices.find((d) => d.hardwareId === host.device.factory.hardwareId);
    expect(activated).toEqual(expect.objectContaining({ status: 'active', ownerId: myId }));
    const link = await tab.page.$eval('main a[href^="/devices/"]', (a) => a.getAttribute('href'));
    expect(link).toBe(`/devices/${activated!.id}`);
  });

  it('activates a security 1 device after a wrong proof of possession, and refuses one below the product’s minimum', async () => {
    const device = await deviceInRange(templates.sec1, 1);
    const { host, address } = device;
    await openAddDevice(device);
    await setUp({ templateId: templates.sec1, pop: 'wrong-pop', passphrase: HOME_WIFI.passphrase }, address);
    await waitForText('Failed at: Open a secure session (proof of possession)');
    const text = await tab.page.$eval('main', (m) => m.textContent);
    expect(text).toContain('The device did not accept the proof of possession.');
    expect(text).toContain('(POP_INVALID)');
    expect(text).toContain('What to do: Check the proof-of-possession code');
    expect(await stepState('secure-session')).toBe('failed');
    // The session was given back: no pending device lingers.
    const pending = await gw.api<{ devices: { status: string }[] }>(
      'GET',
      `/api/devices?templateId=${templates.sec1}`,
      undefined,
      token,
    );
    expect(pending.body.devices.filter((d) => d.status === 'pending')).toEqual([]);

    // The person corrects the code in the same form and tries again.
    await setUp(
      { templateId: templates.sec1, pop: host.device.factory.pop, passphrase: HOME_WIFI.passphrase },
      address,
    );
    await waitForText('is active and yours (security 1)');

    // The same kind of device offered for a product that requires security 2: refused before any secret.
    const weak = await deviceInRange(templates.sec2, 1);
    await openAddDevice(weak);
    await setUp(
      { templateId: templates.sec2, pop: weak.host.device.factory.pop, passphrase: HOME_WIFI.passphrase },
      weak.address,
    );
    await waitForText('(SECURITY_MISMATCH)');
    expect(await tab.page.$eval('main', (m) => m.textContent)).toContain(
      'The device offers security 1, but this product requires security 2 or better.',
    );
    expect(weak.peripheral.writes).not.toContain('tether-activation');
  });

  it('broke no Content-Security-Policy rule and threw no error on the way', () => {
    expect(tab.problems).toEqual([]);
  });
});
