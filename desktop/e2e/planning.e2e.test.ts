/**
 * Planning in the console, end to end: the built renderer in Debian's Chromium, the real core and
 * ConsoleService behind the test host, a real sync-server. A dispatcher creates a route and its
 * stops in the editors, reorders them by keyboard and by drag, moves two to another route, marks
 * one failed with a reason; a manager runs the fleet; `?` shows the shortcuts. Every edit is
 * checked on the server. Screenshots 45-49 go to desktop/e2e/screenshots/.
 */
import crypto from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltUser } from '../../sync-server/test/factories';
import { startTestServer, type TestServer } from '../../sync-server/test/harness';
import { buildLocation, buildUser, Office, setStatusOf } from '../src/core/sync/integration/sync-fixture';
import { requireTestKeyring } from '../src/core/testing/keyring';
import { startTestHost } from './host/test-host';
import { closeCheckedPages, launchChromium, openConsole, type ConsolePage } from './support/browser';
import { newInstallation } from './support/console-fixture';
import { buildRenderer } from './support/renderer-build';
import { signIn, stopRow, waitForBoard } from './support/ui';

/** `expect.poll` with room for a loaded machine: a latency budget, not a correctness one. */
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 50 });
/** Today at the depot (Europe/London): the day the Plan tab opens on. */
const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).format(Date.now());

describe('planning in the console (Chromium)', () => {
  beforeAll(requireTestKeyring);
  let renderer: ReturnType<typeof buildRenderer>;
  let browser: Browser;
  let server: TestServer;
  let A: string;
  let office: Office;
  const cleanup: Array<() => Promise<void>> = [];
  const pages: ConsolePage[] = [];

  beforeAll(async () => {
    renderer = buildRenderer();
    browser = await launchChromium();
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set() });
    A = (await buildLocation(server.ctx, { name: 'Harbour Depot', timezone: 'Europe/London' })).id;
    office = await Office.at(server, [A], 'manager');
    await office.createStops(A, await routeToday('Harbour 1'), 3);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    renderer?.remove();
  });
  afterEach(() => closeCheckedPages(pages, cleanup, (actual, expected, what) => expect(actual, what).toEqual(expected)));

  async function routeToday(name: string): Promise<string> {
    const routeId = `route-${crypto.randomBytes(5).toString('hex')}`;
    await office.expectApplied([{ id: crypto.randomUUID(), type: 'route.create', locationId: A, createdAt: Date.now(), routeId, name, date: day }]);
    return routeId;
  }

  async function consoleOf(user: BuiltUser): Promise<ConsolePage> {
    const install = newInstallation();
    cleanup.push(() => install.dispose());
    const h = await startTestHost({ serverUrl: server.url, rendererDir: renderer.dir, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers });
    cleanup.push(() => h.close());
    const c = await openConsole(browser, h);
    pages.push(c);
    await signIn(c.page, { username: user.username, password: user.password });
    await waitForBoard(c.page);
    return c;
  }

  /** The route's stop ids in order, as the server holds them (its latest change per stop). */
  const serverStops = async (routeId: string) => {
    const latest = new Map<string, { id: string; routeId: string; sequence: number }>();
    for (const c of await office.serverState(A)) if (c.entity === 'stop') latest.set(c.data.id, c.data);
    return [...latest.values()].filter((s) => s.routeId === routeId).sort((a, b) => a.sequence - b.sequence).map((s) => s.id);
  };
  const shownOrder = (page: Page) => page.getByTestId('plan-stop').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-stop-id')));
  const openRoute = async (page: Page, name: string) => {
    await page.getByTestId('plan-route').filter({ hasText: name }).getByRole('button').click();
    await eventually(() => page.getByTestId('route-editor').getByTestId('route-name').inputValue()).toBe(name);
  };

  async function addStop(page: Page, o: { customer: string; address: string; ref: string }): Promise<void> {
    await page.getByTestId('new-stop').click();
    const editor = page.getByTestId('stop-editor');
    await editor.getByTestId('stop-customerName').fill(o.customer);
    await editor.getByTestId('stop-address').fill(o.address);
    await editor.getByTestId('stop-orderRef').fill(o.ref);
    await editor.getByTestId('stop-save').click();
    await eventually(() => page.getByTestId('stop-editor').getAttribute('data-mode')).toBe('edit');
  }

  it('a dispatcher creates a route and its stops, reorders them by keyboard and by drag, and moves two to another route', async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A], displayName: 'Pia Planner' });
    const c = await consoleOf(user);
    const { page } = c;
    expect(await page.getByTestId('tab-fleet').count()).toBe(0); // fleet.manage is the manager's
    await page.getByTestId('tab-plan').click();
    await eventually(() => page.getByTestId('plan-date').inputValue()).toBe(day);

    await page.getByTestId('new-route').click();
    await page.getByTestId('new-route-name').fill('Harbour 2');
    await page.getByTestId('new-route-create').click();
    await openRoute(page, 'Harbour 2');

    // The stop editor names a mistake next to its field and keeps everything typed.
    await page.getByTestId('new-stop').click();
    const editor = page.getByTestId('stop-editor');
    await editor.getByTestId('stop-customerName').fill('Olu Harbourside');
    await editor.getByTestId('stop-address').fill('4 Quay Lane, Bristol');
    await editor.getByTestId('stop-orderRef').fill('ORD-4001');
    await editor.getByTestId('stop-parcelCount').fill('2');
    await editor.getByTestId('stop-barcodes').fill('PX-4001-A\nPX-4001-B');
    await editor.getByTestId('stop-lat').fill('95');
    await editor.getByTestId('stop-lng').fill('-2.59');
    await editor.getByTestId('stop-windowStart').fill(`${day}T14:00`);
    await editor.getByTestId('stop-windowEnd').fill(`${day}T12:00`);
    await editor.getByTestId('stop-save').click();
    await editor.getByTestId('stop-editor-invalid').waitFor();
    expect(await editor.getByRole('alert').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/90/), 'the window ends before it starts']));
    expect(await editor.getByTestId('stop-customerName').inputValue()).toBe('Olu Harbourside');
    await c.screenshot('46-stop-editor');
    await editor.getByTestId('stop-lat').fill('51.45');
    await editor.getByTestId('stop-windowEnd').fill(`${day}T16:00`);
    await editor.getByTestId('stop-save').click();
    await eventually(() => editor.getAttribute('data-mode')).toBe('edit');

    await addStop(page, { customer: 'Bea Dockside', address: '9 Wharf Road, Bristol', ref: 'ORD-4002' });
    await addStop(page, { customer: 'Cai Pier', address: '12 Pier Street, Bristol', ref: 'ORD-4003' });
    await eventually(() => page.getByTestId('plan-stop').count()).toBe(3);
    const routeId = (await page.getByTestId('route-editor').getAttribute('data-route-id'))!;
    const [first, second, third] = (await shownOrder(page)) as [string, string, string];
    await eventually(() => serverStops(routeId)).toEqual([first, second, third]);
    await c.screenshot('45-route-editor');

    // Keyboard: Alt+Down on the focused first stop moves it below the second, and it keeps the focus.
    await page.locator(`[data-testid="plan-stop"][data-stop-id="${first}"] .plan-stop-open`).focus();
    await page.keyboard.press('Alt+ArrowDown');
    await eventually(() => shownOrder(page)).toEqual([second, first, third]);
    expect(await page.evaluate(() => document.activeElement?.closest('[data-stop-id]')?.getAttribute('data-stop-id'))).toBe(first);
    await eventually(() => serverStops(routeId)).toEqual([second, first, third]);

    // Drag: the third stop's handle onto the top of the first row.
    await page.locator(`[data-stop-id="${third}"] [data-testid="drag-handle"]`).dragTo(page.locator(`[data-stop-id="${second}"]`), { targetPosition: { x: 40, y: 3 } });
    await eventually(() => shownOrder(page)).toEqual([third, second, first]);
    await eventually(() => serverStops(routeId)).toEqual([third, second, first]);

    // Bulk: two stops selected move to Harbour 1.
    const harbour1 = (await page.getByTestId('plan-route').filter({ hasText: 'Harbour 1' }).getAttribute('data-route-id'))!;
    for (const id of [third, first]) await page.locator(`[data-stop-id="${id}"] [data-testid="plan-stop-select"]`).check();
    await page.getByTestId('bulk-move-route').selectOption(harbour1);
    await page.getByTestId('bulk-move').click();
    await eventually(() => page.getByTestId('bulk-outcome').textContent()).toContain('2 moved');
    await eventually(() => shownOrder(page)).toEqual([second]);
    await eventually(async () => (await serverStops(harbour1)).slice(-2)).toEqual([third, first]);
  }, 90_000);

  it('marking a stop failed asks for a reason; the reason syncs and shows on another console', async () => {
    const routeId = await routeToday('Harbour 3');
    const [stop] = await office.createStops(A, routeId, 1);
    await office.expectApplied([setStatusOf(A, stop!.id, 'en_route')]);
    const a = await consoleOf(await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] }));
    await stopRow(a.page, stop!.id).click();
    await a.page.getByTestId('transition-failed').click();
    const dialog = a.page.getByTestId('failure-dialog');
    await dialog.getByTestId('failure-submit').click();
    await eventually(() => dialog.getByTestId('failure-error').textContent()).toContain('Choose why');
    await dialog.getByTestId('failure-reason-customer_absent').check();
    await dialog.getByTestId('failure-note').fill('Nobody home; card left at 14:10');
    await a.screenshot('47-failed-reason');
    await dialog.getByTestId('failure-submit').click();
    await eventually(() => a.page.getByTestId('detail-failure').getAttribute('data-reason')).toBe('customer_absent');

    const b = await consoleOf(await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] }));
    await stopRow(b.page, stop!.id).click();
    await eventually(() => b.page.getByTestId('detail-failure').textContent()).toContain('Customer not there');
    expect(await b.page.getByTestId('detail-failure-note').textContent()).toContain('Nobody home');
  });

  it('a manager adds and retires drivers and vehicles, and assigns a crew; `?` shows the shortcuts', async () => {
    const c = await consoleOf(await buildUser(server.ctx, { role: 'manager', locationIds: [A] }));
    const { page } = c;
    await page.getByTestId('tab-fleet').click();
    for (const name of ['Dev Driver', 'Rae Retiring']) {
      await page.getByTestId('new-driver-name').fill(name);
      await page.getByTestId('new-driver-add').click();
      await eventually(() => page.getByTestId('fleet-driver').filter({ has: page.locator(`input[value="${name}"]`) }).count()).toBe(1);
    }
    await page.getByTestId('new-vehicle-label').fill('Van 12');
    await page.getByTestId('new-vehicle-plate').fill('BR12 QAY');
    await page.getByTestId('new-vehicle-add').click();
    await eventually(() => page.getByTestId('fleet-vehicle').count()).toBeGreaterThan(0);
    const retiring = page.getByTestId('fleet-driver').filter({ has: page.locator('input[value="Rae Retiring"]') });
    const retiredId = (await retiring.getAttribute('data-driver-id'))!;
    await retiring.getByTestId('driver-retire').click();
    await eventually(async () => (await office.serverState(A)).some((ch) => ch.entity === 'driver' && ch.data.id === retiredId && ch.data.retiredAt != null)).toBe(true);
    await c.screenshot('48-fleet');

    await page.getByTestId('tab-plan').click();
    await openRoute(page, 'Harbour 1');
    await page.getByTestId('crew-driver').selectOption({ label: 'Dev Driver' });
    await page.getByTestId('crew-save').click();
    await eventually(() => page.getByTestId('plan-route').filter({ hasText: 'Harbour 1' }).textContent()).toContain('Dev Driver');

    // `?` shows every shortcut; Esc closes it.
    await page.getByTestId('plan-routes').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('?');
    await page.getByTestId('shortcuts-help').waitFor();
    expect(await page.getByTestId('shortcuts-help').textContent()).toContain('Alt+↑');
    await c.screenshot('49-shortcuts');
    await page.keyboard.press('Escape');
    await eventually(() => page.getByTestId('shortcuts-help').count()).toBe(0);
  }, 60_000);

  it('reporting sees no planning controls at all', async () => {
    const c = await consoleOf(await buildUser(server.ctx, { role: 'reporting', locationIds: [A] }));
    expect(await c.page.getByTestId('tab-plan').count()).toBe(0);
    expect(await c.page.getByTestId('tab-fleet').count()).toBe(0);
    await c.page.getByTestId('stop-row').first().click();
    await c.page.getByTestId('stop-detail').waitFor();
    expect(await c.page.getByTestId('transition-failed').count()).toBe(0);
  });
});
