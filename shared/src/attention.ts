import { z } from 'zod';
import type { StopStatus } from './domain';
import { type EtaSettings, type EtaStop, estimateRouteEtas, isOpenStopStatus, type LatLng } from './eta';
import { dateInZone } from './zoned-date';

/**
 * What needs the dispatcher's attention, per route and for the depot. Pure: the time ("now")
 * and everything else come in as arguments, so the console, tests and any later server report
 * count alike.
 *
 * - **open**: planned, en route or arrived (the driver still has to do something).
 * - **late**: open, and the time window's end has passed (`now > window.end`; a stop is not late
 *   at the very millisecond its window ends).
 * - **at risk**: open, not late, and its ETA is after the window's end. The ETA is the estimate
 *   (eta.ts) where one can be made, else the ETA recorded on the stop; a stop with neither is
 *   never at risk (unknown, not a guess).
 * - **unassigned**: the open stops of a route with no driver. A route with no driver and at
 *   least one open stop is an unassigned route. A vehicle is not needed for this: the driver is
 *   who does the work.
 * - **failed**, **delivered**: stops in that status (cancelled stops are counted in `total` only).
 */

export const AttentionCounts = z.object({
  late: z.number().int().nonnegative(),
  atRisk: z.number().int().nonnegative(),
  unassigned: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  delivered: z.number().int().nonnegative(),
  open: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
});
export type AttentionCounts = z.infer<typeof AttentionCounts>;

export const DepotAttention = AttentionCounts.extend({
  routes: z.number().int().nonnegative(),
  /** Routes with no driver that still have open stops. */
  unassignedRoutes: z.number().int().nonnegative(),
});
export type DepotAttention = z.infer<typeof DepotAttention>;

export const StopAttention = z.enum(['late', 'at_risk']);
export type StopAttention = z.infer<typeof StopAttention>;

/** Where a stop's ETA comes from: the console's estimate, or the value recorded on the stop. */
export const EtaSource = z.enum(['estimate', 'reported']);
export type EtaSource = z.infer<typeof EtaSource>;

export interface AttentionRoute {
  id: string;
  /** `YYYY-MM-DD` in the depot's zone. */
  date: string;
  driverId: string | null;
}

export interface AttentionStop extends EtaStop {
  routeId: string;
  /** The ETA recorded on the stop (`Stop.eta`), if any. */
  reportedEta: number | null;
}

export interface AttentionPosition extends LatLng {
  driverId: string;
  recordedAt: number;
}

export interface AttentionInput {
  now: number;
  /** The depot's IANA time zone: ETAs are estimated for today's routes there only. */
  timeZone: string;
  routes: readonly AttentionRoute[];
  /** Stops of routes not in `routes` are left out (not on the board). */
  stops: readonly AttentionStop[];
  /** Last known position per driver; pass none when the viewer may not see positions. */
  positions: readonly AttentionPosition[];
  settings: EtaSettings;
}

export interface StopEstimate {
  eta: number | null;
  etaSource: EtaSource | null;
  attention: StopAttention | null;
}

export interface AttentionResult {
  /** The depot's today at `now`. */
  today: string;
  depot: DepotAttention;
  routes: Map<string, AttentionCounts>;
  stops: Map<string, StopEstimate>;
}

export const emptyAttentionCounts = (): AttentionCounts => ({ late: 0, atRisk: 0, unassigned: 0, failed: 0, delivered: 0, open: 0, total: 0 });

/** Whether a stop is late at `now`: open, and its window ended before now. */
export function isLate(stop: { status: StopStatus; window: { end: number } }, now: number): boolean {
  return isOpenStopStatus(stop.status) && now > stop.window.end;
}

/**
 * The route a driver is working on today, the one an estimate from their position is for:
 * their only route of the day with open stops or, when they have several, the one with a stop
 * arrived or en route. Null when that is ambiguous (several, or several active): no estimate
 * rather than a wrong one.
 */
export function activeRouteOf<R extends AttentionRoute>(routes: readonly R[], stopsByRoute: ReadonlyMap<string, readonly AttentionStop[]>): R | null {
  const withWork = routes.filter((r) => (stopsByRoute.get(r.id) ?? []).some((s) => isOpenStopStatus(s.status)));
  if (withWork.length <= 1) return withWork[0] ?? null;
  const active = withWork.filter((r) => (stopsByRoute.get(r.id) ?? []).some((s) => s.status === 'arrived' || s.status === 'en_route'));
  return active.length === 1 ? active[0]! : null;
}

/** Estimated ETAs of today's routes: one walk per driver with a fresh position, on their active route. */
export function estimateDayEtas(input: AttentionInput, stopsByRoute: ReadonlyMap<string, readonly AttentionStop[]>): Map<string, number> {
  const today = dateInZone(input.now, input.timeZone);
  const maxAgeMs = input.settings.positionMaxAgeMinutes * 60_000;
  const byDriver = new Map<string, AttentionRoute[]>();
  for (const route of input.routes) {
    if (route.date !== today || route.driverId === null) continue;
    byDriver.set(route.driverId, [...(byDriver.get(route.driverId) ?? []), route]);
  }
  const etas = new Map<string, number>();
  for (const position of input.positions) {
    if (input.now - position.recordedAt > maxAgeMs) continue;
    const route = activeRouteOf(byDriver.get(position.driverId) ?? [], stopsByRoute);
    if (!route) continue;
    for (const [id, eta] of estimateRouteEtas(stopsByRoute.get(route.id) ?? [], position, input.now, input.settings)) etas.set(id, eta);
  }
  return etas;
}

/** Counts per route and for the depot, and each stop's ETA and flag, at `input.now`. */
export function computeAttention(input: AttentionInput): AttentionResult {
  const routeIds = new Set(input.routes.map((r) => r.id));
  const stopsByRoute = new Map<string, AttentionStop[]>();
  for (const stop of input.stops) {
    if (!routeIds.has(stop.routeId)) continue;
    const list = stopsByRoute.get(stop.routeId);
    if (list) list.push(stop);
    else stopsByRoute.set(stop.routeId, [stop]);
  }
  const estimates = estimateDayEtas(input, stopsByRoute);
  const depot: DepotAttention = { ...emptyAttentionCounts(), routes: input.routes.length, unassignedRoutes: 0 };
  const routes = new Map<string, AttentionCounts>();
  const stops = new Map<string, StopEstimate>();
  for (const route of input.routes) {
    const counts = emptyAttentionCounts();
    for (const stop of stopsByRoute.get(route.id) ?? []) {
      const estimate = stopEstimate(stop, estimates.get(stop.id), input.now);
      stops.set(stop.id, estimate);
      count(counts, stop.status, estimate, route.driverId === null);
    }
    routes.set(route.id, counts);
    for (const key of Object.keys(counts) as Array<keyof AttentionCounts>) depot[key] += counts[key];
    if (route.driverId === null && counts.open > 0) depot.unassignedRoutes++;
  }
  return { today: dateInZone(input.now, input.timeZone), depot, routes, stops };
}

function stopEstimate(stop: AttentionStop, estimated: number | undefined, now: number): StopEstimate {
  const open = isOpenStopStatus(stop.status);
  const eta = !open ? null : estimated ?? (stop.status === 'arrived' ? null : stop.reportedEta);
  const etaSource: EtaSource | null = eta === null ? null : estimated !== undefined ? 'estimate' : 'reported';
  const attention: StopAttention | null = isLate(stop, now) ? 'late' : open && eta !== null && eta > stop.window.end ? 'at_risk' : null;
  return { eta, etaSource, attention };
}

function count(counts: AttentionCounts, status: StopStatus, estimate: StopEstimate, noDriver: boolean): void {
  counts.total++;
  if (status === 'delivered') counts.delivered++;
  else if (status === 'failed') counts.failed++;
  if (!isOpenStopStatus(status)) return;
  counts.open++;
  if (noDriver) counts.unassigned++;
  if (estimate.attention === 'late') counts.late++;
  else if (estimate.attention === 'at_risk') counts.atRisk++;
}

/**
 * Order of routes by need of attention, most first: more late stops, then more at risk, then
 * more unassigned, then more failed. Zero when equal (the caller breaks ties, e.g. by name).
 */
export function compareByAttention(a: AttentionCounts, b: AttentionCounts): number {
  return b.late - a.late || b.atRisk - a.atRisk || b.unassigned - a.unassigned || b.failed - a.failed;
}

/** Whether anything on a route needs a look (late, at risk, unassigned or failed stops). */
export function needsAttention(c: AttentionCounts): boolean {
  return c.late + c.atRisk + c.unassigned + c.failed > 0;
}
