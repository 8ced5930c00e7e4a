/**
 * The Security screen and the held sign-in, end to end (issue 9): the built renderer in
 * Debian's Chromium, the real desktop core and ConsoleService behind the test host, a real
 * sync-server. Screenshots go to desktop/e2e/screenshots/ (git-ignored).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resetPasswordByAdmin } from '../../sync-server/src/auth/password-change';
import { raiseSecurityAlert } from '../../sync-server/src/auth/security-alerts';
import { signIn as restSignIn, testOperator, type BuiltUser } from '../../sync-server/test/factories';
import { startTestServer, type TestServer } from '../../sync-server/test/harness';
import { buildLocation, buildUser, Office } from '../src/core/sync/integration/sync-fixture';
import { requireTestKeyring } from '../src/core/testing/keyring';
import { startTestHost, type TestHost } from './host/test-host';
import { launchChromium, openConsole, type ConsolePage, closeCheckedPages } from './support/browser';
import { newInstallation } from './support/console-fixture';
import { buildRenderer } from './support/renderer-build';
import { signIn, submitSignIn } from './support/ui';

/** `expect.poll` with room for a loaded machine; see console.e2e.test.ts. */
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 50 });

describe('the Security screen and held sign-ins in Chromium against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let renderer: ReturnType<typeof buildRenderer>;
  let browser: Browser;
  let server: TestServer;
  let depot: string;
  const cleanup: Array<() => Promise<void>> = [];
  const pages: ConsolePage[] = [];

  beforeAll(async () => {
    renderer = buildRenderer();
    browser = await launchChromium();
    // Finance users are held on a computer they never used (the default holds admins and managers).
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set(['dispatcher']), deviceApprovalRoles: new Set(['finance']) });
    depot = (await buildLocation(server.ctx, { name: 'Harbour Depot' })).id;
    const office = await Office.at(server, [depot], 'manager');
    await office.createStops(depot, await office.createRoute(depot, 'Harbour 1'), 6);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    renderer?.remove();
  });
  afterEach(() => closeCheckedPages(pages, cleanup, (actual, expected, what) => expect(actual, what).toEqual(expected)));

  /** A console installation of its own (profiles, keychain entries) in a browser context of its own. */
  async function consoleFor(): Promise<ConsolePage & { host: TestHost }> {
    const install = newInstallation();
    cleanup.push(() => install.dispose());
    const host = await startTestHost({
      serverUrl: server.url, rendererDir: renderer.dir, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers,
      service: { sync: { retryDelayMs: 100, retryDelayMaxMs: 500, ackTimeoutMs: 4000, approvalPollMs: 200 } },
    });
    cleanup.push(() => host.close());
    const page = await openConsole(browser, host);
    pages.push(page);
    return Object.assign(page, { host });
  }

  const openSecurity = async (page: Page) => {
    await page.getByTestId('tab-security').click();
    await page.getByTestId('security-sessions').waitFor();
  };

  it('lists this device and session, signs out another, keeps an alert until read, makes recovery codes once, changes the password', async () => {
    // A driver: no authenticator, so signing in twice spends no TOTP code (the recovery codes then need the password only).
    const user = await buildUser(server.ctx, { role: 'driver', locationIds: [depot], displayName: 'Dana Whitfield' });
    const c = await consoleFor();
    await signIn(c.page, { username: user.username, password: user.password });
    // Another session of the same user (a laptop, say), and an alert for the user.
    await restSignIn(server.url, server.ctx, user);
    await raiseSecurityAlert(server.ctx.db, { userId: user.id, kind: 'password_reset', actor: testOperator }, server.ctx.now());

    // The alert shows in the console as a notice (the first read of the notices is on load).
    await c.page.reload();
    await c.page.getByTestId('screen-console').waitFor();
    await c.page.getByTestId('alert-notice').waitFor();
    await openSecurity(c.page);
    const sessions = c.page.getByTestId('session-row');
    await eventually(() => sessions.count()).toBe(2);
    await expect.poll(() => c.page.locator('[data-testid="session-row"][data-current="true"]').textContent()).toContain('This console');
    await expect.poll(() => c.page.locator('[data-testid="device-row"][data-current="true"]').textContent()).toContain('This computer');
    await c.screenshot('10-security-screen');

    await c.page.getByTestId('revoke-session').click();
    await eventually(() => sessions.count()).toBe(1);

    // The alert is still there after the list re-read (the revocation), until marked read. (The
    // second sign-in raised alerts of its own, such as a new device: they stay too.)
    const notice = c.page.getByTestId('alert-notice');
    const resetInNotice = notice.locator('[data-testid="security-alert"][data-alert-kind="password_reset"]');
    await eventually(() => resetInNotice.count()).toBe(1);
    await c.screenshot('10b-security-alert-notice');
    await resetInNotice.getByRole('button', { name: 'Mark as read' }).click();
    await eventually(() => resetInNotice.count()).toBe(0);
    await eventually(() => c.page.locator('[data-testid="security-alerts"] [data-alert-kind="password_reset"]').getAttribute('data-unread')).toBe('false');
    const unreadInNotice = notice.locator('[data-testid="security-alert"]');
    for (let left = await unreadInNotice.count(); left > 0; left--) {
      await unreadInNotice.first().getByRole('button', { name: 'Mark as read' }).click();
      await eventually(() => unreadInNotice.count()).toBe(left - 1);
    }
    await eventually(() => notice.count()).toBe(0);

    const recovery = c.page.getByTestId('security-recovery');
    await recovery.getByTestId('recovery-codes-new-set').click();
    await recovery.getByLabel('Your password').fill(user.password);
    await recovery.getByRole('button', { name: 'Make new codes' }).click();
    const codes = recovery.getByTestId('recovery-code-list').locator('li');
    await eventually(() => codes.count()).toBe(10);
    const shown = await codes.allTextContents();
    expect(shown.every((code) => /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/.test(code))).toBe(true);
    await c.screenshot('11-recovery-codes-shown-once');
    await recovery.getByTestId('recovery-codes-done').click();
    await eventually(() => recovery.getByTestId('recovery-codes-remaining').textContent()).toContain('10 of 10 unused');
    expect(await c.page.content()).not.toContain(shown[0]!);

    const password = c.page.getByTestId('security-password');
    await password.getByTestId('change-password').click();
    await password.getByLabel('Current password').fill(user.password);
    await password.getByLabel(/^New password/).first().fill('lantern over the quiet harbour');
    await password.getByLabel('New password again').fill('lantern over the quiet harbour');
    await password.getByRole('button', { name: 'Change password' }).click();
    await eventually(() => password.getByTestId('password-changed').textContent()).toContain('Password changed');
    // The new password unlocks this console; the old one no longer does.
    await c.page.getByTestId('lock').click();
    await c.page.getByTestId('screen-locked').getByLabel('Password').fill(user.password);
    await c.page.getByRole('button', { name: 'Unlock' }).click();
    await c.page.getByTestId('screen-locked').getByRole('alert').waitFor();
    await c.page.getByTestId('screen-locked').getByLabel('Password').fill('lantern over the quiet harbour');
    await c.page.getByRole('button', { name: 'Unlock' }).click();
    await c.page.getByTestId('screen-console').waitFor();
  });

  async function heldSignIn(user: BuiltUser): Promise<{ trusted: ConsolePage; held: ConsolePage }> {
    const trusted = await consoleFor();
    await signIn(trusted.page, { username: user.username, password: user.password });
    const held = await consoleFor();
    await submitSignIn(held.page, { username: user.username, password: user.password });
    await held.page.getByTestId('screen-awaiting-approval').waitFor();
    await openSecurity(trusted.page);
    await trusted.page.getByTestId('sign-in-request').waitFor();
    return { trusted, held };
  }

  const sessionCount = async (userId: string) =>
    (await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).execute()).length;

  it('a sign-in on a new computer waits on screen and proceeds once approved from another console\'s Security screen', async () => {
    const user = await buildUser(server.ctx, { role: 'finance', locationIds: [depot], displayName: 'Fran Okafor' });
    const { trusted, held } = await heldSignIn(user);
    await held.screenshot('12-waiting-for-approval');
    await trusted.screenshot('13-approve-from-security-screen');
    expect(await sessionCount(user.id)).toBe(1);
    await trusted.page.getByTestId('approve-sign-in').click();
    await held.page.getByTestId('screen-console').waitFor();
    await eventually(() => sessionCount(user.id)).toBe(2);
    await eventually(() => trusted.page.getByTestId('sign-in-request').count()).toBe(0);
  });

  it('a depot admin sees its users\' alerts and held sign-ins and approves one; the user sees no admin part', async () => {
    const admin = await buildUser(server.ctx, { role: 'admin', locationIds: [depot], displayName: 'Ada Marsh' });
    const user = await buildUser(server.ctx, { role: 'finance', locationIds: [depot], displayName: 'Femi Adeyemi' });
    await restSignIn(server.url, server.ctx, user); // the user's first computer, trusted
    await raiseSecurityAlert(server.ctx.db, { userId: user.id, kind: 'password_reset', actor: testOperator }, server.ctx.now());
    const adminConsole = await consoleFor();
    await signIn(adminConsole.page, { username: admin.username, password: admin.password });
    const held = await consoleFor();
    await submitSignIn(held.page, { username: user.username, password: user.password });
    await held.page.getByTestId('screen-awaiting-approval').waitFor();

    await openSecurity(adminConsole.page);
    const row = adminConsole.page.getByTestId('depot-requests').getByTestId('depot-sign-in-request');
    await eventually(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain(user.username);
    const alert = adminConsole.page.locator('[data-testid="depot-alerts"] [data-alert-kind="password_reset"]', { hasText: user.username });
    await eventually(() => alert.count()).toBe(1);
    await adminConsole.screenshot('16-depot-admin-security');
    await row.getByTestId('approve-user-sign-in').click();
    await held.page.getByTestId('screen-console').waitFor();
    await eventually(() => row.count()).toBe(0);

    // The finance user holds neither permission: their Security screen has no admin part.
    await openSecurity(held.page);
    await held.page.getByTestId('security-devices').waitFor();
    expect(await held.page.getByTestId('depot-requests').count()).toBe(0);
    expect(await held.page.getByTestId('depot-alerts').count()).toBe(0);
  });

  it('a denied sign-in never gets a session', async () => {
    const user = await buildUser(server.ctx, { role: 'finance', locationIds: [depot] });
    const { trusted, held } = await heldSignIn(user);
    await trusted.page.getByTestId('deny-sign-in').click();
    await held.page.getByTestId('approval-denied').waitFor();
    await held.screenshot('14-sign-in-denied');
    expect(await sessionCount(user.id)).toBe(1);
    expect(await held.page.getByTestId('screen-console').count()).toBe(0);
  });

  it('after an administrator\'s reset the console asks for a new password and signs in with it', async () => {
    const user = await buildUser(server.ctx, { role: 'driver', locationIds: [depot] });
    await resetPasswordByAdmin(server.ctx, testOperator, user.id, 'Temporary-7f3a-admin-given');
    const c = await consoleFor();
    await submitSignIn(c.page, { username: user.username, password: 'Temporary-7f3a-admin-given' });
    const screen = c.page.getByTestId('screen-new-password');
    await screen.waitFor();
    await screen.getByLabel('New password', { exact: true }).fill('orchard road at first light');
    await screen.getByLabel('New password again').fill('orchard road at first light');
    await c.screenshot('15-new-password-after-reset');
    await screen.getByRole('button', { name: 'Set password and sign in' }).click();
    await c.page.getByTestId('screen-console').waitFor();
  });
});
