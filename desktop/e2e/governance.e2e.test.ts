/**
 * The governance screens end to end (issue 10): the built renderer in Debian's Chromium, the
 * real desktop core and ConsoleService behind the test host, a real sync-server. Electron's save
 * dialog is the one part that cannot run here: the host's `chooseSavePath` names a file in a
 * temporary folder instead. Screenshots go to desktop/e2e/screenshots/ (git-ignored).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltUser } from '../../sync-server/test/factories';
import { startTestServer, type TestServer } from '../../sync-server/test/harness';
import { buildLocation, buildUser, Office } from '../src/core/sync/integration/sync-fixture';
import { requireTestKeyring } from '../src/core/testing/keyring';
import { startTestHost, type TestHost } from './host/test-host';
import { closeCheckedPages, launchChromium, openConsole, type ConsolePage } from './support/browser';
import { newInstallation } from './support/console-fixture';
import { buildRenderer } from './support/renderer-build';
import { signIn } from './support/ui';

const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 50 });
const bulkRows = 5;

describe('groups, approvals and exports in Chromium against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let renderer: ReturnType<typeof buildRenderer>;
  let browser: Browser;
  let server: TestServer;
  let depot: string;
  let downloads: string;
  const cleanup: Array<() => Promise<void>> = [];
  const pages: ConsolePage[] = [];

  beforeAll(async () => {
    renderer = buildRenderer();
    browser = await launchChromium();
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set(), adminWithoutMfa: true, exports: { maxRangeDays: 31, bulkRows } });
    depot = (await buildLocation(server.ctx, { name: 'Harbour Depot' })).id;
    const office = await Office.at(server, [depot], 'manager');
    await office.createStops(depot, await office.createRoute(depot, 'Harbour 1', '2026-11-25'), 3);
    downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-ui-exports-'));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    renderer?.remove();
    if (downloads) fs.rmSync(downloads, { recursive: true, force: true });
  });
  afterEach(() => closeCheckedPages(pages, cleanup, (actual, expected, what) => expect(actual, what).toEqual(expected)));

  /** A console of its own, signed in as `user`; its save dialog answers `saveAs`. */
  async function consoleOf(user: BuiltUser, saveAs: string | null = null): Promise<ConsolePage & { host: TestHost }> {
    const install = newInstallation();
    cleanup.push(() => install.dispose());
    const host = await startTestHost({
      serverUrl: server.url, rendererDir: renderer.dir, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers,
      service: { chooseSavePath: () => Promise.resolve(saveAs) },
    });
    cleanup.push(() => host.close());
    const page = await openConsole(browser, host);
    pages.push(page);
    await signIn(page.page, { username: user.username, password: user.password });
    await page.page.getByTestId('location-switcher').locator('option').first().waitFor({ state: 'attached' });
    return Object.assign(page, { host });
  }

  const tab = (page: Page, name: string) => page.getByTestId(`tab-${name}`);

  it('an admin makes a group from the catalogue with a denial, sees who holds what, and retires it; a dispatcher has no Groups screen', async () => {
    const admin = await buildUser(server.ctx, { role: 'admin', locationIds: [depot], displayName: 'Ada Marsh' });
    const dispatcher = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [depot], displayName: 'Dev Patel' });
    const c = await consoleOf(admin);
    await tab(c.page, 'groups').click();
    const view = c.page.getByTestId('groups-view');
    await view.getByText('No groups here yet').waitFor();

    // Keyboard only: open the form, name the group, allow and deny from the catalogue.
    await view.getByTestId('new-group').focus();
    await c.page.keyboard.press('Enter');
    const form = view.getByTestId('group-form');
    await form.getByTestId('group-name').fill('Night Dispatch');
    await form.getByRole('row', { name: /stop\.readPhone/ }).getByText('See customer phone numbers').waitFor();
    for (const p of ['location.read', 'stop.readCustomer', 'stop.setStatus']) await form.getByLabel(p, { exact: true }).selectOption('allow');
    await form.getByLabel('stop.readPhone', { exact: true }).selectOption('deny');
    // An invalid name is the browser's to refuse (lower-case only): nothing is sent, nothing typed is lost.
    await form.getByTestId('group-save').click();
    expect(await form.getByTestId('group-name').inputValue()).toBe('Night Dispatch');
    await form.getByTestId('group-name').fill('night-dispatch');
    await c.screenshot('20-new-group-form');
    await form.getByTestId('group-save').click();
    await view.getByTestId('group-saved').waitFor();
    const row = view.locator('[data-testid="group-row"][data-group-name="night-dispatch"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('no stop.readPhone');
    expect(await row.textContent()).toContain('May be granted at Harbour Depot');

    const holders = view.getByTestId('access-list').getByTestId('access-holder');
    await eventually(() => holders.count()).toBeGreaterThanOrEqual(2);
    const adminRow = view.locator(`[data-testid="access-holder"][data-username="${admin.username}"]`);
    expect(await adminRow.textContent()).toContain('role admin');
    expect(await adminRow.getByTestId('holder-permissions').textContent()).toContain('group.manage');
    await c.screenshot('21-groups-and-who-holds-what');

    // Edited: the denial goes, the version moves on.
    await row.getByTestId('edit-group').click();
    const edit = view.getByTestId('group-form');
    expect(await edit.getByLabel('stop.readPhone', { exact: true }).inputValue()).toBe('deny');
    await edit.getByLabel('stop.readPhone', { exact: true }).selectOption('none');
    await edit.getByTestId('group-save').click();
    await eventually(() => row.textContent()).toContain('version 2');
    expect(await row.textContent()).not.toContain('no stop.readPhone');

    // A group that gives an export permission is a request for a second admin, not a change.
    await view.getByTestId('new-group').click();
    await form.getByTestId('group-name').fill('month-end');
    await form.getByLabel('location.read', { exact: true }).selectOption('allow');
    await form.getByLabel('export.operational', { exact: true }).selectOption('allow');
    await form.getByTestId('group-needs-approval').waitFor();
    await form.getByTestId('group-reason').fill('Finance closes the month');
    await form.getByTestId('group-save').click();
    const pending = view.getByTestId('group-pending');
    await pending.waitFor();
    expect(await pending.getByTestId('approval-status').textContent()).toBe('Waiting for a second person');
    expect(await pending.getByTestId('approval-change').textContent()).toContain('export.operational');
    await c.screenshot('20b-group-sent-for-approval');
    expect(await view.locator('[data-testid="group-row"][data-group-name="month-end"]').count()).toBe(0);
    // Thought better of it: the requester withdraws it from My requests.
    await tab(c.page, 'approvals').click();
    const mine = c.page.getByTestId('my-requests').getByTestId('approval');
    await mine.getByTestId('withdraw-approval').click();
    await eventually(() => mine.getAttribute('data-status')).toBe('withdrawn');
    expect(await mine.getByTestId('withdraw-approval').count()).toBe(0);
    await tab(c.page, 'groups').click();

    await row.getByTestId('retire-group').click();
    await row.getByTestId('confirm-retire').click();
    await eventually(() => view.locator('[data-testid="group-row"][data-group-name="night-dispatch"]').count()).toBe(0);

    const d = await consoleOf(dispatcher);
    await tab(d.page, 'approvals').waitFor();
    expect(await tab(d.page, 'groups').count()).toBe(0);
    expect(await d.page.getByTestId('open-export').count()).toBe(0);
  });

  it('an export below the limit is saved through the save dialog; finance is not offered customer data', async () => {
    const finance = await buildUser(server.ctx, { role: 'finance', locationIds: [depot] });
    const target = path.join(downloads, 'harbour.csv');
    const c = await consoleOf(finance, target);
    await c.page.getByTestId('open-export').click();
    const dialog = c.page.getByTestId('export-dialog');
    await dialog.getByTestId('export-from').fill('2026-11-20');
    await dialog.getByTestId('export-to').fill('2026-11-30');
    await eventually(() => dialog.getByTestId('export-preview').textContent()).toContain('3 rows');
    expect(await dialog.getByTestId('export-class-customer').count()).toBe(0);
    await c.screenshot('22-export-dialog');
    await dialog.getByTestId('export-submit').click();
    await eventually(() => dialog.getByTestId('export-saved').textContent()).toContain(target);
    expect(fs.readFileSync(target, 'utf8')).toContain('Depotline export');
    await c.page.keyboard.press('Escape');
    await eventually(() => c.page.getByTestId('export-dialog').count()).toBe(0);
  });

  it('a bulk export waits for a second person: the approver is told, must give a reason to deny, and the requester sees the outcome', async () => {
    const office = await Office.at(server, [depot], 'manager');
    await office.createStops(depot, await office.createRoute(depot, 'Harbour 2', '2026-11-25'), bulkRows);
    const rita = await buildUser(server.ctx, { role: 'manager', locationIds: [depot], displayName: 'Rita Requester' });
    const abe = await buildUser(server.ctx, { role: 'manager', locationIds: [depot], displayName: 'Abe Approver' });
    const saved = path.join(downloads, 'harbour-bulk.csv');
    const requester = await consoleOf(rita, saved);

    await requester.page.getByTestId('open-export').click();
    const dialog = requester.page.getByTestId('export-dialog');
    await dialog.getByTestId('export-from').fill('2026-11-20');
    await dialog.getByTestId('export-to').fill('2026-11-30');
    await eventually(() => dialog.getByTestId('export-preview').textContent()).toContain('a second person has to approve');
    await dialog.getByTestId('export-reason').fill('Quarterly insurance audit');
    await dialog.getByTestId('export-submit').click();
    const pending = dialog.getByTestId('export-pending');
    await pending.waitFor();
    expect(await pending.getByTestId('approval-status').textContent()).toBe('Waiting for a second person');
    await requester.screenshot('23-export-sent-for-approval');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // The approver's console tells them on load (and every 20 s after).
    const approver = await consoleOf(abe);
    await approver.page.getByTestId('approval-notice').waitFor();
    expect(await approver.page.getByTestId('approvals-badge').textContent()).toBe('1');
    await approver.page.getByTestId('open-approvals').click();
    const card = approver.page.getByTestId('approvals-inbox').getByTestId('approval');
    await card.waitFor();
    expect(await card.textContent()).toContain(rita.username);
    expect(await card.getByTestId('approval-reason').textContent()).toBe('Quarterly insurance audit');
    expect(await card.getByTestId('approval-change').textContent()).toContain('Harbour Depot');
    await approver.screenshot('24-approvals-inbox');
    await card.getByTestId('deny-approval').click();
    await card.getByText('Say why you deny it').waitFor();
    await card.getByTestId('approval-note').fill('Use the quarterly report instead');
    await card.getByTestId('deny-approval').click();
    await eventually(() => approver.page.getByTestId('approvals-inbox').getByTestId('approval').count()).toBe(0);
    await eventually(() => approver.page.getByTestId('approval-notice').count()).toBe(0);

    // The requester's own list: denied, with the note; nothing to download.
    await tab(requester.page, 'approvals').click();
    const mine = requester.page.getByTestId('my-requests');
    const request = mine.getByTestId('approval');
    await eventually(() => request.getAttribute('data-status')).toBe('denied');
    expect(await request.getByTestId('approval-decision').textContent()).toContain('Use the quarterly report instead');
    expect(await request.getByTestId('download-approved-export').count()).toBe(0);
    await requester.screenshot('25-my-requests-denied');
    // Rita may decide others' requests (a manager), never her own.
    expect(await requester.page.getByTestId('approvals-inbox').textContent()).toContain('Nothing waits for you.');

    // Asked again and approved this time: My requests offers the download, once.
    await requester.page.getByTestId('open-export').click();
    await dialog.getByTestId('export-from').fill('2026-11-20');
    await dialog.getByTestId('export-to').fill('2026-11-30');
    await dialog.getByTestId('export-reason').fill('Quarterly insurance audit, as agreed');
    await dialog.getByTestId('export-submit').click();
    await dialog.getByTestId('export-pending').waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await approver.page.reload();
    await approver.page.getByTestId('approval-notice').waitFor();
    await approver.page.getByTestId('open-approvals').click();
    const again = approver.page.getByTestId('approvals-inbox').getByTestId('approval');
    await again.getByTestId('approve-approval').click();
    await eventually(() => approver.page.getByTestId('approvals-inbox').getByTestId('approval').count()).toBe(0);

    await tab(requester.page, 'security').click();
    await tab(requester.page, 'approvals').click();
    const approved = requester.page.locator('[data-testid="my-requests"] [data-testid="approval"][data-status="approved"]');
    await approved.getByTestId('download-approved-export').click();
    await eventually(() => approved.getByTestId('export-saved').textContent()).toContain(saved);
    expect(fs.readFileSync(saved, 'utf8')).toContain('Depotline export');
    await requester.screenshot('26-approved-export-downloaded');
    await eventually(() => approved.getByTestId('download-approved-export').count()).toBe(0);
  }, 120_000);
});
