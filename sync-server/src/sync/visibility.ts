import { type Change, type Permission, redactStopForViewer } from '@depotline/shared';
import { type AccessProfile, type LocationView, viewAt } from '../access/access-profile';
import type { Db } from '../db/database';

/** What one viewer can see at one location: their grants and the routes they drive (until each is complete and its grace period over). */
export interface ViewerScope {
  view: LocationView | null;
  ownRouteIds: ReadonlySet<string>;
}

export async function loadViewerScope(db: Db, profile: AccessProfile, locationId: string, now: number): Promise<ViewerScope> {
  const view = viewAt(profile, locationId, now);
  if (!view) return { view: null, ownRouteIds: new Set() };
  if (view.assigned.size === 0) return { view, ownRouteIds: new Set() };
  const rows = await db
    .selectFrom('routes')
    .innerJoin('drivers', 'drivers.id', 'routes.driver_id')
    .select('routes.id')
    .where('routes.location_id', '=', locationId)
    .where('drivers.user_id', '=', profile.userId)
    // A completed route is the driver's only until its grace period is over (sync/route-completion.ts).
    .where((eb) => eb.or([eb('routes.driver_access_until', 'is', null), eb('routes.driver_access_until', '>', now)]))
    .execute();
  return { view, ownRouteIds: new Set(rows.map((r) => r.id)) };
}

/** The permissions that apply to a route (and its stops): a driver's own routes add the driver-only ones. */
export function permissionsFor(scope: ViewerScope, ownRoute: boolean): ReadonlySet<Permission> {
  if (!scope.view) return new Set();
  return ownRoute && scope.view.assigned.size > 0 ? scope.view.assigned : scope.view.general;
}

/**
 * The change as this viewer may receive it, or null when they may not see it at all
 * (OWASP API3: fields are removed by the server, never hidden by the client). Drivers see
 * only their own routes and those routes' stops; finance and reporting never receive notes
 * or phone numbers.
 */
export function redactChangeForScope(change: Change, scope: ViewerScope): Change | null {
  if (!scope.view) return null;
  switch (change.entity) {
    case 'stop': {
      const perms = permissionsFor(scope, scope.ownRouteIds.has(change.data.routeId));
      if (!perms.has('location.read')) return null;
      return { ...change, data: redactStopForViewer(change.data, perms) };
    }
    case 'route':
      return permissionsFor(scope, scope.ownRouteIds.has(change.data.id)).has('location.read') ? change : null;
    case 'driver':
    case 'vehicle':
    case 'removed':
      return scope.view.general.has('location.read') ? change : null;
    case 'position':
      return scope.view.general.has('position.read') ? change : null;
  }
}
