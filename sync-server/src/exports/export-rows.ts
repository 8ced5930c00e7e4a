import { type Change, type ExportDataClass, exportClassPermission, type Permission, type Route, type Stop } from '@depotline/shared';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { presentDriver, presentRoute, presentStop, presentVehicle } from '../sync/presenters';
import { permissionsFor, redactChangeForScope, type ViewerScope } from '../sync/visibility';
import type { ExportRecord } from './columns';

/** Which stops and routes an export covers: routes of the location whose `date` is in [from, to]. */
export interface ExportRange {
  locationId: string;
  from: string;
  to: string;
  classes: readonly ExportDataClass[];
}

/** Whether a set of permissions lets its holder export these classes. */
export function allowsClasses(perms: ReadonlySet<Permission>, classes: readonly ExportDataClass[]): boolean {
  return perms.has('location.read') && classes.every((c) => perms.has(exportClassPermission[c]));
}

/** Code-unit order, the same on every database (PostgreSQL would otherwise sort text by its locale). */
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const chunksOf = <T,>(xs: readonly T[], size = 500): T[][] =>
  Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, i * size + size));

/** The change as the viewer's pull would carry it, or null when the pull would not carry it. */
function visible<C extends Change>(change: C, scope: ViewerScope): C | null {
  return redactChangeForScope(change, scope) as C | null;
}

/**
 * The records of an export, exactly as the viewer's sync pull would give them: every route,
 * stop, driver and vehicle goes through the pull's own redaction (`redactChangeForScope`), so
 * a driver gets only their routes, and a field the viewer's permissions at the location do not
 * reveal is absent. On top, a route is exported only when the permissions that apply to it
 * include every requested class's export permission. Ordered by date, route name, route id and
 * stop sequence; a route without stops is one record with `stop: null`.
 */
export async function loadExportRecords(ctx: ServerContext, db: Db, scope: ViewerScope, range: ExportRange): Promise<ExportRecord[]> {
  if (!scope.view) return [];
  const { locationId } = range;
  const routeRows = await db.selectFrom('routes').selectAll()
    .where('location_id', '=', locationId).where('date', '>=', range.from).where('date', '<=', range.to).execute();
  routeRows.sort((a, b) => compareText(a.date, b.date) || compareText(a.name, b.name) || compareText(a.id, b.id));
  const routes: Route[] = [];
  for (const row of routeRows) {
    const change = visible({ entity: 'route', locationId, version: row.version, data: presentRoute(row) }, scope);
    if (change && allowsClasses(permissionsFor(scope, scope.ownRouteIds.has(row.id)), range.classes)) routes.push(change.data);
  }
  if (routes.length === 0) return [];

  const stopsByRoute = new Map<string, Stop[]>();
  for (const part of chunksOf(routes.map((r) => r.id))) {
    const rows = await db.selectFrom('stops').selectAll().where('route_id', 'in', part).execute();
    rows.sort((a, b) => a.sequence - b.sequence || compareText(a.id, b.id));
    for (const row of rows) {
      if (row.location_id !== locationId) continue;
      const change = visible({ entity: 'stop', locationId, version: row.version, data: presentStop(ctx, row) }, scope);
      if (!change) continue;
      const list = stopsByRoute.get(row.route_id) ?? [];
      list.push(change.data);
      stopsByRoute.set(row.route_id, list);
    }
  }

  const drivers = new Map((await db.selectFrom('drivers').selectAll().where('location_id', '=', locationId).execute())
    .map((row) => visible({ entity: 'driver', locationId, version: 0, data: presentDriver(row) }, scope))
    .filter((c) => c !== null).map((c) => [c.data.id, c.data] as const));
  const vehicles = new Map((await db.selectFrom('vehicles').selectAll().where('location_id', '=', locationId).execute())
    .map((row) => visible({ entity: 'vehicle', locationId, version: 0, data: presentVehicle(row) }, scope))
    .filter((c) => c !== null).map((c) => [c.data.id, c.data] as const));

  const records: ExportRecord[] = [];
  for (const route of routes) {
    const driver = route.driverId === null ? null : drivers.get(route.driverId) ?? null;
    const vehicle = route.vehicleId === null ? null : vehicles.get(route.vehicleId) ?? null;
    const stops = stopsByRoute.get(route.id) ?? [];
    if (stops.length === 0) records.push({ route, stop: null, driver, vehicle });
    for (const stop of stops) records.push({ route, stop, driver, vehicle });
  }
  return records;
}

/**
 * How many rows `loadExportRecords` gives for the same viewer and range, counted by the
 * database without reading or decrypting a stop: what the bulk-export policy is checked with.
 */
export async function countExportRows(db: Db, scope: ViewerScope, range: ExportRange): Promise<number> {
  if (!scope.view) return 0;
  const everything = allowsClasses(scope.view.general, range.classes);
  const ownRoutes = [...scope.ownRouteIds];
  if (!everything && (scope.view.assigned.size === 0 || !allowsClasses(scope.view.assigned, range.classes) || ownRoutes.length === 0)) return 0;
  const count = async (routeIds: string[] | null) => {
    let q = db.selectFrom('routes')
      .leftJoin('stops', (join) => join.onRef('stops.route_id', '=', 'routes.id').onRef('stops.location_id', '=', 'routes.location_id'))
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('routes.location_id', '=', range.locationId).where('routes.date', '>=', range.from).where('routes.date', '<=', range.to);
    if (routeIds) q = q.where('routes.id', 'in', routeIds);
    return Number((await q.executeTakeFirstOrThrow()).n);
  };
  if (everything) return count(null);
  let total = 0;
  for (const part of chunksOf(ownRoutes)) total += await count(part);
  return total;
}
