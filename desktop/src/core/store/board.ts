import { StopStatus as StopStatusSchema, type Route, type StopStatus } from '@depotline/shared';
import { assertNever } from '../errors';
import { int, tables, textOrNull } from './entity-tables';
import type { SqlConnection, SqlValue } from './sql-binding';

export interface BoardFilter {
  /** `YYYY-MM-DD`, the depot's own calendar day. */
  date?: string;
  /** A driver's routes; null for routes nobody drives yet. */
  driverId?: string | null;
  /** Routes with at least one stop in one of these statuses. */
  stopStatus?: readonly StopStatus[];
  /** Routes with local edits the server has not confirmed yet. */
  withPendingEdits?: boolean;
}

export type BoardSortKey = 'name' | 'date' | 'driver' | 'progress' | 'updated';

export interface BoardQuery {
  filter?: BoardFilter;
  search?: string;
  sort?: { key: BoardSortKey; direction?: 'asc' | 'desc' };
  limit?: number;
}

export interface BoardRow {
  route: Route;
  driverName: string | null;
  vehicleLabel: string | null;
  stops: { total: number; byStatus: Record<StopStatus, number> };
  pendingEdits: number;
}

const statuses = StopStatusSchema.options;

/**
 * The routes board of one location: routes with their driver, vehicle, stop counts per status
 * and pending edits. Search covers route, driver and vehicle names and the customer fields
 * this user may see; fields the server withheld are NULL here, so they can never match.
 */
export async function queryBoard(conn: SqlConnection, locationId: string, query: BoardQuery): Promise<BoardRow[]> {
  const where: string[] = ['b.location_id = ?'];
  const params: SqlValue[] = [locationId];
  const f = query.filter ?? {};
  // Filters on the route row alone also narrow the stop counts to the routes that can show
  // (a day's routes, not the location's whole history): see `agg` below.
  const routeWhere: string[] = [];
  const routeParams: SqlValue[] = [];

  if (f.date !== undefined) {
    where.push('b.date = ?');
    params.push(f.date);
    routeWhere.push('date = ?');
    routeParams.push(f.date);
  }
  if (f.driverId === null) {
    where.push('b.driver_id IS NULL');
    routeWhere.push('driver_id IS NULL');
  } else if (f.driverId !== undefined) {
    where.push('b.driver_id = ?');
    params.push(f.driverId);
    routeWhere.push('driver_id = ?');
    routeParams.push(f.driverId);
  }
  if (f.stopStatus && f.stopStatus.length > 0) {
    const wanted = f.stopStatus.map((s) => StopStatusSchema.parse(s));
    where.push(`EXISTS (SELECT 1 FROM stops s WHERE s.route_id = b.id AND s.status IN (${wanted.map(() => '?').join(', ')}))`);
    params.push(...wanted);
  }
  if (f.withPendingEdits) where.push('b.pending_edits > 0');

  const term = query.search?.trim();
  if (term) {
    const like = `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const columns = ['b.name', 'b.driver_name', 'b.vehicle_label', 'b.vehicle_plate'];
    const stopColumns = ['s.customer_name', 's.address', 's.phone'];
    const match = (col: string) => `${col} LIKE ? ESCAPE '\\'`;
    where.push(`(${columns.map(match).join(' OR ')} OR EXISTS (SELECT 1 FROM stops s WHERE s.route_id = b.id AND (${stopColumns.map(match).join(' OR ')})))`);
    params.push(...Array<string>(columns.length + stopColumns.length).fill(like));
  }

  const direction = query.sort?.direction === 'desc' ? 'DESC' : 'ASC';
  const limit = Math.max(1, Math.min(Math.trunc(query.limit ?? 1000), 5000));

  const rows = await conn.all(
    `WITH agg AS (
       SELECT route_id, count(*) AS total, ${statuses.map((s) => `sum(status = '${s}') AS n_${s}`).join(', ')}
       FROM stops WHERE location_id = ?${routeWhere.length > 0 ? ` AND route_id IN (SELECT id FROM routes WHERE location_id = ? AND ${routeWhere.join(' AND ')})` : ''}
       GROUP BY route_id
     ),
     b AS (
       SELECT r.*, d.name AS driver_name, v.label AS vehicle_label, v.plate AS vehicle_plate,
         coalesce(agg.total, 0) AS total, ${statuses.map((s) => `coalesce(agg.n_${s}, 0) AS n_${s}`).join(', ')},
         (SELECT count(*) FROM outbox o
           WHERE (o.target_kind = 'route' AND o.target_id = r.id)
              OR (o.target_kind = 'stop' AND o.target_id IN (SELECT s.id FROM stops s WHERE s.route_id = r.id))) AS pending_edits
       FROM routes r
       LEFT JOIN drivers d ON d.id = r.driver_id AND d.location_id = r.location_id
       LEFT JOIN vehicles v ON v.id = r.vehicle_id AND v.location_id = r.location_id
       LEFT JOIN agg ON agg.route_id = r.id
       WHERE r.location_id = ?
     )
     SELECT * FROM b
     WHERE ${where.join(' AND ')}
     ORDER BY ${sortExpression(query.sort?.key ?? 'name')} ${direction}, b.id ASC
     LIMIT ${limit}`,
    [locationId, ...(routeWhere.length > 0 ? [locationId, ...routeParams] : []), locationId, ...params],
  );
  return rows.map((row) => ({
    route: tables.route.fromRow(row),
    driverName: textOrNull(row, 'driver_name'),
    vehicleLabel: textOrNull(row, 'vehicle_label'),
    stops: {
      total: int(row, 'total'),
      byStatus: Object.fromEntries(statuses.map((s) => [s, int(row, `n_${s}`)])) as Record<StopStatus, number>,
    },
    pendingEdits: int(row, 'pending_edits'),
  }));
}

function sortExpression(key: BoardSortKey): string {
  switch (key) {
    case 'name': return 'b.name COLLATE NOCASE';
    case 'date': return 'b.date';
    case 'driver': return 'b.driver_name IS NULL, b.driver_name COLLATE NOCASE';
    case 'progress': return 'CASE WHEN b.total = 0 THEN 0.0 ELSE (b.n_delivered + b.n_failed + b.n_cancelled) * 1.0 / b.total END';
    case 'updated': return 'b.updated_at';
    default: return assertNever(key);
  }
}
