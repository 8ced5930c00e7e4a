import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServerDataRejectedError } from '../errors';
import {
  buildDriver, buildLocationAccess, buildRoute, buildStop, buildVehicle, editNotes, piiOf, routeChange, setStatus, stopChange,
} from '../testing/fixtures';
import { decryptDatabaseFile, decryptWalFile, findNeedles } from '../testing/sqlcipher-pages';
import { createTestStore, reopenTestStore } from '../testing/store';
import { makeTempDir, readDatabaseFiles } from '../testing/temp-dir';
import type { DatabaseKey } from '../vault/database-key';
import type { EncryptedStore } from './encrypted-store';
import type { StoreChange } from './local-store';

describe('encrypted store: server data', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let store: EncryptedStore;
  let file: string;
  let key: DatabaseKey;
  const north = buildLocationAccess({ name: 'North' });
  const south = buildLocationAccess({ name: 'South' });
  const N = north.location.id;
  const S = south.location.id;

  beforeEach(async () => {
    tmp = makeTempDir();
    ({ store, file, key } = await createTestStore(tmp.dir));
    await store.replaceLocations([north, south]);
  });
  afterEach(async () => {
    await store.close();
    tmp.remove();
  });

  it('round-trips stops exactly, telling a withheld phone from no phone', async () => {
    const route = buildRoute(N);
    const full = buildStop(N, route.id);
    const noPhone = buildStop(N, route.id, { phone: null });
    const { customerName: _c, address: _a, phone: _p, notes: _n, ...redacted } = buildStop(N, route.id);
    await store.applyChanges([routeChange(route), stopChange(full), stopChange(noPhone), stopChange(redacted)]);
    expect(await store.stop(full.id)).toEqual(full);
    expect(await store.stop(noPhone.id)).toEqual(noPhone);
    expect(await store.stop(redacted.id)).toEqual(redacted);
    expect(await store.route(route.id)).toEqual(route);
  });

  it('applies a change only if it is newer than what it holds', async () => {
    const route = buildRoute(N, { version: 5 });
    await store.applyChanges([routeChange(route)]);
    expect(await store.applyChanges([routeChange({ ...route, name: 'older' }, 4), routeChange({ ...route, name: 'same' }, 5)]))
      .toEqual({ applied: 0, skipped: 2 });
    expect((await store.route(route.id))?.name).toBe(route.name);
    await store.applyChanges([routeChange({ ...route, name: 'newer' }, 6)]);
    expect(await store.route(route.id)).toMatchObject({ name: 'newer', version: 6 });
  });

  it('a removed route takes its stops with it, and a late older change cannot bring them back', async () => {
    const route = buildRoute(N, { version: 2 });
    const stops = [buildStop(N, route.id, { version: 3 }), buildStop(N, route.id, { version: 4, sequence: 1 })];
    await store.applyChanges([routeChange(route), ...stops.map((s) => stopChange(s))]);
    await store.applyChanges([{ entity: 'removed', locationId: N, version: 9, data: { kind: 'route', id: route.id } }]);
    expect(await store.route(route.id)).toBeNull();
    expect(await store.stopsOfRoute(route.id)).toEqual([]);
    expect(await store.applyChanges([routeChange(route, 8), stopChange(stops[0]!, 7)])).toEqual({ applied: 0, skipped: 2 });
    expect(await store.route(route.id)).toBeNull();
    // Re-assigned later: a newer change does bring it back.
    await store.applyChanges([routeChange(route, 12)]);
    expect(await store.route(route.id)).toMatchObject({ version: 12 });
  });

  it('refuses a whole batch that touches a location it does not hold, or moves an entity between locations', async () => {
    const route = buildRoute(N);
    const foreign = buildRoute('depot-elsewhere');
    await expect(store.applyChanges([routeChange(route), routeChange(foreign)])).rejects.toBeInstanceOf(ServerDataRejectedError);
    expect(await store.route(route.id)).toBeNull();

    await store.applyChanges([routeChange(route)]);
    const moved = { ...route, locationId: S, version: 9 };
    await expect(store.applyChanges([routeChange(moved)])).rejects.toBeInstanceOf(ServerDataRejectedError);
    await expect(store.applyChanges([{ entity: 'route', locationId: S, version: 9, data: { ...route, version: 9 } }]))
      .rejects.toBeInstanceOf(ServerDataRejectedError);
    expect(await store.route(route.id)).toEqual(route);
  });

  it('refuses malformed changes and cursor pages that mix locations', async () => {
    const bad = { entity: 'stop', locationId: N, version: 1, data: { id: 'x' } } as never;
    await expect(store.applyChanges([bad])).rejects.toBeInstanceOf(ServerDataRejectedError);
    await expect(store.applyChanges([routeChange(buildRoute(S))], { locationId: N, cursor: 4 })).rejects.toBeInstanceOf(ServerDataRejectedError);
    expect(await store.cursor(N)).toBe(0);
  });

  it('moves cursors with pages (never backwards) and with contiguous live changes only', async () => {
    await store.applyChanges([routeChange(buildRoute(N, { version: 3 }))], { locationId: N, cursor: 10 });
    await store.applyChanges([], { locationId: N, cursor: 7 });
    expect(await store.cursor(N)).toBe(10);
    await store.applyLiveChange(routeChange(buildRoute(N), 11));
    expect(await store.cursor(N)).toBe(11);
    await store.applyLiveChange(routeChange(buildRoute(N), 13));
    expect(await store.cursor(N)).toBe(11);
  });

  it('keeps cursors, locations and data across a reopen', async () => {
    const route = buildRoute(N);
    await store.applyChanges([routeChange(route)], { locationId: N, cursor: 1 });
    await store.setMeta('userId', 'u-1');
    await store.close();
    store = await reopenTestStore(file, key);
    expect(await store.cursor(N)).toBe(1);
    expect((await store.locations()).map((l) => l.name)).toEqual(['North', 'South']);
    expect(await store.route(route.id)).toEqual(route);
    expect(await store.getMeta('userId')).toBe('u-1');
  });

  it('dropping a location deletes its rows, and its customer data is gone from every page of the file', async () => {
    const route = buildRoute(N);
    const dropped = Array.from({ length: 30 }, (_, i) => buildStop(N, route.id, { sequence: i }));
    const kept = [buildStop(S, buildRoute(S).id)];
    await store.applyChanges([routeChange(route), ...dropped.map((s) => stopChange(s))]);
    await store.applyChanges(kept.map((s) => stopChange(s)));
    await store.enqueueLocalEdit(editNotes(dropped[0]!, 'Gate code 4711 Quokka'));
    const needles = [...piiOf(dropped), 'Gate code 4711 Quokka'];
    // Control: before the drop, the decrypted pages hold the data, so the scan can fail.
    expect(findNeedles([...decryptDatabaseFile(file, key), ...decryptWalFile(`${file}-wal`, key)], needles).length).toBeGreaterThan(0);

    expect(await store.dropLocation(N)).toEqual({ locationId: N, discardedEdits: 1 });
    expect(await store.boardQuery(N)).toEqual([]);
    expect(await store.stop(dropped[0]!.id)).toBeNull();
    expect(await store.pendingCount()).toBe(0);
    expect(await store.cursor(N)).toBe(0);
    expect(await store.stop(kept[0]!.id)).toEqual(kept[0]);

    expect(fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0).toBe(0);
    const plaintextPages = [...decryptDatabaseFile(file, key), ...decryptWalFile(`${file}-wal`, key)];
    expect(findNeedles(plaintextPages, needles)).toEqual([]);
    expect(findNeedles(plaintextPages, piiOf(kept))).toEqual(piiOf(kept));
    expect(findNeedles(readDatabaseFiles(file), [...needles, ...piiOf(kept)])).toEqual([]);
  });

  it('a location missing from the server list is dropped with its data', async () => {
    await store.applyChanges([routeChange(buildRoute(S))]);
    const dropped = await store.replaceLocations([north]);
    expect(dropped).toEqual([{ locationId: S, discardedEdits: 0 }]);
    expect(await store.boardQuery(S)).toEqual([]);
    expect((await store.locations()).map((l) => l.id)).toEqual([N]);
  });

  it('tells listeners after commit, and only about what changed', async () => {
    const seen: StoreChange[] = [];
    store.subscribe((c) => seen.push(c));
    const route = buildRoute(N);
    await store.applyChanges([routeChange(route)]);
    await store.applyChanges([routeChange(route)]);
    expect(seen).toEqual([{ locationIds: [N], data: true, outbox: false, rejected: false, locations: false }]);
  });
});

describe('encrypted store: routes board', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let store: EncryptedStore;
  const loc = buildLocationAccess();
  const L = loc.location.id;

  beforeEach(async () => {
    tmp = makeTempDir();
    ({ store } = await createTestStore(tmp.dir));
    await store.replaceLocations([loc]);
  });
  afterEach(async () => {
    await store.close();
    tmp.remove();
  });

  it('filters, searches and sorts routes with stop counts and pending edits', async () => {
    const anna = buildDriver(L, { name: 'Anna Schmidt' });
    const van = buildVehicle(L, { label: 'Sprinter 7', plate: 'B-XY 7' });
    const early = buildRoute(L, { name: 'Alpha', date: '2026-03-02', driverId: anna.id, vehicleId: van.id });
    const late = buildRoute(L, { name: 'beta', date: '2026-03-03' });
    const stops = [
      buildStop(L, early.id, { status: 'delivered', customerName: 'Zebulon Farnsworth' }),
      buildStop(L, early.id, { status: 'en_route', sequence: 1 }),
      buildStop(L, late.id, { status: 'planned' }),
    ];
    await store.applyChanges([
      { entity: 'driver', locationId: L, version: 1, data: anna }, { entity: 'vehicle', locationId: L, version: 2, data: van },
      routeChange(early), routeChange(late), ...stops.map((s) => stopChange(s)),
    ]);
    await store.enqueueLocalEdit(setStatus(stops[2]!, 'en_route'));

    const all = await store.boardQuery(L);
    expect(all.map((r) => r.route.name)).toEqual(['Alpha', 'beta']);
    expect(all[0]).toMatchObject({ driverName: 'Anna Schmidt', vehicleLabel: 'Sprinter 7', pendingEdits: 0, stops: { total: 2 } });
    expect(all[0]!.stops.byStatus).toMatchObject({ delivered: 1, en_route: 1, planned: 0 });
    expect(all[1]).toMatchObject({ pendingEdits: 1, stops: { total: 1, byStatus: { en_route: 1, planned: 0 } } });

    const names = async (q: Parameters<EncryptedStore['boardQuery']>[1]) => (await store.boardQuery(L, q)).map((r) => r.route.name);
    expect(await names({ filter: { date: '2026-03-03' } })).toEqual(['beta']);
    expect(await names({ filter: { driverId: null } })).toEqual(['beta']);
    expect(await names({ filter: { driverId: anna.id } })).toEqual(['Alpha']);
    expect(await names({ filter: { stopStatus: ['delivered'] } })).toEqual(['Alpha']);
    expect(await names({ filter: { withPendingEdits: true } })).toEqual(['beta']);
    expect(await names({ search: 'farnsworth' })).toEqual(['Alpha']);
    expect(await names({ search: 'xy 7' })).toEqual(['Alpha']);
    expect(await names({ search: '%' })).toEqual([]);
    expect(await names({ sort: { key: 'date', direction: 'desc' } })).toEqual(['beta', 'Alpha']);
    expect(await names({ sort: { key: 'progress', direction: 'desc' } })).toEqual(['Alpha', 'beta']);
    // Route filters narrow which routes get counted, never the counts of those shown.
    expect(await store.boardQuery(L, { filter: { date: '2026-03-02' } })).toEqual([all[0]]);
    expect(await store.boardQuery(L, { filter: { driverId: anna.id, date: '2026-03-02', stopStatus: ['en_route'] } })).toEqual([all[0]]);
    expect(await store.boardQuery(L, { filter: { driverId: null } })).toEqual([all[1]]);
  });

  it('search never matches a field the server withheld', async () => {
    const route = buildRoute(L, { name: 'Gamma' });
    const { customerName: _hidden, ...redacted } = buildStop(L, route.id, { customerName: 'Secret Person' });
    await store.applyChanges([routeChange(route), stopChange(redacted)]);
    expect(await store.boardQuery(L, { search: 'Secret Person' })).toEqual([]);
  });
});
