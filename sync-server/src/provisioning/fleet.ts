import crypto from 'node:crypto';
import { type Driver, EntityId, type Vehicle } from '@depotline/shared';
import { z } from 'zod';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { conflict, notFound, parseInput } from '../errors';
import { recordChange } from '../sync/change-log';
import { requireLocation } from './locations';
import { isUniqueViolation } from './operator';

export const DriverCreateInput = z.object({
  id: EntityId.optional(),
  locationId: EntityId,
  name: z.string().trim().min(1).max(200),
  /** The driver's own login, so they see their assigned routes in the app. */
  userId: EntityId.nullable().optional(),
});
export type DriverCreateInput = z.input<typeof DriverCreateInput>;

export const VehicleCreateInput = z.object({
  id: EntityId.optional(),
  locationId: EntityId,
  label: z.string().trim().min(1).max(100),
  plate: z.string().trim().max(32),
});
export type VehicleCreateInput = z.input<typeof VehicleCreateInput>;

export const newEntityId = (prefix: string) => `${prefix}-${crypto.randomBytes(6).toString('hex')}`;

/**
 * Adds a driver record at a location, inside the caller's transaction. The change log gets an
 * entry so consoles of that location pull the new driver. The driver's name stays out of the
 * audit details: it is personal data, and the record id identifies it.
 */
export async function createDriverIn(trx: Db, actor: AuditActor, input: DriverCreateInput, now: number): Promise<Driver> {
  const d = parseInput(DriverCreateInput, input);
  const id = d.id ?? newEntityId('drv');
  await requireLocation(trx, d.locationId);
  if (await trx.selectFrom('drivers').select('id').where('id', '=', id).executeTakeFirst()) {
    throw conflict(`A driver with id ${id} already exists.`);
  }
  const userId = d.userId ?? null;
  if (userId !== null) {
    const user = await trx.selectFrom('users').select(['id', 'disabled_at']).where('id', '=', userId).executeTakeFirst();
    if (!user) throw notFound('The user');
    if (user.disabled_at !== null) throw conflict('The user is disabled.');
  }
  await trx.insertInto('drivers').values({ id, location_id: d.locationId, name: d.name, user_id: userId }).execute();
  await recordChange(trx, d.locationId, 'driver', id, now);
  await appendAudit(trx, actor, {
    action: 'driver.create', outcome: 'ok', targetType: 'driver', targetId: id, locationId: d.locationId, details: { userId },
  }, now);
  return { id, locationId: d.locationId, name: d.name, userId };
}

export async function createDriver(ctx: ServerContext, actor: AuditActor, input: DriverCreateInput): Promise<Driver> {
  const d = parseInput(DriverCreateInput, input);
  const withId = { ...d, id: d.id ?? newEntityId('drv') };
  try {
    return await ctx.db.transaction().execute((trx) => createDriverIn(trx, actor, withId, ctx.now()));
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`A driver with id ${withId.id} already exists.`);
    throw err;
  }
}

/** Adds a vehicle at a location, inside the caller's transaction. */
export async function createVehicleIn(trx: Db, actor: AuditActor, input: VehicleCreateInput, now: number): Promise<Vehicle> {
  const v = parseInput(VehicleCreateInput, input);
  const id = v.id ?? newEntityId('veh');
  await requireLocation(trx, v.locationId);
  if (await trx.selectFrom('vehicles').select('id').where('id', '=', id).executeTakeFirst()) {
    throw conflict(`A vehicle with id ${id} already exists.`);
  }
  await trx.insertInto('vehicles').values({ id, location_id: v.locationId, label: v.label, plate: v.plate }).execute();
  await recordChange(trx, v.locationId, 'vehicle', id, now);
  await appendAudit(trx, actor, {
    action: 'vehicle.create', outcome: 'ok', targetType: 'vehicle', targetId: id, locationId: v.locationId,
    details: { label: v.label, plate: v.plate },
  }, now);
  return { id, locationId: v.locationId, label: v.label, plate: v.plate };
}

export async function createVehicle(ctx: ServerContext, actor: AuditActor, input: VehicleCreateInput): Promise<Vehicle> {
  const v = parseInput(VehicleCreateInput, input);
  const withId = { ...v, id: v.id ?? newEntityId('veh') };
  try {
    return await ctx.db.transaction().execute((trx) => createVehicleIn(trx, actor, withId, ctx.now()));
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`A vehicle with id ${withId.id} already exists.`);
    throw err;
  }
}
