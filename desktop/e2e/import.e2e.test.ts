/**
 * The order import end to end (issue 11): the built renderer in Debian's Chromium, the real
 * desktop core and ConsoleService behind the test host, a real sync-server. Electron's open
 * dialog cannot run here: the host's `chooseOpenPath` names a CSV in a temporary folder.
 * Screenshots 40-41 go to desktop/e2e/screenshots/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../sync-server/test/harness';
import { buildLocation, buildUser, Office } from '../src/core/sync/integration/sync-fixture';
import { requireTestKeyring } from '../src/core/testing/keyring';
import { startTestHost } from './host/test-host';
import { closeCheckedPages, launchChromium, openConsole, type ConsolePage } from './support/browser';
import { newInstallation } from './support/console-fixture';
import { buildRenderer } from './support/renderer-build';
import { signIn } from './support/ui';

const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 50 });

describe('importing orders in Chromium against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let renderer: ReturnType<typeof buildRenderer>;
  let browser: Browser;
  let server: TestServer;
  let depot: string;
  let office: Office;
  let files: string;
  const cleanup: Array<() => Promise<void>> = [];
  const pages: ConsolePage[] = [];

  beforeAll(async () => {
    renderer = buildRenderer();
    browser = await launchChromium();
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set(), adminWithoutMfa: true });
    depot = (await buildLocation(server.ctx, { name: 'Harbour Depot', timezone: 'Europe/Berlin' })).id;
    office = await Office.at(server, [depot], 'manager');
    files = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-ui-import-'));
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    renderer?.remove();
    if (files) fs.rmSync(files, { recursive: true, force: true });
  });
  afterEach(() => closeCheckedPages(pages, cleanup, (actual, expected, what) => expect(actual, what).toEqual(expected)));

  it('a dispatcher maps the columns, reads each row\u2019s problems in the preview and imports the rest with a summary', async () => {
    const csvPath = path.join(files, 'orders.csv');
    const rows = ['Ref,Name,Street,Slot start,Slot end,Tour,Hinweis'];
    for (let i = 1; i <= 150; i++) rows.push(`H-${i},Customer ${i},Harbour Road ${i},09:00,11:00,Harbour ${1 + (i % 2)},Ring twice`);
    rows.push('H-151,Reversed Window,Harbour Road 151,12:00,09:00,Harbour 1,');
    rows.push('H-3,Duplicate Ref,Harbour Road 3,09:00,11:00,Harbour 1,');
    fs.writeFileSync(csvPath, rows.join('\n'));

    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [depot] });
    const install = newInstallation();
    cleanup.push(() => install.dispose());
    const host = await startTestHost({
      serverUrl: server.url, rendererDir: renderer.dir, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers,
      service: { chooseOpenPath: () => Promise.resolve(csvPath) },
    });
    cleanup.push(() => host.close());
    const c = await openConsole(browser, host);
    pages.push(c);
    await signIn(c.page, { username: user.username, password: user.password });
    await c.page.getByTestId('open-import').click();
    const dialog = c.page.getByTestId('import-dialog');
    await dialog.getByTestId('import-choose').click();
    await dialog.getByTestId('import-file').getByText('orders.csv: 152 rows').waitFor();

    // "Hinweis" is not a name the suggestion knows: the preview waits for the route column too.
    await dialog.getByTestId('import-map-routeName').selectOption('Tour');
    await dialog.getByTestId('import-map-notes').selectOption('Hinweis');
    await dialog.getByTestId('import-map-windowStart').selectOption('Slot start');
    await dialog.getByTestId('import-map-windowEnd').selectOption('Slot end');
    await dialog.getByTestId('import-date').fill('2026-12-01');
    await eventually(async () => dialog.getByTestId('import-counts').textContent()).toMatch(/^149 new, 0 to update, 3 skipped \(3 with problems: they are not imported\); new routes: Harbour 2, Harbour 1\.$/);
    await dialog.getByTestId('import-only-problems').check();
    await dialog.getByTestId('import-row-152').getByText('the window ends (“09:00”) before it starts (“12:00”)').waitFor();
    await dialog.getByTestId('import-row-4').getByText('order “H-3” is also on row 153: each order once per file').waitFor();
    await c.screenshot('40-import-preview');

    await dialog.getByTestId('import-submit').click();
    const summary = dialog.getByTestId('import-summary');
    await summary.getByText('149 created, 0 updated, 3 skipped, 2 new routes').waitFor({ timeout: 20_000 });
    await summary.getByText(/Row 152: Slot end: the window ends/).waitFor();
    await c.screenshot('41-import-summary');

    await eventually(async () => (await office.serverState(depot)).filter((ch) => ch.entity === 'stop').length).toBe(149);
    const stops = (await office.serverState(depot)).filter((ch) => ch.entity === 'stop').map((ch) => ch.data);
    expect(stops.find((s) => s.orderRef === 'H-1')).toMatchObject({ notes: 'Ring twice', window: { start: Date.UTC(2026, 11, 1, 8), end: Date.UTC(2026, 11, 1, 10) } });
    expect(stops.some((s) => s.orderRef === 'H-3')).toBe(false);
  }, 90_000);

  it('has no Import button for a reporting user', async () => {
    const user = await buildUser(server.ctx, { role: 'reporting', locationIds: [depot] });
    const install = newInstallation();
    cleanup.push(() => install.dispose());
    const host = await startTestHost({ serverUrl: server.url, rendererDir: renderer.dir, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers });
    cleanup.push(() => host.close());
    const c = await openConsole(browser, host);
    pages.push(c);
    await signIn(c.page, { username: user.username, password: user.password });
    await c.page.getByTestId('location-switcher').locator('option').first().waitFor({ state: 'attached' });
    expect(await c.page.getByTestId('open-import').count()).toBe(0);
  });
});
