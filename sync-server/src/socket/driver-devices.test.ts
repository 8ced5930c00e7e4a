import type { Change, MutationResult, PullResponse, PushResponse } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveFeed } from './broadcast';
import type { SyncServer } from './socket-types';
import { backends } from '../../test/harness';
import { testClock, type TestClock } from '../../test/factories';
import { buildWorld, connectSocket, emitAck, insertRoute, insertStops, mutationId, type TestSocket, type World } from '../../test/world';
import { createStopIn } from '../provisioning/delivery-routes';
import { sendDriverRemovals } from '../sync/driver-access';

type Ack<T> = { ok: true; data: T } | { ok: false; error: { code: string } };

/**
 * A driver's own access to a route ends when the route is complete plus the grace period; the
 * driver's device (a real socket.io-client) is then told to remove it, live and by pull, and
 * positions are kept as a history. Time moves by the server's test clock.
 */
describe.each(backends)('driver devices (%s)', (backend) => {
  let w: World;
  let clock: TestClock;
  let driver: TestSocket;
  const grace = 5;

  beforeAll(async () => {
    w = await buildWorld(backend, 2);
    clock = testClock();
    w.ctx.now = clock.now;
    w.ctx.config = { ...w.ctx.config, driverDevices: { ...w.ctx.config.driverDevices, accessGraceMin: grace } };
    driver = await connectSocket(w.server.url, w.users.driver.token);
  });
  afterAll(async () => {
    driver?.close();
    await w?.dispose();
  });

  const push = async (socket: TestSocket, mutations: Record<string, unknown>[]): Promise<MutationResult[]> => {
    const res = await emitAck<Ack<PushResponse>>(socket, 'sync:push', {
      mutations: mutations.map((m) => ({ id: mutationId(), locationId: w.A, createdAt: clock.now(), ...m })),
    });
    if (!res.ok) throw new Error(`push refused: ${res.error.code}`);
    return res.data.results;
  };
  const pull = async (socket: TestSocket, after: number): Promise<PullResponse> => {
    const res = await emitAck<Ack<PullResponse>>(socket, 'sync:pull', { locationId: w.A, after });
    if (!res.ok) throw new Error(`pull refused: ${res.error.code}`);
    return res.data;
  };
  // The live feed the server runs on (its sockets are typed by the server only).
  const feed = () => createLiveFeed(w.ctx, w.server.io as SyncServer);
  const route = (id: string) => w.ctx.db.selectFrom('routes').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const stopsOf = (changes: readonly Change[], routeId: string) => changes.filter((c) => c.entity === 'stop' && c.data.routeId === routeId);
  const removedRoute = (changes: readonly unknown[], routeId: string) => changes.some((c) => {
    const x = c as Change;
    return x.entity === 'removed' && x.data.kind === 'route' && x.data.id === routeId;
  });

  it('keeps every reported position as history, the device clock never later than the server', async () => {
    const before = await w.ctx.db.selectFrom('position_history').select('id').where('driver_id', '=', w.driverRecordId).execute();
    const results = await push(driver, [
      { type: 'position.report', driverId: w.driverRecordId, lat: 52.52, lng: 13.4, headingDeg: 90, speedKmh: 30 },
      { type: 'position.report', driverId: w.driverRecordId, lat: 52.53, lng: 13.41, headingDeg: null, speedKmh: null, createdAt: clock.now() + 86_400_000 },
    ]);
    expect(results.map((r) => r.status)).toEqual(['applied', 'applied']);
    const history = await w.ctx.db.selectFrom('position_history').selectAll().where('driver_id', '=', w.driverRecordId).orderBy('lat').execute();
    expect(history).toHaveLength(before.length + 2);
    expect(history.slice(-2).map((h) => [h.lat, h.lng, h.location_id, Number(h.recorded_at)])).toEqual([
      [52.52, 13.4, w.A, clock.now()], [52.53, 13.41, w.A, clock.now()],
    ]);
    // The live position is still one row, the last report.
    const live = await w.ctx.db.selectFrom('positions').selectAll().where('driver_id', '=', w.driverRecordId).execute();
    expect(live.map((p) => p.lat)).toEqual([52.53]);
  });

  it('ends the driver\u2019s access a grace period after the route completes and tells the device to remove it', async () => {
    const A1 = w.routes.A1;
    const [s0, s1] = w.stops.A1;
    const first = await pull(driver, 0);
    expect(stopsOf(first.changes, A1).map((c) => c.entity === 'stop' && c.data.customerName)).toEqual([s0!.customerName, s1!.customerName]);
    const cursor = first.cursor;

    // The driver delivers one stop and fails the other: the route is complete at the last one.
    await push(driver, [
      { type: 'stop.setStatus', stopId: s0!.id, to: 'en_route' }, { type: 'stop.setStatus', stopId: s0!.id, to: 'arrived' },
      { type: 'stop.setStatus', stopId: s0!.id, to: 'delivered' }, { type: 'stop.setStatus', stopId: s1!.id, to: 'en_route' },
    ]);
    expect((await route(A1)).completed_at).toBeNull();
    const results = await push(driver, [{ type: 'stop.setStatus', stopId: s1!.id, to: 'failed', failureReason: 'customer_absent' }]);
    expect(results[0]!.status).toBe('applied');
    const completedAt = clock.now();
    expect(await route(A1)).toMatchObject({ completed_at: completedAt, driver_access_until: completedAt + grace * 60_000, driver_removal_at: null });

    // Within the grace period the route is still the driver's (a fresh device gets it whole).
    clock.advance(grace * 60_000 - 1000);
    expect(stopsOf((await pull(driver, 0)).changes, A1)).toHaveLength(2);
    expect(await sendDriverRemovals(w.ctx, feed(), clock.now())).toBe(0);

    // Once it is over, nothing of the route's customers reaches the driver any more.
    clock.advance(2000);
    const fresh = await pull(driver, 0);
    expect(stopsOf(fresh.changes, A1)).toEqual([]);
    expect(JSON.stringify(fresh.changes)).not.toContain(s0!.customerName);
    const refused = await push(driver, [{ type: 'stop.setStatus', stopId: s1!.id, to: 'planned' }]);
    expect(refused[0]).toMatchObject({ status: 'rejected', code: 'forbidden' });

    // The sweep writes the route's change: the connected device hears `removed` at once ... (the
    // server's own sweep, on its one-minute timer, may be the one that does it on a slow machine)
    driver.received.length = 0;
    await sendDriverRemovals(w.ctx, feed(), clock.now());
    await expect.poll(() => removedRoute(driver.received, A1), { timeout: 15_000 }).toBe(true);
    expect(JSON.stringify(driver.received)).not.toContain(s0!.customerName);
    // ... and a device that was offline gets the same from its next pull, with no stop of the route.
    const later = await pull(driver, cursor);
    expect(removedRoute(later.changes, A1)).toBe(true);
    expect(stopsOf(later.changes, A1)).toEqual([]);
    expect((await route(A1)).driver_removal_at).toBe(clock.now());
    const audit = await w.ctx.db.selectFrom('audit_log').select(['action', 'actor', 'location_id']).where('target_id', '=', A1)
      .where('action', '=', 'route.driver_access_ended').execute();
    expect(audit).toEqual([{ action: 'route.driver_access_ended', actor: 'system', location_id: w.A }]);
    // Run again: nothing more to do, nothing written twice.
    expect(await sendDriverRemovals(w.ctx, feed(), clock.now())).toBe(0);

    // A dispatcher's later edit of the route's stop does not reach the driver; one on a route
    // still theirs does (sent after it, so its arrival proves the first was not sent).
    await insertRoute(w.ctx, w.A, 'route-a3', w.driverRecordId);
    const [s3] = await insertStops(w.ctx, w.A, 'route-a3', 1);
    const dispatcher = await connectSocket(w.server.url, w.users.dispatcher.token);
    driver.received.length = 0;
    await push(dispatcher, [
      { type: 'stop.editNotes', stopId: s0!.id, notes: 'after the route ended' },
      { type: 'stop.editNotes', stopId: s3!.id, notes: 'still the driver\u2019s' },
    ]);
    await expect.poll(() => driver.received.some((c) => (c as Change).entity === 'stop' && (c as { data: { id: string } }).data.id === s3!.id), { timeout: 15_000 }).toBe(true);
    expect(stopsOf(driver.received as Change[], A1)).toEqual([]);

    // Rescheduling the failed stop reopens the route: the driver's device gets it whole again.
    driver.received.length = 0;
    const reopened = await push(dispatcher, [{ type: 'stop.setStatus', stopId: s1!.id, to: 'planned' }]);
    expect(reopened[0]!.status).toBe('applied');
    expect(await route(A1)).toMatchObject({ completed_at: null, driver_access_until: null, driver_removal_at: null });
    await expect.poll(() => stopsOf(driver.received as Change[], A1).map((c) => c.entity === 'stop' && c.data.id).sort(), { timeout: 15_000 })
      .toEqual([s0!.id, s1!.id].sort());
    expect(driver.received.some((c) => (c as Change).entity === 'route' && (c as { data: { id: string } }).data.id === A1)).toBe(true);
    const back = await pull(driver, later.cursor);
    expect(stopsOf(back.changes, A1)).toHaveLength(2);
    dispatcher.close();
  });

  it('completes a route when its last open stop moves away, and reopens it when a stop is added', async () => {
    const A2 = w.routes.A2;
    const [s0, s1] = w.stops.A2;
    const dispatcher = await connectSocket(w.server.url, w.users.dispatcher.token);
    expect((await push(dispatcher, [{ type: 'stop.cancel', stopId: s0!.id }]))[0]!.status).toBe('applied');
    expect((await route(A2)).completed_at).toBeNull();
    expect((await push(dispatcher, [{ type: 'stop.move', stopId: s1!.id, fromRouteId: A2, toRouteId: 'route-a3', sequence: 0 }]))[0]!.status).toBe('applied');
    expect((await route(A2)).completed_at).toBe(clock.now());
    expect((await route('route-a3')).completed_at).toBeNull();
    // A stop added outside the push (REST, CLI, import) reopens the route as well.
    await w.ctx.db.transaction().execute((trx) => createStopIn(w.ctx, trx, { userId: null, label: 'test', deviceId: null, ip: null }, {
      locationId: w.A, routeId: A2, customerName: 'Late Order', address: '9 Ring Road', phone: null, window: { start: clock.now(), end: clock.now() + 3_600_000 },
    }, clock.now()));
    expect(await route(A2)).toMatchObject({ completed_at: null, driver_access_until: null });
    dispatcher.close();
  });
});
