import { type AttentionRoute, type AttentionStop, StopStatus as StopStatusSchema, type StopStatus } from '@depotline/shared';
import { text, textOrNull } from './entity-tables';
import type { SqlConnection, SqlValue } from './sql-binding';

/** The routes of one day and the operational facts of their stops: what attention and ETAs are computed from. */
export interface BoardDay {
  routes: AttentionRoute[];
  stops: AttentionStop[];
}

/**
 * The routes of one location on one day (`YYYY-MM-DD`, the depot's calendar), or on every day
 * without `date`, and what the attention counts need of each of their stops: status, window,
 * recorded ETA, coordinates. No other customer fields. The day is chosen in SQL (routes by
 * `routes_by_location_date`, stops through `stops_by_location_route_status`), so other days
 * are never read.
 *
 * Handing 20,000 rows to JavaScript costs far more than reading them, so the stops come back
 * packed, one row per route: space-separated fields, `-` for NULL. Ids cannot hold a space
 * (EntityId), statuses are an enum and the rest are numbers, so the packing is unambiguous.
 */
export async function queryBoardDay(conn: SqlConnection, locationId: string, date: string | undefined): Promise<BoardDay> {
  const dayRoutes = date === undefined ? 'location_id = ?' : 'location_id = ? AND date = ?';
  const dayParams: SqlValue[] = date === undefined ? [locationId] : [locationId, date];
  const routeRows = await conn.all(`SELECT id, date, driver_id FROM routes WHERE ${dayRoutes} ORDER BY id`, dayParams);
  const routes = routeRows.map((r) => ({ id: text(r, 'id'), date: text(r, 'date'), driverId: textOrNull(r, 'driver_id') }));
  if (routes.length === 0) return { routes, stops: [] };
  const packed = await conn.all(
    `SELECT route_id, group_concat(
       id || ' ' || sequence || ' ' || status || ' ' || window_start || ' ' || window_end || ' ' || coalesce(eta, '-')
       || ' ' || coalesce(latitude, '-') || ' ' || coalesce(longitude, '-'), ' ') AS packed
     FROM stops WHERE location_id = ? AND route_id IN (SELECT id FROM routes WHERE ${dayRoutes})
     GROUP BY route_id`,
    [locationId, ...dayParams],
  );
  const stops: AttentionStop[] = [];
  for (const row of packed) {
    const routeId = text(row, 'route_id');
    const f = text(row, 'packed').split(' ');
    for (let i = 0; i + packedFields <= f.length; i += packedFields) {
      stops.push({
        id: f[i]!, routeId, sequence: Number(f[i + 1]), status: statusOf(f[i + 2]),
        window: { start: Number(f[i + 3]), end: Number(f[i + 4]) },
        reportedEta: f[i + 5] === '-' ? null : Number(f[i + 5]),
        // Both or none: a stop the viewer may not see on a map has neither (the server sent none).
        coordinates: f[i + 6] === '-' || f[i + 7] === '-' ? null : { lat: Number(f[i + 6]), lng: Number(f[i + 7]) },
      });
    }
  }
  return { routes, stops };
}

const packedFields = 8;
const statuses: ReadonlySet<string> = new Set(StopStatusSchema.options);

/** The table's CHECK allows only these; a set lookup, not a schema parse per stop. */
function statusOf(value: string | undefined): StopStatus {
  if (value === undefined || !statuses.has(value)) throw new Error(`unknown stop status in the store: ${String(value)}`);
  return value as StopStatus;
}
