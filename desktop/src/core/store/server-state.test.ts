import crypto from 'node:crypto';
import path from 'node:path';
import type { Change, Mutation, MutationResult, Stop, StopStatus } from '@depotline/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildLocationAccess, buildRoute, buildStop, routeChange, setStatus, stopChange } from '../testing/fixtures';
import { storeTestBinding } from '../testing/store';
import { makeTempDir } from '../testing/temp-dir';
import { DatabaseKey } from '../vault/database-key';
import { createEncryptedDatabase, type EncryptedDatabase } from './encrypted-database';
import { EncryptedStore } from './encrypted-store';
import { migrate } from './migrate';
import { applyServerChange } from './server-state';
import type { SqlConnection, SqlRow } from './sql-binding';

/** The driver under test (testing/store.ts): the suite runs once per driver. */
const binding = storeTestBinding();

/**
 * `applyChanges` applies a page set-wise (applyServerChanges). These tests hold it to the
 * per-change path it replaced (`applyServerChange` on each change in turn): same rows, same
 * tombstones, confirmed copies and outbox, same applied count, same refusals.
 */

interface Side {
  db: EncryptedDatabase;
  store: EncryptedStore;
}

async function openSide(dir: string, name: string, wrap: (conn: SqlConnection) => SqlConnection = (c) => c): Promise<Side> {
  const db = await createEncryptedDatabase(binding, path.join(dir, name), DatabaseKey.generate(), async (conn) => {
    await migrate(conn);
  });
  const wrapped: EncryptedDatabase = { ...db, conn: wrap(db.conn), rekey: (k) => db.rekey(k), checkpoint: () => db.checkpoint(), close: () => db.close() };
  return { db, store: new EncryptedStore(wrapped) };
}

/** The reference: one change at a time, in one transaction, as the store did before. */
async function applyOneByOne(conn: SqlConnection, changes: readonly Change[]): Promise<number> {
  await conn.exec('BEGIN IMMEDIATE');
  try {
    let applied = 0;
    for (const c of changes) if (await applyServerChange(conn, c)) applied++;
    await conn.exec('COMMIT');
    return applied;
  } catch (err) {
    await conn.exec('ROLLBACK');
    throw err;
  }
}

const tablesInOrder: Record<string, string> = {
  routes: 'id', stops: 'id', drivers: 'id', vehicles: 'id', positions: 'driver_id', tombstones: 'kind, id', confirmed: 'kind, id', outbox: 'seq',
};

async function dump(conn: SqlConnection): Promise<Record<string, SqlRow[]>> {
  const out: Record<string, SqlRow[]> = {};
  for (const [table, order] of Object.entries(tablesInOrder)) out[table] = await conn.all(`SELECT * FROM ${table} ORDER BY ${order}`);
  return out;
}

/** Resolves to the value, or to the error's class name: both sides must fail alike. */
async function outcome<T>(p: Promise<T>): Promise<T | { threw: string }> {
  try {
    return await p;
  } catch (err) {
    return { threw: (err as Error).constructor.name };
  }
}

/** mulberry32: a small seeded generator, so a failing sequence can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T,>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}

const statuses: StopStatus[] = ['planned', 'en_route', 'arrived', 'delivered', 'failed', 'cancelled'];

describe('applyChanges (set-wise) matches applying each change in turn', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let batch: Side;
  let reference: Side;
  const north = buildLocationAccess({ name: 'North' });
  const south = buildLocationAccess({ name: 'South' });
  const N = north.location.id;
  const S = south.location.id;

  beforeEach(async () => {
    tmp = makeTempDir();
    batch = await openSide(tmp.dir, 'batch.db');
    reference = await openSide(tmp.dir, 'reference.db');
    for (const side of [batch, reference]) await side.store.replaceLocations([north, south]);
  });
  afterEach(async () => {
    await batch.store.close();
    await reference.store.close();
    tmp.remove();
  });

  async function applyBoth(changes: Change[]): Promise<void> {
    const ours = await outcome(batch.store.applyChanges(changes));
    const theirs = await outcome(applyOneByOne(reference.db.conn, changes));
    expect(ours).toEqual(typeof theirs === 'number' ? { applied: theirs, skipped: changes.length - theirs } : theirs);
    expect(await dump(batch.db.conn)).toEqual(await dump(reference.db.conn));
  }

  async function bothSides<T>(fn: (store: EncryptedStore) => Promise<T>): Promise<void> {
    const ours = await outcome(fn(batch.store));
    const theirs = await outcome(fn(reference.store));
    expect(ours).toEqual(theirs);
  }

  for (const seed of [1, 2, 3, 4]) {
    it(`random pages of upserts, removals, stale and repeated versions, under pending edits (seed ${seed})`, async () => {
      const r = rng(seed);
      const routeIds = ['r0', 'r1', 'r2', 'r3'];
      const stopIds = Array.from({ length: 12 }, (_, i) => `s${i}`);
      const driverIds = ['d0', 'd1', 'd2'];
      const vehicleIds = ['v0', 'v1'];
      let clock = 1;
      const version = () => Math.max(1, clock - r.int(0, 12));

      const change = (): Change => {
        clock += r.int(0, 2);
        const v = version();
        const tag = `${v}-${r.int(0, 999)}`;
        const loc = r.chance(0.02) ? S : N; // an entity of North named as South's: refused
        switch (r.int(0, 9)) {
          case 0:
          case 1: {
            const id = r.pick(routeIds);
            return { entity: 'route', locationId: loc, version: v, data: {
              id, locationId: loc, name: `Route ${tag}`, date: '2026-03-02', driverId: r.chance(0.5) ? r.pick(driverIds) : null,
              vehicleId: r.chance(0.5) ? r.pick(vehicleIds) : null, version: v, updatedAt: 1_700_000_000_000 + v, updatedBy: r.chance(0.5) ? 'u1' : null,
            } };
          }
          case 2:
          case 3:
          case 4: {
            const i = r.int(0, stopIds.length - 1);
            const stop: Stop = {
              id: stopIds[i]!, locationId: loc, routeId: routeIds[i % routeIds.length]!, sequence: i, customerName: `Customer ${tag}`,
              address: `${tag} Lindenstrasse`, phone: r.chance(0.3) ? null : `+49 30 ${tag}`, notes: `notes ${tag}`,
              orderRef: `SO-${tag}`, parcelCount: 1, barcodes: [], minimumAge: null, idCheck: false, failureReason: null,
              window: { start: 1_700_000_000_000, end: 1_700_003_600_000 }, status: r.pick(statuses), eta: r.chance(0.5) ? null : 1_700_000_100_000 + v,
              version: v, updatedAt: 1_700_000_000_000 + v, updatedBy: 'dispatcher',
            };
            if (r.chance(0.2)) delete stop.phone; // withheld from this user
            if (r.chance(0.1)) delete stop.customerName;
            return { entity: 'stop', locationId: loc, version: v, data: stop };
          }
          case 5:
            return { entity: 'driver', locationId: loc, version: v, data: { id: r.pick(driverIds), locationId: loc, name: `Driver ${tag}`, userId: r.chance(0.5) ? 'u1' : null } };
          case 6:
            return { entity: 'vehicle', locationId: loc, version: v, data: { id: r.pick(vehicleIds), locationId: loc, label: `Van ${tag}`, plate: `B-${tag}` } };
          case 7:
            return { entity: 'position', locationId: loc, version: v, data: {
              driverId: r.pick(driverIds), locationId: loc, lat: r.next() * 180 - 90, lng: r.next() * 360 - 180,
              headingDeg: r.chance(0.5) ? null : r.next() * 360, speedKmh: r.chance(0.5) ? null : r.next() * 100, recordedAt: 1_700_000_000_000 + v, version: v,
            } };
          default: {
            const kind = r.pick(['route', 'route', 'stop', 'stop', 'driver', 'vehicle'] as const);
            const ids = { route: routeIds, stop: stopIds, driver: driverIds, vehicle: vehicleIds }[kind];
            return { entity: 'removed', locationId: N, version: v, data: { kind, id: r.pick(ids) } };
          }
        }
      };

      for (let round = 0; round < 60; round++) {
        const page = Array.from({ length: r.int(1, 30) }, change);
        if (r.chance(0.02)) page.splice(r.int(0, page.length), 0, { ...page[0]!, locationId: 'loc-unknown' });
        await applyBoth(page);

        // Local edits on top of server state, and the server's answers to some of them.
        if (r.chance(0.5)) {
          const stopId = r.pick(stopIds);
          const m: Mutation = r.chance(0.6)
            ? { id: crypto.randomUUID(), type: 'stop.setStatus', locationId: N, createdAt: 1_700_000_000_000 + round, stopId, to: r.pick(statuses) }
            : r.chance(0.5)
              ? { id: crypto.randomUUID(), type: 'stop.editNotes', locationId: N, createdAt: 1_700_000_000_000 + round, stopId, notes: `local ${round}` }
              : { id: crypto.randomUUID(), type: 'position.report', locationId: N, createdAt: 1_700_000_000_000 + round, driverId: r.pick(driverIds), lat: 52.5, lng: 13.4, headingDeg: null, speedKmh: 12.5 };
          await bothSides((store) => store.enqueueLocalEdit(m));
        }
        if (r.chance(0.25)) {
          const pending = await batch.store.pendingMutations();
          const answered = pending.filter(() => r.chance(0.5));
          const results: MutationResult[] = answered.map((p) => (r.chance(0.6)
            ? { id: p.mutation.id, status: 'applied', version: clock + 1 }
            : { id: p.mutation.id, status: 'rejected', code: 'conflict', reason: 'stale', current: null }));
          await bothSides((store) => store.markAcknowledged(results));
        }
        expect(await dump(batch.db.conn)).toEqual(await dump(reference.db.conn));
      }
      // The sequence exercised what it is meant to.
      const final = await dump(batch.db.conn);
      expect(final['stops']!.length + final['tombstones']!.length).toBeGreaterThan(0);
    });
  }

  it('counts every winning change, also several of one entity in one page', async () => {
    const route = buildRoute(N, { version: 3 });
    await applyBoth([routeChange(route, 3), routeChange({ ...route, name: 'b' }, 5), routeChange({ ...route, name: 'c' }, 4), routeChange({ ...route, name: 'd' }, 7)]);
    expect(await batch.store.route(route.id)).toMatchObject({ name: 'd', version: 7 });
  });

  it('a removal in the middle of a page: stops written before it go with their route, stops after it come back', async () => {
    const route = buildRoute(N, { version: 1 });
    const before = buildStop(N, route.id, { version: 2 });
    const after = buildStop(N, route.id, { version: 2, sequence: 1 });
    await applyBoth([
      routeChange(route), stopChange(before), stopChange(after),
      { entity: 'removed', locationId: N, version: 5, data: { kind: 'route', id: route.id } },
      stopChange(before, 4), stopChange(after, 6), routeChange(route, 7),
    ]);
    expect(await batch.store.stop(before.id)).toBeNull();
    expect(await batch.store.stop(after.id)).toMatchObject({ version: 6 });
  });

  it('a page under a pending edit keeps the edit on top and rolls back exactly', async () => {
    const route = buildRoute(N);
    const stop = buildStop(N, route.id, { version: 2 });
    await applyBoth([routeChange(route), stopChange(stop)]);
    const edit = setStatus(stop, 'en_route');
    await bothSides((store) => store.enqueueLocalEdit(edit));
    await applyBoth([stopChange({ ...stop, notes: 'server notes' }, 8), routeChange({ ...route, name: 'renamed' }, 9)]);
    expect(await batch.store.stop(stop.id)).toMatchObject({ status: 'en_route', notes: 'server notes', version: 8 });
    await bothSides((store) => store.markAcknowledged([{ id: edit.id, status: 'rejected', code: 'conflict', reason: 'no', current: null }]));
    expect(await batch.store.stop(stop.id)).toMatchObject({ status: 'planned', notes: 'server notes', version: 8 });
    expect(await dump(batch.db.conn)).toEqual(await dump(reference.db.conn));
  });
});

describe('applyChanges statement count', () => {
  it('applies a 1,000-change page in a handful of statements, not several per change', async () => {
    const tmp = makeTempDir();
    let statements = 0;
    const count = (conn: SqlConnection): SqlConnection => ({
      exec: (sql) => { statements++; return conn.exec(sql); },
      run: (sql, p) => { statements++; return conn.run(sql, p); },
      all: (sql, p) => { statements++; return conn.all(sql, p); },
      get: (sql, p) => { statements++; return conn.get(sql, p); },
      close: () => conn.close(),
    });
    const side = await openSide(tmp.dir, 'count.db', count);
    try {
      const loc = buildLocationAccess();
      const L = loc.location.id;
      await side.store.replaceLocations([loc]);
      const routes = Array.from({ length: 10 }, () => buildRoute(L));
      const page: Change[] = [...routes.map((r) => routeChange(r)), ...Array.from({ length: 990 }, (_, i) => stopChange(buildStop(L, routes[i % 10]!.id, { sequence: i })))];
      statements = 0;
      expect(await side.store.applyChanges(page, { locationId: L, cursor: 1000 })).toEqual({ applied: 1000, skipped: 0 });
      // BEGIN, locations, entity state, one upsert per table, cursor, COMMIT.
      expect(statements).toBeLessThanOrEqual(8);
      expect((await side.store.stopsOfRoute(routes[0]!.id)).length).toBe(99);
    } finally {
      await side.store.close();
      tmp.remove();
    }
  });
});
