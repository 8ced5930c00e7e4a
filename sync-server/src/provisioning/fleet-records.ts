import { type Driver, DriverName, EntityId, type Vehicle, VehicleLabel, VehiclePlate } from '@depotline/shared';
import { z } from 'zod';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { badRequest, conflict, notFound, parseInput } from '../errors';
import { recordChange } from '../sync/change-log';
import { openAssignments } from '../sync/mutations/fleet';
import { presentDriver, presentVehicle } from '../sync/presenters';
import { requireLocation } from './locations';

/**
 * Editing, retiring and listing drivers and vehicles from the admin CLI: the same rules as the
 * console's `driver.*` / `vehicle.*` mutations (a retired record stays and is never assigned
 * again; a driver or vehicle with routes still to do is not retired), audited as the operator.
 * Consoles learn of each change from the location's change log.
 */

export const DriverUpdateInput = z.object({ id: EntityId, name: DriverName });
export const VehicleUpdateInput = z.object({ id: EntityId, label: VehicleLabel.optional(), plate: VehiclePlate.optional() });

async function inTransaction<T>(ctx: ServerContext, work: (trx: Db, now: number) => Promise<T>): Promise<T> {
  return ctx.db.transaction().execute((trx) => work(trx, ctx.now()));
}

async function loadDriver(trx: Db, id: string) {
  const row = await trx.selectFrom('drivers').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`Driver ${id}`);
  return row;
}

async function loadVehicle(trx: Db, id: string) {
  const row = await trx.selectFrom('vehicles').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`Vehicle ${id}`);
  return row;
}

/** Renames a driver. The name is personal data: the audit entry names the field only. */
export async function updateDriver(ctx: ServerContext, actor: AuditActor, input: z.input<typeof DriverUpdateInput>): Promise<Driver> {
  const d = parseInput(DriverUpdateInput, input);
  return inTransaction(ctx, async (trx, now) => {
    const row = await loadDriver(trx, d.id);
    await trx.updateTable('drivers').set({ name: d.name }).where('id', '=', d.id).execute();
    await recordChange(trx, row.location_id, 'driver', d.id, now);
    await appendAudit(trx, actor, { action: 'driver.update', outcome: 'ok', targetType: 'driver', targetId: d.id, locationId: row.location_id, details: { fields: ['name'] } }, now);
    return presentDriver({ ...row, name: d.name });
  });
}

export async function retireDriver(ctx: ServerContext, actor: AuditActor, id: string): Promise<Driver> {
  return inTransaction(ctx, async (trx, now) => {
    const row = await loadDriver(trx, parseInput(EntityId, id));
    if (row.retired_at !== null) throw conflict(`Driver ${id} is already retired.`);
    const open = await openAssignments(trx, 'driver_id', row.id);
    if (open > 0) throw conflict(`Driver ${id} is assigned to ${open} route${open === 1 ? '' : 's'} with stops to do: assign another driver first.`);
    await trx.updateTable('drivers').set({ retired_at: now }).where('id', '=', row.id).execute();
    await recordChange(trx, row.location_id, 'driver', row.id, now);
    await appendAudit(trx, actor, {
      action: 'driver.retire', outcome: 'ok', targetType: 'driver', targetId: row.id, locationId: row.location_id,
      details: { retired: { from: false, to: true }, linkedUserId: row.user_id },
    }, now);
    return presentDriver({ ...row, retired_at: now });
  });
}

/** Relabels a vehicle or changes its plate; both are operational and audited with from/to. */
export async function updateVehicle(ctx: ServerContext, actor: AuditActor, input: z.input<typeof VehicleUpdateInput>): Promise<Vehicle> {
  const v = parseInput(VehicleUpdateInput, input);
  if (v.label === undefined && v.plate === undefined) throw badRequest(['give --label, --plate or both']);
  return inTransaction(ctx, async (trx, now) => {
    const row = await loadVehicle(trx, v.id);
    const next = { ...row, label: v.label ?? row.label, plate: v.plate ?? row.plate };
    await trx.updateTable('vehicles').set({ label: next.label, plate: next.plate }).where('id', '=', v.id).execute();
    await recordChange(trx, row.location_id, 'vehicle', v.id, now);
    await appendAudit(trx, actor, {
      action: 'vehicle.update', outcome: 'ok', targetType: 'vehicle', targetId: v.id, locationId: row.location_id,
      details: {
        fields: [...(v.label !== undefined ? ['label'] : []), ...(v.plate !== undefined ? ['plate'] : [])],
        ...(v.label !== undefined ? { label: { from: row.label, to: v.label } } : {}),
        ...(v.plate !== undefined ? { plate: { from: row.plate, to: v.plate } } : {}),
      },
    }, now);
    return presentVehicle(next);
  });
}

export async function retireVehicle(ctx: ServerContext, actor: AuditActor, id: string): Promise<Vehicle> {
  return inTransaction(ctx, async (trx, now) => {
    const row = await loadVehicle(trx, parseInput(EntityId, id));
    if (row.retired_at !== null) throw conflict(`Vehicle ${id} is already retired.`);
    const open = await openAssignments(trx, 'vehicle_id', row.id);
    if (open > 0) throw conflict(`Vehicle ${id} is assigned to ${open} route${open === 1 ? '' : 's'} with stops to do: assign another vehicle first.`);
    await trx.updateTable('vehicles').set({ retired_at: now }).where('id', '=', row.id).execute();
    await recordChange(trx, row.location_id, 'vehicle', row.id, now);
    await appendAudit(trx, actor, {
      action: 'vehicle.retire', outcome: 'ok', targetType: 'vehicle', targetId: row.id, locationId: row.location_id,
      details: { retired: { from: false, to: true } },
    }, now);
    return presentVehicle({ ...row, retired_at: now });
  });
}

export async function listDrivers(ctx: ServerContext, locationId: string): Promise<Driver[]> {
  await requireLocation(ctx.db, parseInput(EntityId, locationId));
  return (await ctx.db.selectFrom('drivers').selectAll().where('location_id', '=', locationId).orderBy('id').execute()).map(presentDriver);
}

export async function listVehicles(ctx: ServerContext, locationId: string): Promise<Vehicle[]> {
  await requireLocation(ctx.db, parseInput(EntityId, locationId));
  return (await ctx.db.selectFrom('vehicles').selectAll().where('location_id', '=', locationId).orderBy('id').execute()).map(presentVehicle);
}
