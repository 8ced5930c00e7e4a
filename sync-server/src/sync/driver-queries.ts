import type { Db } from '../db/database';

/** Which driver records belong to which signed-in user: what "assigned to the caller" rests on. */

/** Ids of the driver records that belong to this user at this location. */
export async function driverIdsOfUser(db: Db, userId: string, locationId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('drivers').select('id').where('user_id', '=', userId).where('location_id', '=', locationId).execute();
  return new Set(rows.map((r) => r.id));
}

/**
 * The user id of the driver assigned to a route while the route is still theirs at `now` (not
 * complete, or within its grace period: sync/route-completion.ts); null otherwise.
 */
export async function driverUserOfOpenRoute(db: Db, routeId: string, now: number): Promise<string | null> {
  const row = await db
    .selectFrom('routes')
    .innerJoin('drivers', 'drivers.id', 'routes.driver_id')
    .select(['drivers.user_id', 'routes.driver_access_until'])
    .where('routes.id', '=', routeId)
    .executeTakeFirst();
  return row && (row.driver_access_until === null || Number(row.driver_access_until) > now) ? row.user_id : null;
}

/** The user id of the driver assigned to a route, if that driver signs in. */
export async function driverUserOfRoute(db: Db, routeId: string): Promise<string | null> {
  const row = await db
    .selectFrom('routes')
    .innerJoin('drivers', 'drivers.id', 'routes.driver_id')
    .select('drivers.user_id')
    .where('routes.id', '=', routeId)
    .executeTakeFirst();
  return row?.user_id ?? null;
}
