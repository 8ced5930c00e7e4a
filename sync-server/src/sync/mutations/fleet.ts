import type { Change } from '@depotline/shared';
import type { Db } from '../../db/database';
import { type ChangeEntity, recordChange } from '../change-log';
import { type DriverRow, presentDriver, presentVehicle, type VehicleRow } from '../presenters';
import { fromTo, type MutationHandlers, type MutationScope, Rejection } from './handler';

/**
 * Drivers and vehicles, as a manager keeps them (`fleet.manage`): create, edit and retire. A
 * retired record stays, so past routes still name it; `route.assign` refuses it. A driver's
 * name is personal data: audit entries name the field, never its value. Vehicle labels and
 * plates are operational and carry from/to values.
 */

/** The statuses of a stop that still needs its driver and vehicle. */
export const openStopStatuses = ['planned', 'en_route', 'arrived'] as const;

/** The version a driver or vehicle is at: its last change-log entry (the rows carry none). */
async function latestVersion(trx: Db, locationId: string, entity: ChangeEntity, id: string): Promise<number> {
  const row = await trx.selectFrom('changes').select((eb) => eb.fn.max('version').as('v'))
    .where('location_id', '=', locationId).where('entity', '=', entity).where('entity_id', '=', id).executeTakeFirst();
  return Math.max(1, Number(row?.v ?? 1));
}

export async function driverChange(trx: Db, row: DriverRow): Promise<Change> {
  return { entity: 'driver', locationId: row.location_id, version: await latestVersion(trx, row.location_id, 'driver', row.id), data: presentDriver(row) };
}

export async function vehicleChange(trx: Db, row: VehicleRow): Promise<Change> {
  return { entity: 'vehicle', locationId: row.location_id, version: await latestVersion(trx, row.location_id, 'vehicle', row.id), data: presentVehicle(row) };
}

async function loadDriver(trx: Db, id: string, locationId: string): Promise<DriverRow> {
  const row = await trx.selectFrom('drivers').selectAll().where('id', '=', id).where('location_id', '=', locationId).executeTakeFirst();
  if (!row) throw new Rejection('not_found', 'That driver does not work at this location.', null);
  return row;
}

async function loadVehicle(trx: Db, id: string, locationId: string): Promise<VehicleRow> {
  const row = await trx.selectFrom('vehicles').selectAll().where('id', '=', id).where('location_id', '=', locationId).executeTakeFirst();
  if (!row) throw new Rejection('not_found', 'That vehicle is not at this location.', null);
  return row;
}

/** Routes the driver or vehicle is assigned to that still have stops to do. */
export async function openAssignments(trx: Db, column: 'driver_id' | 'vehicle_id', id: string): Promise<number> {
  const rows = await trx.selectFrom('routes').innerJoin('stops', 'stops.route_id', 'routes.id')
    .select('routes.id').distinct()
    .where(`routes.${column}`, '=', id).where('stops.status', 'in', [...openStopStatuses])
    .execute();
  return rows.length;
}

/** Refuses a value the console did not see: someone changed it meanwhile. */
export async function requireSeen<V>(field: string, current: V, edit: { from: V; to: V } | undefined, currentChange: () => Promise<Change>): Promise<void> {
  // Already what the user chose (someone made the same edit): nothing to refuse.
  if (edit === undefined || current === edit.from || current === edit.to) return;
  throw new Rejection('conflict', `The ${field} was changed meanwhile.`, await currentChange());
}

async function touch(scope: MutationScope, entity: 'driver' | 'vehicle', locationId: string, id: string) {
  const version = await recordChange(scope.trx, locationId, entity, id, scope.now);
  return { version, touched: [{ entity, id, locationId }] };
}

export const fleetMutations = {
  'driver.create': {
    async apply(scope, m) {
      const clash = await scope.trx.selectFrom('drivers').selectAll().where('id', '=', m.driverId).executeTakeFirst();
      if (clash) throw new Rejection('conflict', 'A driver with this id already exists.', clash.location_id === m.locationId ? await driverChange(scope.trx, clash) : null);
      await scope.trx.insertInto('drivers').values({ id: m.driverId, location_id: m.locationId, name: m.name, user_id: null, retired_at: null }).execute();
      return touch(scope, 'driver', m.locationId, m.driverId);
    },
    auditDetails: (m) => ({ mutationId: m.id, fields: ['name'] }),
  },
  'driver.update': {
    async apply(scope, m) {
      const driver = await loadDriver(scope.trx, m.driverId, m.locationId);
      await requireSeen('driver\u2019s name', driver.name, m.changes.name, () => driverChange(scope.trx, driver));
      await scope.trx.updateTable('drivers').set({ name: m.changes.name.to }).where('id', '=', driver.id).execute();
      return { ...(await touch(scope, 'driver', m.locationId, driver.id)), before: driver };
    },
    auditDetails: (m) => ({ mutationId: m.id, fields: Object.keys(m.changes).sort() }),
  },
  'driver.retire': {
    async apply(scope, m) {
      const driver = await loadDriver(scope.trx, m.driverId, m.locationId);
      if (driver.retired_at !== null) throw new Rejection('conflict', 'That driver is already retired.', await driverChange(scope.trx, driver));
      const open = await openAssignments(scope.trx, 'driver_id', driver.id);
      if (open > 0) {
        throw new Rejection('conflict', `The driver is assigned to ${open} route${open === 1 ? '' : 's'} with stops to do: assign another driver first.`, await driverChange(scope.trx, driver));
      }
      await scope.trx.updateTable('drivers').set({ retired_at: scope.now }).where('id', '=', driver.id).execute();
      return { ...(await touch(scope, 'driver', m.locationId, driver.id)), before: driver };
    },
    auditDetails: (m, before) => ({ mutationId: m.id, retired: fromTo(before && before.retired_at !== null, true), linkedUserId: before?.user_id ?? null }),
  },
  'vehicle.create': {
    async apply(scope, m) {
      const clash = await scope.trx.selectFrom('vehicles').selectAll().where('id', '=', m.vehicleId).executeTakeFirst();
      if (clash) throw new Rejection('conflict', 'A vehicle with this id already exists.', clash.location_id === m.locationId ? await vehicleChange(scope.trx, clash) : null);
      await scope.trx.insertInto('vehicles').values({ id: m.vehicleId, location_id: m.locationId, label: m.label, plate: m.plate, retired_at: null }).execute();
      return touch(scope, 'vehicle', m.locationId, m.vehicleId);
    },
    auditDetails: (m) => ({ mutationId: m.id, label: m.label, plate: m.plate }),
  },
  'vehicle.update': {
    async apply(scope, m) {
      const vehicle = await loadVehicle(scope.trx, m.vehicleId, m.locationId);
      const current = () => vehicleChange(scope.trx, vehicle);
      await requireSeen('vehicle\u2019s label', vehicle.label, m.changes.label, current);
      await requireSeen('vehicle\u2019s plate', vehicle.plate, m.changes.plate, current);
      await scope.trx.updateTable('vehicles').set({
        ...(m.changes.label ? { label: m.changes.label.to } : {}),
        ...(m.changes.plate ? { plate: m.changes.plate.to } : {}),
      }).where('id', '=', vehicle.id).execute();
      return { ...(await touch(scope, 'vehicle', m.locationId, vehicle.id)), before: vehicle };
    },
    auditDetails: (m, before) => ({
      mutationId: m.id, fields: Object.keys(m.changes).sort(),
      ...(m.changes.label ? { label: fromTo(before?.label, m.changes.label.to) } : {}),
      ...(m.changes.plate ? { plate: fromTo(before?.plate, m.changes.plate.to) } : {}),
    }),
  },
  'vehicle.retire': {
    async apply(scope, m) {
      const vehicle = await loadVehicle(scope.trx, m.vehicleId, m.locationId);
      if (vehicle.retired_at !== null) throw new Rejection('conflict', 'That vehicle is already retired.', await vehicleChange(scope.trx, vehicle));
      const open = await openAssignments(scope.trx, 'vehicle_id', vehicle.id);
      if (open > 0) {
        throw new Rejection('conflict', `The vehicle is assigned to ${open} route${open === 1 ? '' : 's'} with stops to do: assign another vehicle first.`, await vehicleChange(scope.trx, vehicle));
      }
      await scope.trx.updateTable('vehicles').set({ retired_at: scope.now }).where('id', '=', vehicle.id).execute();
      return { ...(await touch(scope, 'vehicle', m.locationId, vehicle.id)), before: vehicle };
    },
    auditDetails: (m, before) => ({ mutationId: m.id, retired: fromTo(before && before.retired_at !== null, true) }),
  },
} satisfies Pick<MutationHandlers, 'driver.create' | 'driver.update' | 'driver.retire' | 'vehicle.create' | 'vehicle.update' | 'vehicle.retire'>;
