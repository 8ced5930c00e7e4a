import { describe, expect, it } from 'vitest';
import {
  activeRouteOf, type AttentionInput, type AttentionRoute, type AttentionStop, compareByAttention, computeAttention, emptyAttentionCounts, isLate,
  needsAttention,
} from './attention';
import type { EtaSettings } from './eta';

const min = 60_000;
/** 10:00 in Berlin (CET) on 2026-03-10. */
const now = Date.UTC(2026, 2, 10, 9, 0);
const today = '2026-03-10';
const settings: EtaSettings = { averageSpeedKmh: 60, serviceMinutes: 5, roadFactor: 1, positionMaxAgeMinutes: 30 };
const km = (x: number) => ({ lat: 0, lng: x / 111.19508 });

let n = 0;
function stop(routeId: string, overrides: Partial<AttentionStop> & { x?: number | null } = {}): AttentionStop {
  const { x = 10, ...rest } = overrides;
  return {
    id: `s${++n}`, routeId, sequence: n, status: 'planned', window: { start: now - 60 * min, end: now + 60 * min },
    coordinates: x === null ? null : km(x), reportedEta: null, ...rest,
  };
}
const route = (id: string, driverId: string | null = `drv-${id}`, date = today): AttentionRoute => ({ id, date, driverId });
const position = (driverId: string, x = 0, age = 2 * min) => ({ driverId, ...km(x), recordedAt: now - age });
const input = (overrides: Partial<AttentionInput>): AttentionInput => ({
  now, timeZone: 'Europe/Berlin', routes: [], stops: [], positions: [], settings, ...overrides,
});

describe('late', () => {
  it('is an open stop whose window ended before now; the last millisecond of the window is not late', () => {
    const s = { status: 'planned' as const, window: { end: now } };
    expect(isLate(s, now)).toBe(false);
    expect(isLate(s, now + 1)).toBe(true);
    expect(isLate({ ...s, status: 'en_route' }, now + 1)).toBe(true);
    expect(isLate({ ...s, status: 'arrived' }, now + 1)).toBe(true);
  });

  it('never counts a delivered, failed or cancelled stop as late, however old its window', () => {
    for (const status of ['delivered', 'failed', 'cancelled'] as const) expect(isLate({ status, window: { end: 0 } }, now)).toBe(false);
  });

  it('changes as time passes, with nothing else changing', () => {
    const stops = [stop('r1', { window: { start: now - 60 * min, end: now + 30 * min } })];
    const at = (t: number) => computeAttention(input({ now: t, routes: [route('r1')], stops })).depot.late;
    expect(at(now)).toBe(0);
    expect(at(now + 30 * min)).toBe(0);
    expect(at(now + 30 * min + 1)).toBe(1);
  });

  it("counts yesterday's open stops as late (all of them), and tomorrow's as not", () => {
    const stops = [stop('yesterday', { window: { start: now - 25 * 60 * min, end: now - 24 * 60 * min } }), stop('tomorrow', { window: { start: now + 23 * 60 * min, end: now + 24 * 60 * min } })];
    const r = computeAttention(input({ routes: [route('yesterday', 'd1', '2026-03-09'), route('tomorrow', 'd2', '2026-03-11')], stops }));
    expect(r.routes.get('yesterday')!.late).toBe(1);
    expect(r.routes.get('tomorrow')!.late).toBe(0);
  });
});

describe('at risk and ETA', () => {
  it("flags an open stop whose estimate is after its window's end, and only while it is not late", () => {
    // 60 km away at 60 km/h: an hour; the window ends in 30 minutes.
    const far = stop('r1', { x: 60, window: { start: now - 60 * min, end: now + 30 * min } });
    const r = computeAttention(input({ routes: [route('r1')], stops: [far], positions: [position('drv-r1')] }));
    expect(r.stops.get(far.id)).toEqual({ eta: now + 60 * min, etaSource: 'estimate', attention: 'at_risk' });
    expect(r.depot).toMatchObject({ atRisk: 1, late: 0 });
    const later = computeAttention(input({ now: now + 31 * min, routes: [route('r1')], stops: [far], positions: [position('drv-r1', 0, 2 * min - 31 * min)] }));
    expect(later.stops.get(far.id)!.attention).toBe('late');
    expect(later.depot).toMatchObject({ atRisk: 0, late: 1 });
  });

  it('an ETA exactly at the window end is not at risk', () => {
    const s = stop('r1', { x: 60, window: { start: now - 60 * min, end: now + 60 * min } });
    expect(computeAttention(input({ routes: [route('r1')], stops: [s], positions: [position('drv-r1')] })).stops.get(s.id)).toEqual({ eta: now + 60 * min, etaSource: 'estimate', attention: null });
  });

  it('no position, a stale position, or no coordinates: no estimate, never at risk', () => {
    const s = stop('r1', { x: 600 });
    const noPosition = computeAttention(input({ routes: [route('r1')], stops: [s] }));
    expect(noPosition.stops.get(s.id)).toEqual({ eta: null, etaSource: null, attention: null });
    const stale = computeAttention(input({ routes: [route('r1')], stops: [s], positions: [position('drv-r1', 0, 31 * min)] }));
    expect(stale.stops.get(s.id)!.eta).toBeNull();
    const fresh = computeAttention(input({ routes: [route('r1')], stops: [s], positions: [position('drv-r1', 0, 30 * min)] }));
    expect(fresh.stops.get(s.id)!.attention).toBe('at_risk');
    const unplaced = stop('r1', { x: null });
    const noCoordinates = computeAttention(input({ routes: [route('r1')], stops: [unplaced], positions: [position('drv-r1')] }));
    expect(noCoordinates.stops.get(unplaced.id)).toEqual({ eta: null, etaSource: null, attention: null });
    expect(noCoordinates.depot.atRisk).toBe(0);
  });

  it('falls back to the ETA recorded on the stop, and says so', () => {
    const s = stop('r1', { x: null, reportedEta: now + 90 * min });
    expect(computeAttention(input({ routes: [route('r1')], stops: [s] })).stops.get(s.id)).toEqual({ eta: now + 90 * min, etaSource: 'reported', attention: 'at_risk' });
    const done = stop('r1', { status: 'delivered', reportedEta: now + 90 * min });
    expect(computeAttention(input({ routes: [route('r1')], stops: [done] })).stops.get(done.id)).toEqual({ eta: null, etaSource: null, attention: null });
  });

  it("estimates only today's routes in the depot's zone", () => {
    // 23:30 UTC on the 9th is 00:30 on the 10th in Berlin: the route of the 10th is today's there.
    const t = Date.UTC(2026, 2, 9, 23, 30);
    const s = stop('r1', { x: 10, window: { start: t, end: t + 600 * min } });
    const at = (date: string, timeZone: string) =>
      computeAttention(input({ now: t, timeZone, routes: [route('r1', 'drv-r1', date)], stops: [s], positions: [{ ...position('drv-r1'), recordedAt: t }] })).stops.get(s.id)!.eta;
    expect(at('2026-03-10', 'Europe/Berlin')).toBe(t + 10 * min);
    expect(at('2026-03-10', 'UTC')).toBeNull();
    expect(at('2026-03-09', 'UTC')).toBe(t + 10 * min);
    expect(computeAttention(input({ now: t, timeZone: 'Europe/Berlin' })).today).toBe('2026-03-10');
  });

  it("estimates a driver's active route only; two routes with work and none active: no estimate", () => {
    const a = [stop('a', { x: 10 })];
    const b = [stop('b', { x: 10 })];
    const routes = [route('a', 'd1'), route('b', 'd1')];
    const idle = computeAttention(input({ routes, stops: [...a, ...b], positions: [position('d1')] }));
    expect(idle.stops.get(a[0]!.id)!.eta).toBeNull();
    expect(idle.stops.get(b[0]!.id)!.eta).toBeNull();
    const bActive = [...b, stop('b', { status: 'en_route', x: 5, sequence: 0 })];
    const working = computeAttention(input({ routes, stops: [...a, ...bActive], positions: [position('d1')] }));
    expect(working.stops.get(a[0]!.id)!.eta).toBeNull();
    expect(working.stops.get(b[0]!.id)!.eta).toBe(now + 15 * min);
    // A finished first route does not stand in the way.
    const doneA = [stop('a', { status: 'delivered' })];
    expect(computeAttention(input({ routes, stops: [...doneA, ...b], positions: [position('d1')] })).stops.get(b[0]!.id)!.eta).toBe(now + 10 * min);
    expect(activeRouteOf([], new Map())).toBeNull();
  });
});

describe('counts', () => {
  it('counts per route and sums the depot, with unassigned routes and their open stops', () => {
    const stops = [
      stop('r1', { status: 'delivered' }), stop('r1', { status: 'failed' }), stop('r1', { status: 'cancelled' }),
      stop('r1', { window: { start: now - 120 * min, end: now - 60 * min } }),
      stop('nobody'), stop('nobody', { status: 'en_route', window: { start: 0, end: now - 1 } }), stop('nobody', { status: 'delivered' }),
      stop('empty-nobody', { status: 'delivered' }),
      stop('not-on-board'),
    ];
    const r = computeAttention(input({ routes: [route('r1'), route('nobody', null), route('empty-nobody', null)], stops }));
    expect(r.routes.get('r1')).toEqual({ late: 1, atRisk: 0, unassigned: 0, failed: 1, delivered: 1, open: 1, total: 4 });
    expect(r.routes.get('nobody')).toEqual({ late: 1, atRisk: 0, unassigned: 2, failed: 0, delivered: 1, open: 2, total: 3 });
    expect(r.routes.get('empty-nobody')).toEqual({ ...emptyAttentionCounts(), delivered: 1, total: 1 });
    expect(r.depot).toEqual({ late: 2, atRisk: 0, unassigned: 2, failed: 1, delivered: 3, open: 3, total: 8, routes: 3, unassignedRoutes: 1 });
    expect(r.stops.has(stops.at(-1)!.id)).toBe(false);
  });

  it('an empty day is all zeros', () => {
    expect(computeAttention(input({})).depot).toEqual({ ...emptyAttentionCounts(), routes: 0, unassignedRoutes: 0 });
  });

  it('a delivery takes a late stop out of the late count', () => {
    const late = stop('r1', { window: { start: now - 120 * min, end: now - 60 * min } });
    expect(computeAttention(input({ routes: [route('r1')], stops: [late] })).depot.late).toBe(1);
    expect(computeAttention(input({ routes: [route('r1')], stops: [{ ...late, status: 'delivered' }] })).depot).toMatchObject({ late: 0, delivered: 1 });
  });

  it('orders routes by late, then at risk, then unassigned, then failed', () => {
    const c = (o: Partial<ReturnType<typeof emptyAttentionCounts>>) => ({ ...emptyAttentionCounts(), ...o });
    const list = [c({ failed: 9 }), c({ unassigned: 1 }), c({}), c({ atRisk: 2 }), c({ late: 1 }), c({ atRisk: 2, failed: 1 })];
    expect([...list].sort(compareByAttention)).toEqual([c({ late: 1 }), c({ atRisk: 2, failed: 1 }), c({ atRisk: 2 }), c({ unassigned: 1 }), c({ failed: 9 }), c({})]);
    expect(needsAttention(c({}))).toBe(false);
    expect(needsAttention(c({ delivered: 3, open: 2, total: 5 }))).toBe(false);
    expect(needsAttention(c({ failed: 1 }))).toBe(true);
  });

  it('stays cheap for a depot-sized day (20,000 stops, 250 routes, 200 drivers)', () => {
    const routes = Array.from({ length: 250 }, (_, i) => route(`big-${i}`, i < 200 ? `d${i}` : null));
    const stops = Array.from({ length: 20_000 }, (_, i) => stop(`big-${i % 250}`, { x: (i % 80) / 4, sequence: Math.floor(i / 250) }));
    const positions = Array.from({ length: 200 }, (_, i) => position(`d${i}`, i % 7));
    const r = computeAttention(input({ routes, stops, positions }));
    expect(r.stops.size).toBe(20_000);
    expect(r.depot.unassignedRoutes).toBe(50);
    expect(r.depot.unassigned).toBe(50 * 80);
    expect([...r.stops.values()].filter((s) => s.etaSource === 'estimate')).toHaveLength(200 * 80);
  });
});
