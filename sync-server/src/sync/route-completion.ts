import type { StopStatus } from '@depotline/shared';
import type { ServerConfig } from '../config';
import type { Db } from '../db/database';
import { recordChange } from './change-log';
import type { Applied, Touched } from './mutations/handler';

/**
 * When a route is complete, and how long its driver keeps it (docs/security-model.md, "Driver
 * devices"). A route is complete once it has stops and every one of them is closed: delivered,
 * cancelled, or failed (a failed stop rescheduled goes back to planned and reopens the route).
 * Completion sets `completed_at` and `driver_access_until` (completion plus
 * DEPOTLINE_DRIVER_ACCESS_GRACE_MIN); from then on the driver's own-route permissions no longer
 * reach the route or its stops (sync/visibility.ts, the live feed, stop mutations, proofs), and
 * sync/driver-access.ts writes the change that tells the driver's device to remove them.
 */

export const closedStopStatuses: readonly StopStatus[] = ['delivered', 'failed', 'cancelled'];

/** Whether a route is still open to its driver at `now` (an incomplete route always is). */
export function driverAccessOpen(route: { driver_access_until: number | null }, now: number): boolean {
  return route.driver_access_until === null || Number(route.driver_access_until) > now;
}

/**
 * Sets or clears the completion of each route from its stops, in the caller's transaction.
 * A route reopened after its driver's device was told to remove it is sent again whole (the
 * route and each of its stops get a new version), so the device holds all of it once more;
 * those changes are returned for the live feed.
 */
export async function refreshRouteCompletion(trx: Db, config: Pick<ServerConfig, 'driverDevices'>, routeIds: Iterable<string>, now: number): Promise<Touched[]> {
  const touched: Touched[] = [];
  for (const routeId of new Set(routeIds)) {
    // One statement per route: the route and whether it has stops and an open one. `exists`
    // stops at the first row it finds, where counting read every stop of the route.
    const route = await trx.selectFrom('routes')
      .select((eb) => [
        'id', 'location_id', 'completed_at', 'driver_removal_at',
        eb.exists(eb.selectFrom('stops').select(eb.lit(1).as('one')).whereRef('stops.route_id', '=', 'routes.id')).as('has_stops'),
        eb.exists(eb.selectFrom('stops').select(eb.lit(1).as('one')).whereRef('stops.route_id', '=', 'routes.id')
          .where('stops.status', 'not in', closedStopStatuses)).as('has_open'),
      ])
      .where('id', '=', routeId).executeTakeFirst();
    if (!route) continue;
    // SQLite answers `exists` as 0/1, PostgreSQL as a boolean.
    const complete = Boolean(route.has_stops) && !route.has_open;
    if (complete && route.completed_at === null) {
      await trx.updateTable('routes').set({ completed_at: now, driver_access_until: now + config.driverDevices.accessGraceMin * 60_000 }).where('id', '=', routeId).execute();
    } else if (!complete && route.completed_at !== null) {
      await trx.updateTable('routes').set({ completed_at: null, driver_access_until: null, driver_removal_at: null }).where('id', '=', routeId).execute();
      if (route.driver_removal_at !== null) touched.push(...(await resendRoute(trx, route.location_id, routeId, now)));
    }
  }
  return touched;
}

async function resendRoute(trx: Db, locationId: string, routeId: string, now: number): Promise<Touched[]> {
  const touched: Touched[] = [];
  const version = await recordChange(trx, locationId, 'route', routeId, now);
  await trx.updateTable('routes').set({ version }).where('id', '=', routeId).execute();
  touched.push({ entity: 'route', id: routeId, locationId });
  const stops = await trx.selectFrom('stops').select('id').where('route_id', '=', routeId).orderBy('sequence').orderBy('id').execute();
  for (const s of stops) {
    const v = await recordChange(trx, locationId, 'stop', s.id, now);
    await trx.updateTable('stops').set({ version: v }).where('id', '=', s.id).execute();
    touched.push({ entity: 'stop', id: s.id, locationId });
  }
  return touched;
}

/**
 * The routes a mutation may have completed or reopened: the routes it touched, the routes of the
 * stops it touched, and the route a moved stop left. None when the handler says the mutation
 * cannot have changed any route's completion (a status change between two open statuses, an edit
 * of notes or order fields).
 */
export async function refreshCompletionAfter(trx: Db, config: Pick<ServerConfig, 'driverDevices'>, applied: Applied, now: number): Promise<Touched[]> {
  if (applied.completionUnchanged === true) return [];
  const routeIds = new Set<string>(applied.touched.filter((t) => t.entity === 'route').map((t) => t.id));
  const stopIds = applied.touched.filter((t) => t.entity === 'stop' && !t.removed).map((t) => t.id);
  for (let i = 0; i < stopIds.length; i += 500) {
    const rows = await trx.selectFrom('stops').select('route_id').distinct().where('id', 'in', stopIds.slice(i, i + 500)).execute();
    for (const r of rows) routeIds.add(r.route_id);
  }
  const before = applied.before;
  if (before && 'route_id' in before && typeof before.route_id === 'string') routeIds.add(before.route_id);
  return refreshRouteCompletion(trx, config, routeIds, now);
}
