/**
 * Planning mutations against a real server, SQLite and PostgreSQL: each type is applied,
 * audited with its from/to values and sent live to a second console; the refusals an attacker
 * or a stale console meets come back with the server's current value and change nothing; a
 * replayed push applies nothing twice.
 */
import type { Change, Mutation, MutationResult, PushResponse } from '@depotline/shared';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { freshRoute } from '../../test/planning-mutations';
import { buildWorld, connectSocket, eventually, mutationId, rest, type TestSocket, type World, type WorldUser } from '../../test/world';

type Draft = Record<string, unknown> & { type: Mutation['type'] };

describe.each(backends)('planning mutations (%s)', (backend) => {
  let w: World;
  let watcher: TestSocket;
  beforeAll(async () => {
    w = await buildWorld(backend, 3);
    watcher = await connectSocket(w.server.url, w.users.dispatcher.token);
  });
  afterAll(async () => {
    watcher?.close();
    await w?.dispose();
  });
  beforeEach(() => {
    watcher.received.length = 0;
  });

  const draft = (d: Draft, locationId = w.A) => ({ id: mutationId(), locationId, createdAt: w.ctx.now(), ...d });

  async function push(user: WorldUser, ...mutations: Record<string, unknown>[]): Promise<MutationResult[]> {
    const r = await rest(w, 'POST', '/sync/push', user.token, { mutations });
    expect(r.status).toBe(200);
    return (r.body as unknown as PushResponse).results;
  }

  async function auditOf(mutationIdValue: string) {
    const rows = await w.ctx.db.selectFrom('audit_log').select(['action', 'outcome', 'target_type', 'target_id', 'details']).execute();
    return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }))
      .filter((r) => r.details.mutationId === mutationIdValue);
  }

  const seen = (match: (c: Change) => boolean) => eventually(() => (watcher.received as Change[]).some(match));
  const stopOrder = async (routeId: string) =>
    (await w.ctx.db.selectFrom('stops').select(['id', 'sequence']).where('route_id', '=', routeId).orderBy('sequence').execute());

  it('route.update renames and re-dates a route, audits both values and broadcasts it', async () => {
    const { routeId } = await freshRoute(w.ctx, w.A);
    const m = draft({ type: 'route.update', routeId, changes: { name: { from: `Route ${routeId}`, to: 'North loop' }, date: { from: '2026-11-22', to: '2026-11-23' } } });
    expect((await push(w.users.dispatcher, m))[0]).toMatchObject({ status: 'applied' });
    const entries = await auditOf(m.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      action: 'route.update', outcome: 'ok', target_type: 'route', target_id: routeId,
      details: { name: { from: `Route ${routeId}`, to: 'North loop' }, date: { from: '2026-11-22', to: '2026-11-23' } },
    });
    expect(await seen((c) => c.entity === 'route' && c.data.id === routeId && c.data.name === 'North loop' && c.data.date === '2026-11-23')).toBe(true);
  });

  it('a stale route.update is refused with the route as the server has it, and changes nothing', async () => {
    const { routeId } = await freshRoute(w.ctx, w.A);
    const first = draft({ type: 'route.update', routeId, changes: { name: { from: `Route ${routeId}`, to: 'First' } } });
    const second = draft({ type: 'route.update', routeId, changes: { name: { from: `Route ${routeId}`, to: 'Second' } } });
    expect((await push(w.users.dispatcher, first))[0]).toMatchObject({ status: 'applied' });
    const [refused] = await push(w.users.manager, second);
    expect(refused).toMatchObject({ status: 'rejected', code: 'conflict', current: { entity: 'route', data: { id: routeId, name: 'First' } } });
    expect((await w.ctx.db.selectFrom('routes').select('name').where('id', '=', routeId).executeTakeFirstOrThrow()).name).toBe('First');
    const entries = await auditOf(second.id);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'mutation.rejected', outcome: 'failed', target_id: routeId, details: { type: 'route.update', errorCode: 'conflict' } });
  });

  it('stop.cancel cancels a planned stop through the state machine; a delivered one is refused with its status', async () => {
    const { stopIds: [a, b] } = await freshRoute(w.ctx, w.A);
    const m = draft({ type: 'stop.cancel', stopId: a, reason: 'customer called' });
    expect((await push(w.users.dispatcher, m))[0]).toMatchObject({ status: 'applied' });
    expect((await auditOf(m.id))[0]!.details).toMatchObject({ status: { from: 'planned', to: 'cancelled' }, reason: 'customer called' });
    expect(await seen((c) => c.entity === 'stop' && c.data.id === a && c.data.status === 'cancelled')).toBe(true);

    await w.ctx.db.updateTable('stops').set({ status: 'delivered' }).where('id', '=', b!).execute();
    const [refused] = await push(w.users.dispatcher, draft({ type: 'stop.cancel', stopId: b }));
    expect(refused).toMatchObject({ status: 'rejected', code: 'invalid_transition', current: { entity: 'stop', data: { id: b, status: 'delivered' } } });
  });

  it('a driver may not cancel a stop, even on their own route', async () => {
    const stopId = w.stops.A1[2]!.id;
    const [refused] = await push(w.users.driver, draft({ type: 'stop.cancel', stopId }));
    expect(refused).toMatchObject({ status: 'rejected', code: 'forbidden' });
    expect((await w.ctx.db.selectFrom('stops').select('status').where('id', '=', stopId).executeTakeFirstOrThrow()).status).toBe('planned');
  });

  it('stop.move moves a stop to another route at a position; both routes stay 0, 1, 2, ...', async () => {
    const from = await freshRoute(w.ctx, w.A);
    const to = await freshRoute(w.ctx, w.A);
    const m = draft({ type: 'stop.move', stopId: from.stopIds[0], fromRouteId: from.routeId, toRouteId: to.routeId, sequence: 1 });
    expect((await push(w.users.dispatcher, m))[0]).toMatchObject({ status: 'applied' });
    expect(await stopOrder(to.routeId)).toEqual([
      { id: to.stopIds[0], sequence: 0 }, { id: from.stopIds[0], sequence: 1 }, { id: to.stopIds[1], sequence: 2 },
    ]);
    expect(await stopOrder(from.routeId)).toEqual([{ id: from.stopIds[1], sequence: 0 }]);
    expect((await auditOf(m.id))[0]!.details).toMatchObject({ routeId: { from: from.routeId, to: to.routeId }, sequence: { from: 0, to: 1 } });
    expect(await seen((c) => c.entity === 'stop' && c.data.id === from.stopIds[0] && c.data.routeId === to.routeId && c.data.sequence === 1)).toBe(true);
    expect(await seen((c) => c.entity === 'stop' && c.data.id === from.stopIds[1] && c.data.sequence === 0)).toBe(true);

    // The same move again, from the route the console still shows: the stop has moved meanwhile.
    const [stale] = await push(w.users.dispatcher, draft({ type: 'stop.move', stopId: from.stopIds[0], fromRouteId: from.routeId, toRouteId: from.routeId, sequence: 0 }));
    expect(stale).toMatchObject({ status: 'rejected', code: 'conflict', current: { entity: 'stop', data: { id: from.stopIds[0], routeId: to.routeId } } });
  });

  it('a stop moved off a driver\u2019s route is removed from that driver\u2019s device, live', async () => {
    const driver = await connectSocket(w.server.url, w.users.driver.token);
    try {
      const to = await freshRoute(w.ctx, w.A);
      const stopId = w.stops.A1[1]!.id;
      expect((await push(w.users.dispatcher, draft({ type: 'stop.move', stopId, fromRouteId: w.routes.A1, toRouteId: to.routeId, sequence: 0 })))[0]).toMatchObject({ status: 'applied' });
      expect(await eventually(() => (driver.received as Change[]).some((c) => c.entity === 'removed' && c.data.kind === 'stop' && c.data.id === stopId))).toBe(true);
      // It never receives the stop's new state (on a route that is not theirs).
      expect((driver.received as Change[]).some((c) => c.entity === 'stop' && c.data.id === stopId)).toBe(false);
    } finally {
      driver.close();
    }
  });

  it('stop.move to a route of another location is "not found", whatever the caller holds there', async () => {
    const from = await freshRoute(w.ctx, w.A);
    const [refused] = await push(w.users.admin, draft({ type: 'stop.move', stopId: from.stopIds[0], fromRouteId: from.routeId, toRouteId: w.routes.B1, sequence: 0 }));
    expect(refused).toMatchObject({ status: 'rejected', code: 'not_found' });
    expect(await stopOrder(from.routeId)).toEqual([{ id: from.stopIds[0], sequence: 0 }, { id: from.stopIds[1], sequence: 1 }]);
  });

  it('route.reorder applies the order the console saw; a stale order is refused with the route', async () => {
    const r = await freshRoute(w.ctx, w.A);
    const [s0, s1] = r.stopIds as [string, string];
    const m = draft({ type: 'route.reorder', routeId: r.routeId, expected: [s0, s1], stopIds: [s1, s0] });
    expect((await push(w.users.dispatcher, m))[0]).toMatchObject({ status: 'applied' });
    expect(await stopOrder(r.routeId)).toEqual([{ id: s1, sequence: 0 }, { id: s0, sequence: 1 }]);
    expect((await auditOf(m.id))[0]!.details).toMatchObject({ order: { from: [s0, s1], to: [s1, s0] } });
    expect(await seen((c) => c.entity === 'stop' && c.data.id === s0 && c.data.sequence === 1)).toBe(true);

    // A second console still showing the old order.
    const [stale] = await push(w.users.manager, draft({ type: 'route.reorder', routeId: r.routeId, expected: [s0, s1], stopIds: [s0, s1] }));
    expect(stale).toMatchObject({ status: 'rejected', code: 'conflict', current: { entity: 'route', data: { id: r.routeId } } });
    expect(await stopOrder(r.routeId)).toEqual([{ id: s1, sequence: 0 }, { id: s0, sequence: 1 }]);
    // An order that drops or invents a stop is refused too.
    const [bad] = await push(w.users.dispatcher, draft({ type: 'route.reorder', routeId: r.routeId, expected: [s1, s0], stopIds: [s1, w.stops.A1[0]!.id] }));
    expect(bad).toMatchObject({ status: 'rejected', code: 'bad_request' });
  });

  it('route.cancel cancels the planned stops and releases the crew; a started route is refused', async () => {
    const r = await freshRoute(w.ctx, w.A);
    await w.ctx.db.updateTable('routes').set({ driver_id: w.otherDriverRecordId, vehicle_id: w.vehicleA }).where('id', '=', r.routeId).execute();
    const m = draft({ type: 'route.cancel', routeId: r.routeId, reason: 'depot closed' });
    expect((await push(w.users.dispatcher, m))[0]).toMatchObject({ status: 'applied' });
    const stops = await w.ctx.db.selectFrom('stops').select('status').where('route_id', '=', r.routeId).execute();
    expect(stops.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
    expect((await auditOf(m.id))[0]!.details).toMatchObject({ driverId: { from: w.otherDriverRecordId, to: null }, vehicleId: { from: w.vehicleA, to: null }, reason: 'depot closed' });
    expect(await seen((c) => c.entity === 'route' && c.data.id === r.routeId && c.data.driverId === null)).toBe(true);

    const started = await freshRoute(w.ctx, w.A);
    await w.ctx.db.updateTable('stops').set({ status: 'en_route' }).where('id', '=', started.stopIds[0]!).execute();
    const [refused] = await push(w.users.dispatcher, draft({ type: 'route.cancel', routeId: started.routeId }));
    expect(refused).toMatchObject({ status: 'rejected', code: 'invalid_transition', current: { entity: 'route', data: { id: started.routeId } } });
    expect((await w.ctx.db.selectFrom('stops').select('status').where('id', '=', started.stopIds[1]!).executeTakeFirstOrThrow()).status).toBe('planned');
  });

  it('drivers: a manager creates, renames and retires one; a retired driver cannot be assigned, unassigning works', async () => {
    const driverId = `drv-${mutationId().slice(0, 8)}`;
    const create = draft({ type: 'driver.create', driverId, name: 'Ada Lovelace' });
    const rename = draft({ type: 'driver.update', driverId, changes: { name: { from: 'Ada Lovelace', to: 'Ada King' } } });
    expect(await push(w.users.manager, create, rename)).toMatchObject([{ status: 'applied' }, { status: 'applied' }]);
    expect(await seen((c) => c.entity === 'driver' && c.data.id === driverId && c.data.name === 'Ada King' && c.data.retiredAt === null)).toBe(true);
    // The name is personal data: the audit entries name the field, never the value.
    expect((await auditOf(create.id))[0]).toMatchObject({ action: 'driver.create', target_type: 'driver', details: { fields: ['name'] } });
    expect((await auditOf(rename.id))[0]!.details).toEqual({ mutationId: rename.id, fields: ['name'] });
    expect(JSON.stringify(await w.ctx.db.selectFrom('audit_log').select('details').execute())).not.toContain('Ada');

    // Assigned to a route with stops to do: retiring is refused until someone else drives it.
    const r = await freshRoute(w.ctx, w.A);
    expect((await push(w.users.dispatcher, draft({ type: 'route.assign', routeId: r.routeId, driverId, vehicleId: null })))[0]).toMatchObject({ status: 'applied' });
    const [busy] = await push(w.users.manager, draft({ type: 'driver.retire', driverId }));
    expect(busy).toMatchObject({ status: 'rejected', code: 'conflict', current: { entity: 'driver', data: { id: driverId, retiredAt: null } } });
    expect((await push(w.users.dispatcher, draft({ type: 'route.assign', routeId: r.routeId, driverId: null, vehicleId: null })))[0]).toMatchObject({ status: 'applied' });

    const retire = draft({ type: 'driver.retire', driverId });
    expect((await push(w.users.manager, retire))[0]).toMatchObject({ status: 'applied' });
    expect((await auditOf(retire.id))[0]!.details).toMatchObject({ retired: { from: false, to: true } });
    expect(await seen((c) => c.entity === 'driver' && c.data.id === driverId && typeof c.data.retiredAt === 'number')).toBe(true);
    const [refused] = await push(w.users.dispatcher, draft({ type: 'route.assign', routeId: r.routeId, driverId, vehicleId: null }));
    expect(refused).toMatchObject({ status: 'rejected', code: 'conflict', current: { entity: 'route', data: { id: r.routeId, driverId: null } } });
    expect(await push(w.users.manager, draft({ type: 'driver.retire', driverId }))).toMatchObject([{ status: 'rejected', code: 'conflict' }]);
  });

  it('vehicles: created, relabelled with from/to in the audit, retired and then refused for assignment', async () => {
    const vehicleId = `veh-${mutationId().slice(0, 8)}`;
    const create = draft({ type: 'vehicle.create', vehicleId, label: 'Van 9', plate: 'B-DL 909' });
    const update = draft({ type: 'vehicle.update', vehicleId, changes: { label: { from: 'Van 9', to: 'Van 9 (cold)' }, plate: { from: 'B-DL 909', to: 'B-DL 919' } } });
    const retire = draft({ type: 'vehicle.retire', vehicleId });
    expect(await push(w.users.admin, create, update, retire)).toMatchObject([{ status: 'applied' }, { status: 'applied' }, { status: 'applied' }]);
    expect((await auditOf(update.id))[0]!.details).toMatchObject({ label: { from: 'Van 9', to: 'Van 9 (cold)' }, plate: { from: 'B-DL 909', to: 'B-DL 919' } });
    expect(await seen((c) => c.entity === 'vehicle' && c.data.id === vehicleId && typeof c.data.retiredAt === 'number')).toBe(true);
    const { routeId } = await freshRoute(w.ctx, w.A);
    const [refused] = await push(w.users.dispatcher, draft({ type: 'route.assign', routeId, driverId: null, vehicleId }));
    expect(refused).toMatchObject({ status: 'rejected', code: 'conflict' });
  });

  it('fleet changes need fleet.manage at the location: a dispatcher, or a manager of another depot, is refused and audited', async () => {
    const [dispatcher] = await push(w.users.dispatcher, draft({ type: 'driver.create', driverId: 'drv-by-dispatcher', name: 'X' }));
    expect(dispatcher).toMatchObject({ status: 'rejected', code: 'forbidden' });
    const [elsewhere] = await push(w.users.manager, draft({ type: 'vehicle.update', vehicleId: w.vehicleA, changes: { label: { from: 'Van 1', to: 'Mine' } } }, w.B));
    expect(elsewhere).toMatchObject({ status: 'rejected', code: 'forbidden' });
    // A vehicle of another depot named at the caller's own location is simply not there.
    await w.ctx.db.insertInto('vehicles').values({ id: 'veh-b-1', location_id: w.B, label: 'B van', plate: 'B-B 1' }).execute();
    const [other] = await push(w.users.manager, draft({ type: 'vehicle.retire', vehicleId: 'veh-b-1' }));
    expect(other).toMatchObject({ status: 'rejected', code: 'not_found', current: null });
    expect(await w.ctx.db.selectFrom('drivers').select('id').where('id', '=', 'drv-by-dispatcher').executeTakeFirst()).toBeUndefined();
    const denied = await w.ctx.db.selectFrom('audit_log').select('action').where('outcome', '=', 'denied').where('actor_user_id', '=', w.users.dispatcher.id).execute();
    expect(denied.map((d) => d.action)).toContain('driver.create');
  });

  it('a replayed push applies nothing twice', async () => {
    const r = await freshRoute(w.ctx, w.A);
    const m = draft({ type: 'stop.move', stopId: r.stopIds[1], fromRouteId: r.routeId, toRouteId: r.routeId, sequence: 0 });
    const before = (await w.ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n;
    const [first] = await push(w.users.dispatcher, m);
    const [again] = await push(w.users.dispatcher, m);
    expect(first).toMatchObject({ status: 'applied' });
    expect(again).toEqual({ id: m.id, status: 'duplicate', version: (first as { version: number }).version });
    expect(await stopOrder(r.routeId)).toEqual([{ id: r.stopIds[1], sequence: 0 }, { id: r.stopIds[0], sequence: 1 }]);
    const after = (await w.ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n;
    expect(Number(after) - Number(before)).toBe(1);
  });
});
