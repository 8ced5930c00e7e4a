/**
 * What the public tracking page must not give away, tried as someone holding a link would: the
 * driver's position through the ETA (polling `/t/<token>/status` while the driver moves); and
 * that view counts are audited without a later view (the token in the error log:
 * http/error-middleware.test.ts).
 */
import { haversineKm, type LatLng, type PushResponse } from '@depotline/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testClock, type TestClock } from '../../test/factories';
import { backends } from '../../test/harness';
import { buildWorld, eventually, mutationId, rest, type World, type WorldUser } from '../../test/world';
import { etaStepMs, gridKm, snapToGrid } from './coarse';
import { startTrackingHitAudits } from './hits';

interface StatusJson { eta: number | null; asOf: number; approxDistanceKm: number | null; status: string; window: { start: number; end: number } }

const kmNorth = (p: LatLng, km: number): LatLng => ({ lat: p.lat + km / 111.32, lng: p.lng });

describe.each(backends)('tracking page privacy (%s)', (backend) => {
  let w: World;
  let clock: TestClock;

  async function push(user: WorldUser, mutation: Record<string, unknown>) {
    const m = { id: mutationId(), locationId: user.locationId, createdAt: clock.now(), ...mutation };
    const res = await rest(w, 'POST', '/sync/push', user.token, { mutations: [m] });
    return (res.body as unknown as PushResponse).results[0]!;
  }
  async function status(path: string): Promise<StatusJson> {
    const res = await fetch(`${w.server.url}${path}/status`);
    expect(res.status).toBe(200);
    return await res.json() as StatusJson;
  }
  async function driverAt(p: LatLng) {
    clock.advance(1_000);
    expect(await push(w.users.driver, { type: 'position.report', driverId: w.driverRecordId, lat: p.lat, lng: p.lng, headingDeg: null, speedKmh: null }))
      .toMatchObject({ status: 'applied' });
  }

  beforeEach(async () => {
    w = await buildWorld(backend, 1);
    clock = testClock(Date.now());
    // On a minute, so the dozen position reports below stay within it.
    clock.set(Math.floor(Date.now() / 60_000) * 60_000);
    w.ctx.now = clock.now;
  }, 120_000);
  afterEach(async () => {
    await w?.dispose();
  });

  it('the ETA and asOf are steps computed from a snapped position: polling while the driver moves does not give their distance', async () => {
    const home = { lat: 52.52, lng: 13.405 };
    const routeId = 'route-privacy';
    const stopId = 'stop-privacy';
    expect(await push(w.users.manager, { type: 'route.create', routeId, name: 'privacy', date: '2026-11-30' })).toMatchObject({ status: 'applied' });
    expect(await push(w.users.manager, {
      type: 'stop.create', stopId, routeId, sequence: 1, customerName: 'C', address: 'A', phone: null, notes: '', window: { start: 0, end: 4_000_000_000_000 }, coordinates: home,
    })).toMatchObject({ status: 'applied' });
    expect(await push(w.users.manager, { type: 'route.assign', routeId, driverId: w.driverRecordId, vehicleId: null })).toMatchObject({ status: 'applied' });
    const made = await rest(w, 'POST', `/stops/${stopId}/tracking-links`, w.users.dispatcher.token, {});
    expect(made.status).toBe(201);
    const path = new URL(String(made.body!['url'])).pathname;
    expect(await push(w.users.driver, { type: 'stop.setStatus', stopId, to: 'en_route' })).toMatchObject({ status: 'applied' });

    // The reviewer's point: from the exact position, eta - asOf was the distance to the millimetre.
    const exact = { lat: 52.53123, lng: 13.38765 };
    await driverAt(exact);
    const first = await status(path);
    expect(first.status).toBe('on_the_way');
    expect(first.eta).not.toBeNull();
    expect(first.eta! % etaStepMs).toBe(0);
    expect(first.asOf % 60_000).toBe(0);
    expect(first.approxDistanceKm).toBeNull();

    // Two positions 1.6 km apart in one grid cell: the same answer, byte for byte.
    const cell = snapToGrid(exact);
    expect(gridKm).toBeGreaterThanOrEqual(2);
    await driverAt(kmNorth(cell, 0.8));
    const north = await status(path);
    await driverAt(kmNorth(cell, -0.8));
    const south = await status(path);
    expect(haversineKm(kmNorth(cell, 0.8), kmNorth(cell, -0.8))).toBeGreaterThan(1.5);
    expect(south).toEqual(north);

    // Driving 3 km towards the customer in 250 m steps: at most two different answers.
    const etas = new Set<number | null>();
    const start = kmNorth(home, 6);
    for (let km = 0; km <= 3; km += 0.25) {
      await driverAt(kmNorth(start, -km));
      etas.add((await status(path)).eta);
    }
    expect(etas.size).toBeLessThanOrEqual(2);
    expect([...etas].every((e) => e !== null && e % etaStepMs === 0)).toBe(true);
  });

  it('a hour of views is audited by the timer, with no later view, and at shutdown', async () => {
    const made = await rest(w, 'POST', `/stops/${w.stops.A1[0]!.id}/tracking-links`, w.users.dispatcher.token, {});
    const path = new URL(String(made.body!['url'])).pathname;
    expect((await fetch(`${w.server.url}${path}`)).status).toBe(200);
    const viewed = () => w.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'tracking_link.viewed').execute();

    // The hour ends; nobody opens the link again. The timer (here every 50 ms) audits it.
    clock.advance(3_600_000);
    const audits = startTrackingHitAudits(w.ctx, 50);
    try {
      expect(await eventually(async () => (await viewed()).length === 1, 20_000)).toBe(true);
    } finally {
      await audits.stop();
    }
    expect(JSON.parse((await viewed())[0]!.details)).toMatchObject({ views: 1 });

    // Shutdown flushes what is due, even when the timer has not fired yet.
    expect((await fetch(`${w.server.url}${path}/status`)).status).toBe(200);
    clock.advance(3_600_000);
    await startTrackingHitAudits(w.ctx, 3_600_000).stop();
    expect(await viewed()).toHaveLength(2);
  });
});
