/**
 * Signing in to the console with a security key (issue 9), end to end: the built renderer in
 * Debian's Chromium, the real core and ConsoleService behind the test host, a real sync-server,
 * and a CTAP2 virtual authenticator. The test host cannot open a system browser, so the test
 * plays it: the service's `openExternal` records the address, and the test opens it in a tab
 * of its own that holds the user's key, as the user's browser would.
 *
 * The test server listens on 127.0.0.1 and is its own relying party at http://localhost:<port>
 * (security-keys.e2e.test.ts); the console here is configured with that localhost address, so
 * the strict check (the page must be on the configured server's origin) lets the page open.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { restCall, signIn as restSignIn, type BuiltUser } from '../../sync-server/test/factories';
import { startTestServer, type TestServer } from '../../sync-server/test/harness';
import { buildLocation, buildUser } from '../src/core/sync/integration/sync-fixture';
import { requireTestKeyring } from '../src/core/testing/keyring';
import { startTestHost } from './host/test-host';
import { launchChromium, openConsole, type ConsolePage, closeCheckedPages } from './support/browser';
import { newInstallation } from './support/console-fixture';
import { buildRenderer } from './support/renderer-build';
import { openKeyTab, parseStarted, poll, runCeremonyPage, type KeyTab } from './support/security-keys';
import { submitSignIn } from './support/ui';

describe('signing in to the console with a security key, in Chromium against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let renderer: ReturnType<typeof buildRenderer>;
  let browser: Browser;
  let server: TestServer;
  let depot: string;
  let tab: KeyTab;
  /** The user whose key the first test registered. */
  let keyUser: BuiltUser | null = null;
  const cleanup: Array<() => Promise<void>> = [];
  const pages: ConsolePage[] = [];

  beforeAll(async () => {
    renderer = buildRenderer();
    browser = await launchChromium();
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set(['dispatcher']) });
    depot = (await buildLocation(server.ctx, { name: 'Harbour Depot' })).id;
    // The user's browser, with their key: its own context, apart from the console's.
    tab = await openKeyTab(await browser.newContext());
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    renderer?.remove();
  });
  afterEach(() => closeCheckedPages(pages, cleanup, (actual, expected, what) => expect(actual, what).toEqual(expected)));

  it('the server asks for a second factor, the console opens the key page, the key is touched there, and the console signs in', async () => {
    const rpOrigin = server.ctx.config.webauthn!.origin;
    expect(new URL(rpOrigin).hostname).toBe('localhost');
    // A driver (no authenticator needed) registers a key on the server's page; from then on the
    // account has a second factor, so a password alone is not enough.
    const user = await buildUser(server.ctx, { role: 'driver', locationIds: [depot], displayName: 'Kit Hollis' });
    const token = (await restSignIn(server.url, server.ctx, user)).tokens.accessToken;
    const registration = parseStarted(await restCall(server.url, 'POST', '/security-keys/registrations', { token, body: { name: 'Blue key', password: user.password } }));
    expect(await runCeremonyPage(tab, registration)).toMatchObject({ outcome: 'done' });
    expect(await poll(server.url, registration)).toMatchObject({ status: 'done' });

    const opened: string[] = [];
    const install = newInstallation();
    cleanup.push(() => install.dispose());
    const host = await startTestHost({
      serverUrl: rpOrigin, rendererDir: renderer.dir, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers,
      service: { sync: { retryDelayMs: 100, retryDelayMaxMs: 500, ackTimeoutMs: 4000, approvalPollMs: 200 }, openExternal: (url) => Promise.resolve(void opened.push(url)) },
    });
    cleanup.push(() => host.close());
    const c = await openConsole(browser, host);
    pages.push(c);

    await submitSignIn(c.page, { username: user.username, password: user.password });
    await c.page.getByTestId('sign-in-error').waitFor();
    await c.page.getByTestId('use-security-key').click();
    await c.page.getByTestId('screen-awaiting-security-key').waitFor();
    await c.screenshot('17-waiting-for-security-key');
    expect(opened).toHaveLength(1);
    const url = new URL(opened[0]!);
    expect(url.origin).toBe(rpOrigin);
    expect(url.pathname).toBe('/webauthn/ceremony');

    // The user's browser: the page on the server's origin, the key touched there.
    await tab.page.goto(opened[0]!);
    await tab.page.waitForSelector('body[data-outcome="ready"]', { state: 'attached', timeout: 10_000 });
    await tab.page.click('#go');
    await tab.page.waitForSelector('body[data-outcome="done"]', { state: 'attached', timeout: 10_000 });

    await c.page.getByTestId('screen-console').waitFor();
    const login = await server.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'auth.login').where('outcome', '=', 'ok')
      .where('actor_user_id', '=', user.id).orderBy('seq', 'desc').executeTakeFirstOrThrow();
    expect(JSON.parse(login.details)).toMatchObject({ method: 'password+webauthn' });
    keyUser = user;
  });

  it('a console whose configured address is not the key page\'s origin opens nothing and says why', async () => {
    const user = keyUser!;
    const opened: string[] = [];
    const install = newInstallation();
    cleanup.push(() => install.dispose());
    // 127.0.0.1: the same server, but not the origin its key page is on.
    const host = await startTestHost({
      serverUrl: server.url, rendererDir: renderer.dir, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers,
      service: { openExternal: (url) => Promise.resolve(void opened.push(url)) },
    });
    cleanup.push(() => host.close());
    const c = await openConsole(browser, host);
    pages.push(c);
    await submitSignIn(c.page, { username: user.username, password: user.password });
    await c.page.getByTestId('use-security-key').click();
    await expect.poll(() => c.page.getByTestId('sign-in-error').textContent()).toContain('outside');
    expect(opened).toEqual([]);
    expect(await c.page.getByTestId('screen-awaiting-security-key').count()).toBe(0);
    expect(install.files()).toEqual([]);
  });
});
