import type { Change } from '@depotline/shared';
import type { Db } from '../../db/database';
import { recordChange } from '../change-log';
import type { RouteRow } from '../presenters';
import { fromTo, loadRoute, type MutationHandlers, Rejection, routeChange, type Touched } from './handler';

/** Route mutations: creation, and assigning a driver and a vehicle. */

/**
 * Refuses a driver or vehicle that is not at the route's location (another depot's is "not
 * found"), or that a manager retired, unless the route already has it (`kept`). `null`
 * (unassigned) is always allowed.
 */
async function requireCrewAt(
  trx: Db, locationId: string, crew: { driverId: string | null; vehicleId: string | null }, current: Change | null,
  kept: { driverId: string | null; vehicleId: string | null } = { driverId: null, vehicleId: null },
): Promise<void> {
  if (crew.driverId !== null) {
    const driver = await trx.selectFrom('drivers').select('retired_at').where('id', '=', crew.driverId).where('location_id', '=', locationId).executeTakeFirst();
    if (!driver) throw new Rejection('not_found', 'That driver does not work at this location.', current);
    if (driver.retired_at !== null && crew.driverId !== kept.driverId) throw new Rejection('conflict', 'That driver is retired and cannot be assigned.', current);
  }
  if (crew.vehicleId !== null) {
    const vehicle = await trx.selectFrom('vehicles').select('retired_at').where('id', '=', crew.vehicleId).where('location_id', '=', locationId).executeTakeFirst();
    if (!vehicle) throw new Rejection('not_found', 'That vehicle is not at this location.', current);
    if (vehicle.retired_at !== null && crew.vehicleId !== kept.vehicleId) throw new Rejection('conflict', 'That vehicle is retired and cannot be assigned.', current);
  }
}

export interface NewRoute {
  id: string;
  locationId: string;
  name: string;
  date: string;
  driverId: string | null;
  vehicleId: string | null;
}

/** The one writer of new routes, for pushed `route.create` and for provisioning alike. */
export async function createRouteRecord(write: { trx: Db; by: string; now: number }, r: NewRoute): Promise<RouteRow> {
  const { trx, by, now } = write;
  const clash = await trx.selectFrom('routes').selectAll().where('id', '=', r.id).executeTakeFirst();
  if (clash) throw new Rejection('conflict', 'A route with this id already exists.', clash.location_id === r.locationId ? routeChange(clash) : null);
  await requireCrewAt(trx, r.locationId, r, null);
  const version = await recordChange(trx, r.locationId, 'route', r.id, now);
  const row: RouteRow = {
    id: r.id, location_id: r.locationId, name: r.name, date: r.date, driver_id: r.driverId, vehicle_id: r.vehicleId,
    version, updated_at: now, updated_by: by, completed_at: null, driver_access_until: null, driver_removal_at: null,
  };
  await trx.insertInto('routes').values(row).execute();
  return row;
}

export const routeMutations = {
  'route.create': {
    async apply(scope, m) {
      const row = await createRouteRecord(scope, { id: m.routeId, locationId: m.locationId, name: m.name, date: m.date, driverId: null, vehicleId: null });
      return { version: row.version, touched: [{ entity: 'route', id: row.id, locationId: row.location_id }] };
    },
    auditDetails: (m) => ({ mutationId: m.id, name: m.name, date: m.date }),
  },
  'route.assign': {
    async apply(scope, m) {
      const { trx, now } = scope;
      const route = await loadRoute(trx, m.routeId, m.locationId);
      await requireCrewAt(trx, m.locationId, m, routeChange(route), { driverId: route.driver_id, vehicleId: route.vehicle_id });
      const previousDriverUserId = route.driver_id === null ? null
        : (await trx.selectFrom('drivers').select('user_id').where('id', '=', route.driver_id).executeTakeFirst())?.user_id ?? null;
      const version = await recordChange(trx, m.locationId, 'route', route.id, now);
      await trx.updateTable('routes').set({ driver_id: m.driverId, vehicle_id: m.vehicleId, version, updated_at: now, updated_by: scope.by }).where('id', '=', route.id).execute();
      const touched: Touched[] = [{ entity: 'route', id: route.id, locationId: m.locationId, previousDriverUserId }];
      if (m.driverId !== route.driver_id) {
        // The route's stops become visible to the new driver: give them fresh versions so
        // a driver's pull or live feed carries them (their earlier changes are below its cursor).
        const stops = await trx.selectFrom('stops').select('id').where('route_id', '=', route.id).orderBy('sequence').execute();
        for (const s of stops) {
          const v = await recordChange(trx, m.locationId, 'stop', s.id, now);
          await trx.updateTable('stops').set({ version: v }).where('id', '=', s.id).execute();
          touched.push({ entity: 'stop', id: s.id, locationId: m.locationId });
        }
      }
      return { touched, version, before: route };
    },
    auditDetails: (m, before) => ({ mutationId: m.id, driverId: fromTo(before?.driver_id, m.driverId), vehicleId: fromTo(before?.vehicle_id, m.vehicleId) }),
  },
} satisfies Pick<MutationHandlers, 'route.create' | 'route.assign'>;
