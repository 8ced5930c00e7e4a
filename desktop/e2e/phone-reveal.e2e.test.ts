/**
 * Phone numbers in the console, end to end: the built renderer in Debian's Chromium, the real
 * core and ConsoleService behind the test host, a real sync-server. A number stays masked until
 * the user reveals it; the reveal is audited on the server; a user who may not read phones never
 * sees a phone row at all.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltUser } from '../../sync-server/test/factories';
import { startTestServer, type TestServer } from '../../sync-server/test/harness';
import { buildLocation, buildUser, Office } from '../src/core/sync/integration/sync-fixture';
import { requireTestKeyring } from '../src/core/testing/keyring';
import { startTestHost } from './host/test-host';
import { closeCheckedPages, launchChromium, openConsole, type ConsolePage } from './support/browser';
import { newInstallation } from './support/console-fixture';
import { buildRenderer } from './support/renderer-build';
import { signIn, stopRow, waitForBoard } from './support/ui';

/** `expect.poll` with room for a loaded machine: a latency budget, not a correctness one. */
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 50 });

describe('phone numbers in the console (Chromium)', () => {
  beforeAll(requireTestKeyring);
  let renderer: ReturnType<typeof buildRenderer>;
  let browser: Browser;
  let server: TestServer;
  let A: string;
  let stops: Awaited<ReturnType<Office['createStops']>>;
  const cleanup: Array<() => Promise<void>> = [];
  const pages: ConsolePage[] = [];

  beforeAll(async () => {
    renderer = buildRenderer();
    browser = await launchChromium();
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set() });
    A = (await buildLocation(server.ctx, { name: 'Riverside Depot' })).id;
    const office = await Office.at(server, [A], 'manager');
    stops = await office.createStops(A, await office.createRoute(A, 'Riverside 1'), 3);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    renderer?.remove();
  });
  afterEach(() => closeCheckedPages(pages, cleanup, (actual, expected, what) => expect(actual, what).toEqual(expected)));

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

  const reveals = (userId: string) =>
    server.ctx.db.selectFrom('audit_log').select(['target_id', 'outcome']).where('action', '=', 'stop.revealPhone').where('actor_user_id', '=', userId).execute();

  it('a dispatcher sees the number masked until revealing it, and the reveal is audited', async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A], displayName: 'Rhea Reveal' });
    const c = await consoleOf(user);
    const [first, second] = [stops[0]!, stops[1]!];

    await stopRow(c.page, first.id).click();
    const phone = c.page.getByTestId('phone');
    await eventually(() => phone.getAttribute('data-state')).toBe('masked');
    await c.page.getByTestId('phone-masked').waitFor();
    // Masked means absent from the page, not hidden by style.
    for (const s of stops) expect(await c.page.content()).not.toContain(s.phone);
    await c.screenshot('18-phone-masked');

    await c.page.getByTestId('phone-reveal').click();
    await eventually(() => c.page.getByTestId('phone-number').textContent()).toBe(first.phone);
    await c.screenshot('19-phone-revealed');
    await eventually(() => reveals(user.id)).toEqual([{ target_id: first.id, outcome: 'ok' }]);

    // Another stop is masked; coming back, the first is masked again until revealed again.
    await stopRow(c.page, second.id).click();
    await eventually(() => c.page.getByTestId('stop-detail').getAttribute('data-stop-id')).toBe(second.id);
    await eventually(() => phone.getAttribute('data-state')).toBe('masked');
    await stopRow(c.page, first.id).click();
    await eventually(() => c.page.getByTestId('stop-detail').getAttribute('data-stop-id')).toBe(first.id);
    await eventually(() => phone.getAttribute('data-state')).toBe('masked');
    for (const s of stops) expect(await c.page.content()).not.toContain(s.phone);
    expect(await reveals(user.id)).toHaveLength(1);
  });

  it('a user who may not read phone numbers sees no phone row and no Reveal', async () => {
    const user = await buildUser(server.ctx, { role: 'finance', locationIds: [A] });
    const c = await consoleOf(user);
    await stopRow(c.page, stops[2]!.id).click();
    await c.page.getByTestId('stop-detail').waitFor();
    await eventually(() => c.page.getByTestId('stop-detail').getByText(stops[2]!.customerName).count()).toBe(1);
    expect(await c.page.getByTestId('phone').count()).toBe(0);
    expect(await c.page.getByTestId('phone-reveal').count()).toBe(0);
    for (const s of stops) expect(await c.page.content()).not.toContain(s.phone);
    expect(await reveals(user.id)).toEqual([]);
  });
});
