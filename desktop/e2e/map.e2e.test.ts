/**
 * The board's map, end to end: the built renderer in Debian's Chromium (WebGL through its
 * software renderer), the real core and ConsoleService behind the test host, a real sync-server.
 * Without a tile server the map draws stops, route lines and drivers on a plain canvas and the
 * page asks nothing of anyone but the console; with the depot's tile server (a loopback server
 * started here) tiles come from that origin only, and nothing else is fetched.
 */
import crypto from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Mutation } from '@depotline/shared';
import { restCall, signIn as restSignIn } from '../../sync-server/test/factories';
import { createDriver } from '../../sync-server/src/provisioning/fleet';
import { operatorActor } from '../../sync-server/src/provisioning/operator';
import { startTestServer, type TestServer } from '../../sync-server/test/harness';
import { buildLocation, buildUser, Office } from '../src/core/sync/integration/sync-fixture';
import { requireTestKeyring } from '../src/core/testing/keyring';
import type { MapTilesPolicy } from '../src/main/service/map-tiles';
import { startTestHost } from './host/test-host';
import { closeCheckedPages, launchChromium, openConsole, type ConsolePage } from './support/browser';
import { newInstallation } from './support/console-fixture';
import { buildRenderer } from './support/renderer-build';
import { startTileServer, type TileServer } from './support/tile-server';
import { signIn, stopRow, waitForBoard } from './support/ui';

/** `expect.poll` with room for a loaded machine: a latency budget, not a correctness one. */
const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

const timezone = 'Europe/London';
const today = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());

/** Liverpool, along the river: two routes, one driver out on the first. */
const north = [[53.4084, -2.9916], [53.4152, -2.9871], [53.4208, -2.9793], [53.4261, -2.9702]] as const;
const south = [[53.3981, -2.9835], [53.3912, -2.9750], [53.3850, -2.9640]] as const;
const driverAt = [53.4130, -2.9890] as const;

describe('the board map (Chromium)', () => {
  beforeAll(requireTestKeyring);
  let renderer: ReturnType<typeof buildRenderer>;
  let browser: Browser;
  let server: TestServer;
  let A: string;
  let routeNorth: string;
  let routeSouth: string;
  let noCoordinates: string;
  const stopIds: string[] = [];
  const cleanup: Array<() => Promise<void>> = [];
  const pages: ConsolePage[] = [];

  beforeAll(async () => {
    renderer = buildRenderer();
    browser = await launchChromium();
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set() });
    A = (await buildLocation(server.ctx, { name: 'Riverside Depot', timezone })).id;
    const office = await Office.at(server, [A], 'manager');
    routeNorth = await route(office, 'North loop');
    routeSouth = await route(office, 'South loop');
    const stop = (routeId: string, sequence: number, coordinates: { lat: number; lng: number } | null): Mutation => {
      const id = `stop-${crypto.randomBytes(4).toString('hex')}`;
      if (coordinates) stopIds.push(id);
      else noCoordinates = id;
      return {
        id: crypto.randomUUID(), type: 'stop.create', locationId: A, createdAt: Date.now(), stopId: id, routeId, sequence,
        customerName: `Customer ${routeId.slice(-3)}-${sequence + 1}`, address: `${sequence + 1} Dock Road, Liverpool`, phone: null, notes: '',
        window: { start: Date.now() + 3_600_000, end: Date.now() + 7_200_000 }, coordinates,
      };
    };
    await office.expectApplied([
      ...north.map(([lat, lng], i) => stop(routeNorth, i, { lat, lng })),
      stop(routeNorth, north.length, null),
      ...south.map(([lat, lng], i) => stop(routeSouth, i, { lat, lng })),
    ]);
    // A driver on the north loop reports where they are, as the driver app would.
    const driverUser = await buildUser(server.ctx, { role: 'driver', locationIds: [A] });
    await createDriver(server.ctx, operatorActor(), { id: 'drv-map-1', locationId: A, name: 'Dana Driver', userId: driverUser.id });
    await office.expectApplied([{ id: crypto.randomUUID(), type: 'route.assign', locationId: A, createdAt: Date.now(), routeId: routeNorth, driverId: 'drv-map-1', vehicleId: null }]);
    const { tokens } = await restSignIn(server.url, server.ctx, driverUser);
    const res = await restCall(server.url, 'POST', '/sync/push', {
      token: tokens.accessToken,
      body: { mutations: [{ id: crypto.randomUUID(), type: 'position.report', locationId: A, createdAt: Date.now(), driverId: 'drv-map-1', lat: driverAt[0], lng: driverAt[1], headingDeg: 40, speedKmh: 22 }] },
    });
    expect((res.body as { results: Array<{ status: string }> }).results[0]?.status).toBe('applied');
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    renderer?.remove();
  });
  afterEach(() => closeCheckedPages(pages, cleanup, (actual, expected, what) => expect(actual, what).toEqual(expected)));

  async function route(office: Office, name: string): Promise<string> {
    const routeId = `route-${crypto.randomBytes(4).toString('hex')}`;
    await office.expectApplied([{ id: crypto.randomUUID(), type: 'route.create', locationId: A, createdAt: Date.now(), routeId, name, date: today }]);
    return routeId;
  }

  /** A dispatcher's console, with every request the page makes recorded. */
  async function consoleWith(mapTiles?: MapTilesPolicy): Promise<{ c: ConsolePage; requested: URL[]; hostOrigin: string; csp: string }> {
    const install = newInstallation();
    cleanup.push(() => install.dispose());
    const h = await startTestHost({
      serverUrl: server.url, rendererDir: renderer.dir, profilesDir: install.profilesDir, vault: install.vault, verifiers: install.verifiers,
      ...(mapTiles ? { mapTiles } : {}),
    });
    cleanup.push(() => h.close());
    const c = await openConsole(browser, h);
    pages.push(c);
    const requested: URL[] = [];
    c.page.on('request', (r) => requested.push(new URL(r.url())));
    const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A], displayName: 'Mara Map' });
    await signIn(c.page, { username: user.username, password: user.password });
    await waitForBoard(c.page);
    const csp = (await c.page.request.get(h.url)).headers()['content-security-policy'] ?? '';
    return { c, requested, hostOrigin: new URL(h.url).origin, csp };
  }

  async function showMap(c: ConsolePage): Promise<void> {
    await c.page.getByTestId('board-layout-map').click();
    await eventually(() => c.page.getByTestId('route-map').getAttribute('data-ready')).toBe('true');
    await eventually(() => c.page.getByTestId('map-stop').count()).toBe(north.length + south.length);
  }

  it('without a tile server: stops, route lines and the driver on a plain canvas, nothing fetched from anyone else', async () => {
    const { c, requested, hostOrigin, csp } = await consoleWith();
    expect(csp).not.toMatch(/https?:\/\//);
    await showMap(c);
    expect(await c.page.getByTestId('route-map').getAttribute('data-background')).toBe('plain');
    await eventually(() => c.page.getByTestId('map-driver').count()).toBe(1);
    expect(await c.page.getByTestId('map-driver').getAttribute('data-driver-id')).toBe('drv-map-1');
    expect(await c.page.getByTestId('map-driver').textContent()).toBe('Dana Driver');
    // The map really drew the route lines (WebGL): pixels of the first route's colour on the canvas.
    await eventually(() => routeColourPixels(c)).toBeGreaterThan(50);
    // The stop without coordinates is listed, not drawn.
    await c.page.getByTestId('map-unplaced').waitFor();
    expect(await c.page.getByTestId('unplaced-stop').getAttribute('data-stop-id')).toBe(noCoordinates);

    // Selecting a stop on the map selects it on the board.
    const chosen = stopIds[2]!;
    await c.page.locator(`[data-testid="map-stop"][data-stop-id="${chosen}"]`).click();
    await eventually(() => c.page.getByTestId('stop-detail').getAttribute('data-stop-id')).toBe(chosen);
    await eventually(() => c.page.locator(`[data-testid="map-stop"][data-stop-id="${chosen}"]`).getAttribute('aria-pressed')).toBe('true');
    await c.screenshot('35-map-without-tiles');
    await c.page.getByTestId('board-layout-list').click();
    await eventually(() => stopRow(c.page, chosen).getAttribute('class')).toContain('selected');

    expect(requested.length).toBeGreaterThan(0);
    expect([...new Set(requested.map((u) => u.origin))]).toEqual([hostOrigin]);
  });

  describe('with the depot tile server', () => {
    let tiles: TileServer;
    let consoleOrigin = '';
    beforeAll(async () => {
      tiles = await startTileServer(() => consoleOrigin);
    });
    afterAll(() => tiles?.close());

    it('loads tiles from that origin only and nothing else', async () => {
      const attribution = 'Tiles: Riverside depot tile server';
      const { c, requested, hostOrigin, csp } = await consoleWith({ url: tiles.urlTemplate, maxZoom: 18, attribution });
      consoleOrigin = hostOrigin;
      // The page policy names exactly the tile server, for images and fetches, and no other origin.
      const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
      // blob: is the console's own in-memory images (a proof-of-delivery photo), never another origin.
      expect(directives.get('img-src')).toEqual(["'self'", 'blob:', tiles.origin]);
      expect(directives.get('connect-src')).toEqual(["'self'", tiles.origin]);
      expect(csp.match(/https?:\/\/[^\s;]+/g)).toEqual([tiles.origin, tiles.origin]);

      await showMap(c);
      expect(await c.page.getByTestId('route-map').getAttribute('data-background')).toBe('tiles');
      await eventually(() => c.page.getByTestId('map-driver').count()).toBe(1);
      await eventually(() => tiles.requests.length).toBeGreaterThan(0);
      await eventually(() => routeColourPixels(c)).toBeGreaterThan(50);
      expect(await c.page.getByTestId('map-attribution').textContent()).toBe(attribution);
      await c.page.locator(`[data-testid="map-stop"][data-stop-id="${stopIds[5]!}"]`).click();
      await eventually(() => c.page.getByTestId('stop-detail').getAttribute('data-stop-id')).toBe(stopIds[5]!);
      await c.screenshot('36-map-with-tiles');

      // Tiles went to the tile server, everything else to the console itself; nobody else was asked.
      const tileRequests = requested.filter((u) => u.origin === tiles.origin);
      expect(tileRequests.length).toBeGreaterThan(0);
      for (const u of tileRequests) expect(u.pathname).toMatch(/^\/\d+\/\d+\/\d+\.png$/);
      expect(requested.filter((u) => u.origin !== tiles.origin && u.origin !== hostOrigin).map(String)).toEqual([]);
      expect(requested.filter((u) => u.origin === hostOrigin && /\.png$/.test(u.pathname))).toEqual([]);
      // Every tile request the server saw came from the console's page.
      for (const r of tiles.requests) expect(r.origin).toBe(hostOrigin);
    });
  });
});

/** Pixels of the first route's colour (#1f6f8b) in a screenshot of the map. */
async function routeColourPixels(c: ConsolePage): Promise<number> {
  // Markers share the route's colour: hide them (through the DOM, as the CSP allows) for the shot.
  const markers = c.page.locator('.map-stop, .map-driver');
  await markers.evaluateAll((els) => els.forEach((e) => ((e as HTMLElement).style.visibility = 'hidden')));
  const png = await c.page.getByTestId('route-map').screenshot();
  await markers.evaluateAll((els) => els.forEach((e) => ((e as HTMLElement).style.visibility = '')));
  return c.page.evaluate(async (bytes) => {
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/png' }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i]! - 0x1f) < 12 && Math.abs(data[i + 1]! - 0x6f) < 12 && Math.abs(data[i + 2]! - 0x8b) < 12) n++;
    return n;
  }, [...png]);
}
