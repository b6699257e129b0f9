/**
 * Drives Debian's Chromium headless through puppeteer-core for the console's browser tests: one
 * browser per test file, pages at phone or desktop width, an accessibility check (axe-core) and a
 * record of any Content-Security-Policy violation. Nothing here downloads a browser: without one
 * the tests skip, except under CI=true, where a missing browser fails them (.ci/run installs it).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { expect } from 'vitest';

export const CHROMIUM = process.env.TETHER_CHROMIUM ?? '/usr/bin/chromium';
export const HAVE_BROWSER = existsSync(CHROMIUM);
/** Under CI a missing browser is a failure, never a silent skip. */
export const SKIP_BROWSER = !HAVE_BROWSER && process.env.CI !== 'true';

export const PHONE = { width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
export const DESKTOP = { width: 1280, height: 860, deviceScaleFactor: 1 };

/** Where the tests leave their screenshots (not committed; README images are copied by hand). */
export const SCREENSHOT_DIR = join(process.cwd(), 'dist', 'screenshots');

export interface TestBrowser {
  browser: Browser;
  /** A page at this width that records CSP violations and page errors. */
  page(viewport?: typeof PHONE | typeof DESKTOP, context?: 'default' | 'incognito'): Promise<TestPage>;
  close(): Promise<void>;
}

export interface TestPage {
  page: Page;
  /** CSP violations and uncaught errors seen so far. */
  problems: string[];
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!HAVE_BROWSER) throw new Error(`No browser at ${CHROMIUM}: apt-get install chromium (CI installs it).`);
  const profile = await mkdtemp(join(tmpdir(), 'tether-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: [
      '--no-sandbox', // root in CI containers
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Chrome ships Web Bluetooth on Windows, macOS, ChromeOS and Android; on Linux behind this flag.
      '--enable-features=WebBluetooth',
    ],
  });
  const contexts: Array<{ close(): Promise<void> }> = [];
  return {
    browser,
    async page(viewport = PHONE, context = 'default') {
      let page: Page;
      if (context === 'incognito') {
        const ctx = await browser.createBrowserContext();
        contexts.push(ctx);
        page = await ctx.newPage();
      } else {
        page = await browser.newPage();
      }
      await page.setViewport(viewport);
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${(error as Error).message}`));
      page.on('console', (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
      });
      return { page, problems };
    },
    async close() {
      for (const ctx of contexts) await ctx.close().catch(() => undefined);
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

let axeSource: string | undefined;

/** Runs axe-core (WCAG 2 A and AA) on the page as it is now; fails the test on any violation. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            ctx: Document,
            o: object,
          ) => Promise<{ violations: { id: string; help: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map(
      (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`,
    );
  });
  expect(violations, `accessibility of ${what}`).toEqual([]);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) as `${string}.png`, fullPage: true });
}

/** The input, select or textarea whose <label> reads exactly `label`. */
export async function control(page: Page, label: string): Promise<string> {
  const handle = await page.waitForFunction(
    (text) => {
      const found = [...document.querySelectorAll('label')].find((l) => l.textContent?.trim() === text);
      return found?.htmlFor ? `[id="${found.htmlFor}"]` : false;
    },
    { timeout: 30_000 },
    label,
  );
  return (await handle.jsonValue()) as string;
}

export async function fill(page: Page, label: string, value: string): Promise<void> {
  const selector = await control(page, label);
  await page.locator(selector).fill(value);
}

export async function choose(page: Page, label: string, value: string): Promise<void> {
  const selector = await control(page, label);
  await page.waitForFunction(
    (s, v) => [...(document.querySelector(s) as HTMLSelectElement).options].some((o) => o.value === v),
    {},
    selector,
    value,
  );
  await page.select(selector, value);
}

export async function click(page: Page, name: string): Promise<void> {
  await page.locator(`::-p-aria([name="${name}"][role="button"])`).click();
}

/** Waits until the page's main heading reads `title`. */
export async function heading(page: Page, title: string): Promise<void> {
  await page.waitForFunction(
    (t) => document.querySelector('h1')?.textContent?.trim() === t,
    { timeout: 30_000 },
    title,
  );
}
