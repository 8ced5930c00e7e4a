import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultEtaSettings, type Permission } from '@depotline/shared';
import type { EncryptedStore } from '../../core/store/encrypted-store';
import type { SyncClient } from '../../core';
import { buildDriver, buildLocationAccess, buildRoute, buildStop, routeChange, setStatus, stopChange } from '../../core/testing/fixtures';
import { createTestStore } from '../../core/testing/store';
import { makeTempDir } from '../../core/testing/temp-dir';
import { ConsoleData } from './console-data';
import { EtaPolicy, etaSettingsFor } from './eta-policy';

const min = 60_000;
/** 2026-03-10 23:30 UTC: already the 11th in Auckland (12:30 NZDT), still the 10th in UTC. */
const start = Date.UTC(2026, 2, 10, 23, 30);
const permissions: Permission[] = ['location.read', 'stop.readCustomer', 'stop.setStatus', 'position.read'];

describe('the board by day: date filter in the store, counts in the console service', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let store: EncryptedStore;
  let clock = start;
  let data: ConsoleData;
  const loc = buildLocationAccess({ timezone: 'Pacific/Auckland' }, permissions);
  const other = buildLocationAccess({ timezone: 'Pacific/Auckland' }, permissions);
  const L = loc.location.id;
  const driver = buildDriver(L, { name: 'Aroha' });
  const today = buildRoute(L, { name: 'Today with driver', date: '2026-03-11', driverId: driver.id });
  const todayNobody = buildRoute(L, { name: 'Today nobody', date: '2026-03-11' });
  const yesterday = buildRoute(L, { name: 'Yesterday', date: '2026-03-10', driverId: driver.id });
  const elsewhere = buildRoute(other.location.id, { name: 'Other depot, same day', date: '2026-03-11' });
  const window = (fromMin: number, toMin: number) => ({ start: start + fromMin * min, end: start + toMin * min });
  const stops = {
    soon: buildStop(L, today.id, { sequence: 0, window: window(-60, 30) }),
    later: buildStop(L, today.id, { sequence: 1, window: window(60, 120) }),
    delivered: buildStop(L, today.id, { sequence: 2, status: 'delivered', window: window(-120, -60), coordinates: { lat: -36.85, lng: 174.76 } }),
    nobody: buildStop(L, todayNobody.id, { sequence: 0, window: window(0, 240) }),
    nobodyFailed: buildStop(L, todayNobody.id, { sequence: 1, status: 'failed', window: window(0, 240) }),
    yesterdayOpen: buildStop(L, yesterday.id, { sequence: 0, window: window(-24 * 60, -23 * 60) }),
    elsewhere: buildStop(other.location.id, elsewhere.id, { sequence: 0, window: window(-120, -60) }),
  };

  beforeEach(async () => {
    tmp = makeTempDir();
    ({ store } = await createTestStore(tmp.dir));
    await store.replaceLocations([loc, other]);
    await store.applyChanges([
      { entity: 'driver', locationId: L, version: 1, data: driver },
      ...[today, todayNobody, yesterday, elsewhere].map((r) => routeChange(r)),
      ...Object.values(stops).map((s) => stopChange(s)),
    ]);
    clock = start;
    data = new ConsoleData({
      session: () => ({ store, client: { edit: (m: Parameters<SyncClient['edit']>[0]) => store.enqueueLocalEdit(m) } as unknown as SyncClient }),
      now: () => clock,
      activity: () => undefined,
      locationNames: new Map(),
      etaSettings: () => defaultEtaSettings,
    });
  });
  afterEach(async () => {
    await store.close();
    tmp.remove();
  });

  it("the store reads one day's routes and their stops, not the location's other days nor other locations", async () => {
    const day = await store.boardDay(L, '2026-03-11');
    expect(day.routes.map((r) => r.id).sort()).toEqual([today.id, todayNobody.id].sort());
    expect(day.stops.map((s) => s.id).sort()).toEqual([stops.soon.id, stops.later.id, stops.delivered.id, stops.nobody.id, stops.nobodyFailed.id].sort());
    expect(day.stops.find((s) => s.id === stops.delivered.id)).toEqual({
      id: stops.delivered.id, routeId: today.id, sequence: 2, status: 'delivered', window: stops.delivered.window, reportedEta: null,
      coordinates: { lat: -36.85, lng: 174.76 },
    });
    expect((await store.boardDay(L, '2026-03-12'))).toEqual({ routes: [], stops: [] });
    await store.applyChanges([stopChange({ ...stops.soon, coordinates: null }, 30)]);
    expect((await store.boardDay(L, '2026-03-11')).stops.find((s) => s.id === stops.soon.id)!.coordinates).toBeNull();
    expect((await store.boardDay(L)).routes).toHaveLength(3);
  });

  it("defaults to the depot's today (Auckland's, not UTC's) and counts what needs attention", async () => {
    const summary = await data.boardSummary({ locationId: L });
    expect(summary).toMatchObject({ date: '2026-03-11', today: '2026-03-11', timeZone: 'Pacific/Auckland', asOf: start });
    expect(summary.counts).toEqual({ late: 0, atRisk: 0, unassigned: 1, failed: 1, delivered: 1, open: 3, total: 5, routes: 2, unassignedRoutes: 1 });
    expect((await data.boardSummary({ locationId: L, date: '2026-03-10' })).counts).toMatchObject({ late: 1, open: 1, total: 1, routes: 1 });
  });

  it('filters routes and stops by day, and sorts routes needing most attention first', async () => {
    const names = async (date: string, sort?: 'attention' | 'name') => (await data.queryBoard({ locationId: L, date, ...(sort ? { sort } : {}) })).map((r) => r.name);
    expect(await names('2026-03-11', 'name')).toEqual(['Today nobody', 'Today with driver']);
    expect(await names('2026-03-10')).toEqual(['Yesterday']);
    expect(await names('2026-03-12')).toEqual([]);
    const routes = await data.queryBoard({ locationId: L, date: '2026-03-11', sort: 'attention' });
    expect(routes.map((r) => [r.name, r.attention])).toEqual([
      ['Today nobody', { late: 0, atRisk: 0, unassigned: 1, failed: 1, delivered: 0, open: 1, total: 2 }],
      ['Today with driver', { late: 0, atRisk: 0, unassigned: 0, failed: 0, delivered: 1, open: 2, total: 3 }],
    ]);
    const dayStops = await data.listStops({ locationId: L, routeId: null, date: '2026-03-11' });
    expect(dayStops.map((s) => s.id).sort()).toEqual([stops.soon.id, stops.later.id, stops.delivered.id, stops.nobody.id, stops.nobodyFailed.id].sort());
    expect((await data.listStops({ locationId: L, routeId: null, date: '2026-03-10' })).map((s) => [s.id, s.attention])).toEqual([[stops.yesterdayOpen.id, 'late']]);
  });

  it('the late count moves with the clock and with a delivery, and the late route moves to the top', async () => {
    const late = async () => (await data.boardSummary({ locationId: L })).counts.late;
    expect(await late()).toBe(0);
    clock = start + 30 * min;
    expect(await late()).toBe(0);
    // (The exact boundary is the shared function's, tested there; one refresh's calls share a count for a moment.)
    clock = start + 31 * min;
    expect(await late()).toBe(1);
    expect((await data.queryBoard({ locationId: L, date: '2026-03-11', sort: 'attention' }))[0]!.name).toBe('Today with driver');
    const row = (await data.listStops({ locationId: L, routeId: today.id, date: '2026-03-11' })).find((s) => s.id === stops.soon.id);
    expect(row).toMatchObject({ attention: 'late', eta: null, etaSource: null });

    // Delivered locally (optimistic, waiting for the server): no longer late.
    for (const to of ['en_route', 'arrived', 'delivered'] as const) await store.enqueueLocalEdit(setStatus(stops.soon, to));
    expect(await late()).toBe(0);
    expect((await data.boardSummary({ locationId: L })).counts.delivered).toBe(2);
  });

  it("estimates ETAs from the driver's last position and the stops' coordinates; none without position.read", async () => {
    const km = (x: number) => ({ lat: 0, lng: x / 111.19508 });
    const settings = { averageSpeedKmh: 60, serviceMinutes: 5, roadFactor: 1, positionMaxAgeMinutes: 30 };
    await store.applyChanges([
      stopChange({ ...stops.soon, coordinates: km(10) }, 20), stopChange({ ...stops.later, coordinates: km(200) }, 21),
      { entity: 'position', locationId: L, version: 22, data: { driverId: driver.id, locationId: L, ...km(0), headingDeg: null, speedKmh: 20, recordedAt: start - 2 * min, version: 22 } },
    ]);
    const dispatcher = new ConsoleData({
      session: () => ({ store, client: {} as SyncClient }), now: () => clock, activity: () => undefined, locationNames: new Map(), etaSettings: () => settings,
    });
    const rows = async (d: ConsoleData) => new Map((await d.listStops({ locationId: L, routeId: today.id, date: '2026-03-11' })).map((s) => [s.id, s]));
    const seen = await rows(dispatcher);
    expect(seen.get(stops.soon.id)).toMatchObject({ eta: start + 10 * min, etaSource: 'estimate', attention: null });
    // 10 min + 5 service + 190 km at 60 km/h: far past the window's end two hours from now.
    expect(seen.get(stops.later.id)).toMatchObject({ eta: start + 205 * min, etaSource: 'estimate', attention: 'at_risk' });
    expect(seen.get(stops.delivered.id)).toMatchObject({ eta: null, etaSource: null, attention: null });
    expect((await dispatcher.boardSummary({ locationId: L })).counts.atRisk).toBe(1);

    await store.replaceLocations([{ ...loc, permissions: permissions.filter((p) => p !== 'position.read') }, other]);
    const blind = await rows(dispatcher);
    expect(blind.get(stops.soon.id)).toMatchObject({ eta: null, etaSource: null });
    expect(await dispatcher.boardSummary({ locationId: L })).toMatchObject({ counts: { atRisk: 0 }, eta: { usesPositions: false } });
  });

  it('refuses a depot the user does not hold', async () => {
    await expect(data.boardSummary({ locationId: 'depot-not-mine' })).rejects.toMatchObject({ code: 'forbidden' });
  });
});

describe('ETA settings from the managed policy', () => {
  it('take the depot value over the general one over the default', () => {
    const policy = EtaPolicy.parse({ averageSpeedKmh: 28, depots: { 'depot-moor': { averageSpeedKmh: 45, serviceMinutes: 6 } } });
    expect(etaSettingsFor(undefined, 'depot-a')).toEqual(defaultEtaSettings);
    expect(etaSettingsFor(policy, 'depot-a')).toEqual({ ...defaultEtaSettings, averageSpeedKmh: 28 });
    expect(etaSettingsFor(policy, 'depot-moor')).toEqual({ ...defaultEtaSettings, averageSpeedKmh: 45, serviceMinutes: 6 });
    // Inherited object keys are not depots.
    expect(etaSettingsFor(policy, 'constructor')).toEqual({ ...defaultEtaSettings, averageSpeedKmh: 28 });
  });

  it('refuses values out of range and unknown keys, naming them', () => {
    expect(EtaPolicy.safeParse({ averageSpeedKmh: 0 }).success).toBe(false);
    expect(EtaPolicy.safeParse({ depots: { 'depot-a': { roadFactor: 9 } } }).success).toBe(false);
    expect(EtaPolicy.safeParse({ speed: 30 }).success).toBe(false);
    expect(EtaPolicy.safeParse({ depots: { 'bad id with spaces': {} } }).success).toBe(false);
  });
});
