/**
 * The board's day and what needs attention, in Chromium against a real sync-server: the date
 * picker switches between the depot's days, and the late count moves when time passes (the
 * console's clock is injected into the test host) and when a stop is delivered.
 */
import crypto from 'node:crypto';
import { dateInZone, shiftDate } from '@depotline/shared';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouteIn, createStopIn } from '../../sync-server/src/provisioning/delivery-routes';
import { createDriverIn } from '../../sync-server/src/provisioning/fleet';
import { operatorActor } from '../../sync-server/src/provisioning/operator';
import { restCall, signIn as restSignIn } from '../../sync-server/test/factories';
import { startTestServer, type TestServer } from '../../sync-server/test/harness';
import { buildLocation, buildUser } from '../src/core/sync/integration/sync-fixture';
import { requireTestKeyring } from '../src/core/testing/keyring';
import { startTestHost, type TestHost } from './host/test-host';
import { launchChromium, openConsole, type ConsolePage } from './support/browser';
import { newInstallation, type Installation } from './support/console-fixture';
import { buildRenderer } from './support/renderer-build';
import { signIn, stopRow } from './support/ui';

/** The board recounts every 15 s by itself: room for that, and for a loaded machine. */
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 45_000, interval: 100 });
const min = 60_000;
const timeZone = 'Europe/London';

describe("the board's day and what needs attention", () => {
  beforeAll(requireTestKeyring);
  let renderer: ReturnType<typeof buildRenderer>;
  let browser: Browser;
  let server: TestServer;
  let install: Installation;
  let host: TestHost;
  let c: ConsolePage;
  let locationId: string;
  /** The console's clock runs this far ahead of the real one. */
  let ahead = 0;
  const t0 = Date.now();
  const today = dateInZone(t0, timeZone);
  const tomorrow = shiftDate(today, 1);
  const ids = { late: 's-late', soon: 's-soon', far: 's-far' };

  beforeAll(async () => {
    renderer = buildRenderer();
    browser = await launchChromium();
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set() });
    locationId = (await buildLocation(server.ctx, { name: 'Harbour Depot', timezone: timeZone })).id;
    const actor = operatorActor();
    const now = server.ctx.now();
    const driverUser = await buildUser(server.ctx, { role: 'driver', locationIds: [locationId] });
    const at = (lat: number, lng: number) => ({ lat, lng });
    await server.ctx.db.transaction().execute(async (trx) => {
      const driver = await createDriverIn(trx, actor, { id: 'drv-dana', locationId, name: 'Dana Driver', userId: driverUser.id }, now);
      const stop = (routeId: string, id: string, sequence: number, window: { start: number; end: number }, coordinates: { lat: number; lng: number } | null) =>
        createStopIn(server.ctx, trx, actor, {
          id, locationId, routeId, sequence, customerName: `Customer ${id}`, address: `${sequence + 1} Quay Street, Harbourton`, phone: null, window,
          ...(coordinates ? { coordinates } : {}),
        }, now);
      const harbour = await createRouteIn(trx, actor, { id: 'r-harbour-1', locationId, name: 'Harbour 1', date: today, driverId: driver.id }, now);
      // Window already over: late. Ends in 10 minutes, a short drive away: fine for now. Ends in
      // half an hour, 40 km away: the estimate says it will not make it.
      await stop(harbour.id, ids.late, 0, { start: t0 - 90 * min, end: t0 - 20 * min }, at(53.4000, -2.9900));
      await stop(harbour.id, ids.soon, 1, { start: t0 - 60 * min, end: t0 + 10 * min }, at(53.4060, -2.9800));
      await stop(harbour.id, ids.far, 2, { start: t0, end: t0 + 30 * min }, at(53.7600, -2.7000));
      const nobody = await createRouteIn(trx, actor, { id: 'r-anchor-2', locationId, name: 'Anchor 2', date: today }, now);
      for (let s = 0; s < 2; s++) await stop(nobody.id, `s-nobody-${s}`, s, { start: t0 + 60 * min, end: t0 + 180 * min }, null);
      const next = await createRouteIn(trx, actor, { id: 'r-tomorrow', locationId, name: 'Tomorrow 1', date: tomorrow }, now);
      for (let s = 0; s < 3; s++) await stop(next.id, `s-tomorrow-${s}`, s, { start: t0 + 24 * 60 * min, end: t0 + 26 * 60 * min }, null);
    });
    // The driver's app reports where the van is: at the first stop.
    const { tokens } = await restSignIn(server.url, server.ctx, driverUser);
    const res = await restCall(server.url, 'POST', '/sync/push', {
      token: tokens.accessToken,
      body: { mutations: [{ id: crypto.randomUUID(), type: 'position.report', locationId, createdAt: t0, driverId: 'drv-dana', lat: 53.4, lng: -2.99, headingDeg: null, speedKmh: 0 }] },
    });
    expect((res.body as { results: Array<{ status: string }> }).results[0]?.status).toBe('applied');

    install = newInstallation();
    host = await startTestHost({
      serverUrl: server.url, rendererDir: renderer.dir, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers,
      // The clock jumps ahead below: the idle lock must not take that for the user being away.
      idleLockMs: 24 * 60 * min,
      service: { now: () => Date.now() + ahead },
    });
    c = await openConsole(browser, host);
  }, 120_000);
  afterAll(async () => {
    await c?.close();
    await host?.close();
    await install?.dispose();
    await browser?.close();
    await server?.dispose();
    renderer?.remove();
  });

  const count = (kind: string) => c.page.getByTestId(`attention-${kind}`).getAttribute('data-count');
  const routeNames = () => c.page.locator('[data-testid="route-row"] .route-name').allTextContents();

  it("opens on the depot's today, counts what needs attention and puts the route needing most of it first", async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [locationId] });
    await signIn(c.page, { username: user.username, password: user.password });
    await eventually(() => c.page.getByTestId('board-date').inputValue()).toBe(today);
    await eventually(() => c.page.getByTestId('stop-count').textContent()).toBe('5 stops');
    expect(await c.page.getByTestId('date-label').textContent()).toBe('Today');
    await eventually(() => count('late')).toBe('1');
    expect(await count('at-risk')).toBe('1');
    expect(await count('unassigned')).toBe('2');
    expect(await count('delivered')).toBe('0');
    // Harbour 1 has a late stop: it comes before Anchor 2 (unassigned only), names notwithstanding.
    expect(await routeNames()).toEqual(['Harbour 1', 'Anchor 2']);
    expect(await c.page.locator('[data-route-id="r-harbour-1"] [data-kind="late"]').textContent()).toBe('1 late');
    expect(await c.page.locator('[data-route-id="r-anchor-2"] [data-kind="unassigned"]').textContent()).toBe('2 unassigned');
    expect(await stopRow(c.page, ids.late).getAttribute('data-attention')).toBe('late');
    expect(await stopRow(c.page, ids.far).getAttribute('data-attention')).toBe('at_risk');
    // An estimate is marked as one; a stop without coordinates has no ETA, not a made-up one.
    expect(await stopRow(c.page, ids.far).getByTestId('stop-eta').textContent()).toMatch(/^~\d\d:\d\d$/);
    expect(await stopRow(c.page, 's-nobody-0').getByTestId('stop-eta').textContent()).toBe('—');
    await c.screenshot('30-board-with-date-and-attention');
  });

  it('switches days with the date field and the keyboard, and back to today', async () => {
    await c.page.getByTestId('board-date').fill(tomorrow);
    await eventually(() => routeNames()).toEqual(['Tomorrow 1']);
    await eventually(() => c.page.getByTestId('stop-count').textContent()).toBe('3 stops');
    expect(await c.page.getByTestId('date-label').textContent()).toBe('Tomorrow');
    await eventually(() => count('late')).toBe('0');
    expect(await count('unassigned')).toBe('3');
    await c.screenshot('31-board-next-day');

    await c.page.getByTestId('date-previous').focus();
    await c.page.keyboard.press('Enter');
    await eventually(() => c.page.getByTestId('board-date').inputValue()).toBe(today);
    await c.page.getByTestId('date-next').press('Enter');
    await eventually(() => c.page.getByTestId('board-date').inputValue()).toBe(tomorrow);
    await c.page.getByTestId('date-today').click();
    await eventually(() => routeNames()).toEqual(['Harbour 1', 'Anchor 2']);
    expect(await c.page.getByTestId('date-today').isDisabled()).toBe(true);
  });

  it('the late count goes up as time passes, and down when a late stop is delivered', async () => {
    await eventually(() => count('late')).toBe('1');
    // A quarter of an hour later, the stop whose window ended ten minutes from the start is late too.
    ahead = 15 * min;
    await eventually(() => count('late')).toBe('2');
    // The stop list is read again once the summary's counts moved: a moment after the bar.
    await eventually(() => stopRow(c.page, ids.soon).getAttribute('data-attention')).toBe('late');
    await c.screenshot('32-board-late-count-after-time-passes');

    await stopRow(c.page, ids.late).click();
    for (const to of ['en_route', 'arrived', 'delivered']) {
      await c.page.getByTestId(`transition-${to}`).click();
      await c.page.locator(`[data-testid="detail-status"][data-status="${to}"]`).waitFor({ timeout: 15_000 });
    }
    await eventually(() => count('late')).toBe('1');
    expect(await count('delivered')).toBe('1');
    await eventually(() => stopRow(c.page, ids.late).getAttribute('data-attention')).toBe('');
    await c.screenshot('33-board-after-late-stop-delivered');
  });
});
