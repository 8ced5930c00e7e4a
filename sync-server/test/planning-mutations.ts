/**
 * Planning mutations for the authorization matrices: each built so that, when the caller is
 * allowed, it applies (fresh routes, stops and fleet records where the mutation uses one up,
 * `from` values read from the database).
 */
import crypto from 'node:crypto';
import type { Mutation, MutationType } from '@depotline/shared';
import type { ServerContext } from '../src/context';
import { recordChange } from '../src/sync/change-log';
import { insertRoute, insertStops } from './world';

export const planningMutationTypes = [
  'route.update', 'route.cancel', 'route.reorder', 'stop.cancel', 'stop.move',
  'driver.create', 'driver.update', 'driver.retire', 'vehicle.create', 'vehicle.update', 'vehicle.retire',
] as const satisfies readonly MutationType[];
export type PlanningMutationType = (typeof planningMutationTypes)[number];

export function isPlanningMutationType(t: MutationType): t is PlanningMutationType {
  return (planningMutationTypes as readonly MutationType[]).includes(t);
}

const tag = () => crypto.randomBytes(4).toString('hex');

export interface PlanningWhere {
  ctx: ServerContext;
  locationId: string;
  /** A route at `locationId` the mutation may change. */
  routeId: string;
  /** A driver and a vehicle at `locationId`, kept active. */
  driverId: string;
  vehicleId: string;
}

/** A fresh route with two planned stops at the location (for a cancel or a move that uses them up). */
export async function freshRoute(ctx: ServerContext, locationId: string): Promise<{ routeId: string; stopIds: string[] }> {
  const routeId = `plan-route-${tag()}`;
  await insertRoute(ctx, locationId, routeId, null);
  const stops = await insertStops(ctx, locationId, routeId, 2);
  return { routeId, stopIds: stops.map((s) => s.id) };
}

async function freshFleet(ctx: ServerContext, kind: 'driver' | 'vehicle', locationId: string): Promise<string> {
  const id = `plan-${kind}-${tag()}`;
  await ctx.db.transaction().execute(async (trx) => {
    if (kind === 'driver') await trx.insertInto('drivers').values({ id, location_id: locationId, name: `Driver ${id}`, user_id: null }).execute();
    else await trx.insertInto('vehicles').values({ id, location_id: locationId, label: `Van ${id}`, plate: 'B-PL 1' }).execute();
    await recordChange(trx, locationId, kind, id, ctx.now());
  });
  return id;
}

export async function buildPlanningMutation(w: PlanningWhere, type: PlanningMutationType, base: { id: string; locationId: string; createdAt: number }): Promise<Mutation> {
  const { ctx, locationId, routeId } = w;
  switch (type) {
    case 'route.update': {
      const route = await ctx.db.selectFrom('routes').select('name').where('id', '=', routeId).executeTakeFirstOrThrow();
      return { ...base, type, routeId, changes: { name: { from: route.name, to: `Route ${tag()}` } } };
    }
    case 'route.cancel': return { ...base, type, routeId: (await freshRoute(ctx, locationId)).routeId };
    case 'route.reorder': {
      const stops = await ctx.db.selectFrom('stops').select('id').where('route_id', '=', routeId).orderBy('sequence').orderBy('id').execute();
      const expected = stops.map((s) => s.id);
      return { ...base, type, routeId, expected, stopIds: [...expected].reverse() };
    }
    case 'stop.cancel': return { ...base, type, stopId: (await freshRoute(ctx, locationId)).stopIds[0]! };
    case 'stop.move': {
      const fresh = await freshRoute(ctx, locationId);
      return { ...base, type, stopId: fresh.stopIds[0]!, fromRouteId: fresh.routeId, toRouteId: routeId, sequence: 0 };
    }
    case 'driver.create': return { ...base, type, driverId: `new-drv-${tag()}`, name: 'New Driver' };
    case 'driver.update': {
      const d = await ctx.db.selectFrom('drivers').select('name').where('id', '=', w.driverId).executeTakeFirstOrThrow();
      return { ...base, type, driverId: w.driverId, changes: { name: { from: d.name, to: `Driver ${tag()}` } } };
    }
    case 'driver.retire': return { ...base, type, driverId: await freshFleet(ctx, 'driver', locationId) };
    case 'vehicle.create': return { ...base, type, vehicleId: `new-veh-${tag()}`, label: 'New Van', plate: 'B-NV 1' };
    case 'vehicle.update': {
      const v = await ctx.db.selectFrom('vehicles').select('label').where('id', '=', w.vehicleId).executeTakeFirstOrThrow();
      return { ...base, type, vehicleId: w.vehicleId, changes: { label: { from: v.label, to: `Van ${tag()}` } } };
    }
    case 'vehicle.retire': return { ...base, type, vehicleId: await freshFleet(ctx, 'vehicle', locationId) };
  }
}
