import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestHost } from '../host/test-host';

/** Debian's Chromium (never `npx playwright install`), with nothing reaching out to the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['DEPOTLINE_CHROMIUM'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export const screenshotDir = path.resolve(import.meta.dirname, '../screenshots');

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Console errors (CSP violations among them) and uncaught page errors. */
  problems: string[];
  screenshot(name: string): Promise<void>;
  /** What the page stored in the browser: must stay empty (the renderer stores nothing). */
  storedData(): Promise<{ localStorage: number; sessionStorage: number; indexedDb: number; caches: number; cookies: number }>;
  close(): Promise<void>;
}

/** A fresh browser context (a fresh profile) showing the console of `host`. */
export async function openConsole(browser: Browser, host: TestHost): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1, locale: 'en-GB', timezoneId: 'Europe/London' });
  await context.addInitScript(host.shimScript);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || /Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.goto(host.url);
  return {
    page, context, problems,
    async screenshot(name) {
      fs.mkdirSync(screenshotDir, { recursive: true });
      await page.screenshot({ path: path.join(screenshotDir, `${name}.png`) });
    },
    storedData: async () => {
      const stored = await page.evaluate(async () => ({
        localStorage: window.localStorage.length,
        sessionStorage: window.sessionStorage.length,
        indexedDb: (await window.indexedDB.databases()).length,
        caches: (await window.caches.keys()).length,
      }));
      return { ...stored, cookies: (await context.cookies()).length };
    },
    close: () => context.close(),
  };
}

/**
 * After each e2e test: every page ran under the production CSP (plus 'self' for the host)
 * without a violation and kept nothing in the browser; then the test's own clean-ups run, last
 * registered first.
 */
export async function closeCheckedPages(pages: ConsolePage[], cleanup: Array<() => Promise<void>>, expectEqual: (actual: unknown, expected: unknown, what: string) => void): Promise<void> {
  for (const p of pages.splice(0)) {
    expectEqual(p.problems, [], 'console errors or CSP violations');
    expectEqual(await p.storedData(), { localStorage: 0, sessionStorage: 0, indexedDb: 0, caches: 0, cookies: 0 }, 'data kept in the browser');
    await p.close();
  }
  for (const fn of cleanup.splice(0).reverse()) await fn();
}
