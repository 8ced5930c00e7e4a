import {
  Address, CustomerName, DeliveryNotes, EntityId, Phone, type Route, RouteDate, type Stop, StopOrderFields, TimeWindow,
} from '@depotline/shared';
import { z } from 'zod';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { AppError, conflict, parseInput } from '../errors';
import { Rejection } from '../sync/mutations/handler';
import { createRouteRecord } from '../sync/mutations/route';
import { createStopRecord } from '../sync/mutations/stop';
import { refreshRouteCompletion } from '../sync/route-completion';
import { presentRoute, presentStop } from '../sync/presenters';
import { newEntityId } from './fleet';
import { requireLocation } from './locations';
import { isUniqueViolation } from './operator';

export const RouteCreateInput = z.object({
  id: EntityId.optional(),
  locationId: EntityId,
  name: z.string().trim().min(1).max(200),
  date: RouteDate,
  driverId: EntityId.nullable().optional(),
  vehicleId: EntityId.nullable().optional(),
});
export type RouteCreateInput = z.input<typeof RouteCreateInput>;

export const StopCreateInput = z.object({
  id: EntityId.optional(),
  locationId: EntityId,
  routeId: EntityId,
  /** Position on the route; defaults to after the last stop. */
  sequence: z.number().int().nonnegative().optional(),
  customerName: CustomerName,
  address: Address,
  phone: Phone.nullable(),
  notes: DeliveryNotes.default(''),
  window: TimeWindow,
  /** The order (reference, parcels, checks, billing): each optional, as on `stop.create`. */
  ...StopOrderFields.partial().shape,
});
export type StopCreateInput = z.input<typeof StopCreateInput>;

/** A refusal of the shared record writers, as the error the CLI and provisioning answer with. */
function asProvisioningError(err: unknown): unknown {
  if (!(err instanceof Rejection)) return err;
  if (err.code === 'not_found') return new AppError('not_found', 404, err.reason);
  return err.code === 'bad_request' ? new AppError('bad_request', 400, err.reason) : conflict(err.reason);
}

/** Creates a route inside the caller's transaction; driver and vehicle must be of the same location. */
export async function createRouteIn(trx: Db, actor: AuditActor, input: RouteCreateInput, now: number): Promise<Route> {
  const r = parseInput(RouteCreateInput, input);
  const id = r.id ?? newEntityId('route');
  await requireLocation(trx, r.locationId);
  const driverId = r.driverId ?? null;
  const vehicleId = r.vehicleId ?? null;
  const row = await createRouteRecord({ trx, by: actor.label, now }, { id, locationId: r.locationId, name: r.name, date: r.date, driverId, vehicleId })
    .catch((err: unknown) => { throw asProvisioningError(err); });
  await appendAudit(trx, actor, {
    action: 'route.create', outcome: 'ok', targetType: 'route', targetId: id, locationId: r.locationId,
    details: { name: r.name, date: r.date, driverId, vehicleId },
  }, now);
  return presentRoute(row);
}

export async function createRoute(ctx: ServerContext, actor: AuditActor, input: RouteCreateInput): Promise<Route> {
  const r = parseInput(RouteCreateInput, input);
  const withId = { ...r, id: r.id ?? newEntityId('route') };
  try {
    return await ctx.db.transaction().execute((trx) => createRouteIn(trx, actor, withId, ctx.now()));
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`A route with id ${withId.id} already exists.`);
    throw err;
  }
}

/**
 * Creates a stop inside the caller's transaction. The customer's name, address, phone and
 * notes are encrypted before they reach the database, and the audit entry names which of
 * them were set, never their values.
 */
export async function createStopIn(ctx: ServerContext, trx: Db, actor: AuditActor, input: StopCreateInput, now: number): Promise<Stop> {
  const s = parseInput(StopCreateInput, input);
  const id = s.id ?? newEntityId('stop');
  await requireLocation(trx, s.locationId);
  let sequence = s.sequence;
  if (sequence === undefined) {
    const last = await trx.selectFrom('stops').select((eb) => eb.fn.max('sequence').as('max')).where('route_id', '=', s.routeId).executeTakeFirst();
    sequence = last?.max === null || last?.max === undefined ? 0 : Number(last.max) + 1;
  }
  const row = await createStopRecord(ctx, { trx, by: actor.label, now }, {
    id, locationId: s.locationId, routeId: s.routeId, sequence,
    customerName: s.customerName, address: s.address, phone: s.phone, notes: s.notes, window: s.window,
    orderRef: s.orderRef, parcelCount: s.parcelCount, barcodes: s.barcodes, coordinates: s.coordinates, email: s.email,
    minimumAge: s.minimumAge, idCheck: s.idCheck, paymentRef: s.paymentRef, codAmount: s.codAmount, deliveryFee: s.deliveryFee, currency: s.currency,
  }).catch((err: unknown) => { throw asProvisioningError(err); });
  // A new open stop reopens a completed route (its driver's devices get it back at their next pull).
  await refreshRouteCompletion(trx, ctx.config, [s.routeId], now);
  await appendAudit(trx, actor, {
    action: 'stop.create', outcome: 'ok', targetType: 'stop', targetId: id, locationId: s.locationId,
    details: {
      routeId: s.routeId, sequence, window: s.window,
      ...(s.orderRef ? { orderRef: s.orderRef } : {}),
      fields: ['customerName', 'address', 'notes', ...(s.phone !== null ? ['phone'] : []),
        ...(['email', 'coordinates', 'paymentRef', 'codAmount', 'deliveryFee'] as const).filter((f) => s[f] != null)].sort(),
    },
  }, now);
  return presentStop(ctx, row);
}

export async function createStop(ctx: ServerContext, actor: AuditActor, input: StopCreateInput): Promise<Stop> {
  const s = parseInput(StopCreateInput, input);
  const withId = { ...s, id: s.id ?? newEntityId('stop') };
  try {
    return await ctx.db.transaction().execute((trx) => createStopIn(ctx, trx, actor, withId, ctx.now()));
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`A stop with id ${withId.id} already exists.`);
    throw err;
  }
}
