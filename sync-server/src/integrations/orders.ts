import crypto from 'node:crypto';
import {
  dateInZone, type Mutation, mutationTarget, type OrderCreate, type OrderUpdate, type ProfileField, type StopStatus, unplannedRouteName,
} from '@depotline/shared';
import type { AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { AppError, badRequest, conflict, forbidden, invalidTransition, notFound } from '../errors';
import { requireLocation } from '../provisioning/locations';
import { Rejection, type Touched, type Trx } from '../sync/mutations/handler';
import { handlerFor } from '../sync/mutations/registry';
import { presentStop, type StopRow } from '../sync/presenters';
import { webhookEventsOf } from '../webhooks/events';
import { enqueueWebhookEvents } from '../webhooks/outbox';
import { claimIdempotencyKey, pruneIdempotencyKeys } from './idempotency';

/**
 * Orders an integration creates, updates and cancels (docs/api.md, "Integration API"). There is no
 * second way to make a stop: an order is a `stop.create` (on a new day's unplanned list, a
 * `route.create` first), an update a `stop.update` / `stop.editNotes` and a cancellation a
 * `stop.cancel`, applied by the same handlers a console's
 * push and the order import run, with their checks (an order reference once per location, an
 * amount with its currency), change-log entries and audit details. Everything happens in the
 * caller's transaction, with the webhook outbox rows; the caller publishes `touched` to the live
 * feed once it has committed.
 */

/** The integration an order call comes from. */
export interface OrderCaller {
  integrationId: string;
  /** Stored as the stop's `updated_by`: `integration:<name>`. */
  label: string;
  profile: readonly ProfileField[];
}

export interface OrderWrite {
  /** 201 for an order made, 200 for an update (or a replay of what the key first answered). */
  status: number;
  stop: StopRow;
  /** True when an `Idempotency-Key` replay answered: nothing was written. */
  replayed: boolean;
  touched: Touched[];
}

export interface OrderWriteScope {
  ctx: ServerContext;
  /** The call's transaction: the order, its change-log entries, audit entries and webhook outbox rows commit together. */
  trx: Trx;
  caller: OrderCaller;
  now: number;
  audit: (event: AuditEvent) => void;
}

const nameKey = (name: string) => name.trim().toLocaleLowerCase();

/**
 * PostgreSQL: takes the location's row first, so concurrent creates at one location run one after
 * the other from the start (the day's unplanned list is then created once). SQLite has one writer.
 */
export async function lockLocation(s: OrderWriteScope, locationId: string): Promise<void> {
  if (s.ctx.dbKind === 'postgres') await s.trx.selectFrom('locations').select('id').where('id', '=', locationId).forUpdate().execute();
}

/** A refusal of a handler, in the API's words: the request is wrong (400) or meets the state (409). */
export function refusalToError(err: unknown): unknown {
  if (!(err instanceof Rejection)) return err;
  if (err.code === 'bad_request') return badRequest([err.reason]);
  if (err.code === 'invalid_transition') return invalidTransition(err.reason);
  return conflict(err.reason);
}

/**
 * Runs one mutation through its registered handler, audited like an import's, refusals as API
 * errors. `afterApply` runs before its webhooks are queued (an order recorded as the
 * integration's own, so that an integration reading only its own orders hears of it).
 */
async function applyMutation(s: OrderWriteScope, m: Mutation, afterApply?: () => Promise<void>): Promise<Touched[]> {
  const handler = handlerFor(m);
  const target = mutationTarget(m);
  try {
    const applied = await handler.apply({ ctx: s.ctx, trx: s.trx, by: s.caller.label, now: s.now, ownDrivers: new Set() }, m);
    s.audit({
      action: m.type, outcome: 'ok', targetType: target.kind, targetId: target.id, locationId: m.locationId,
      details: { ...handler.auditDetails(m, applied.before), source: 'integration', integrationId: s.caller.integrationId },
    });
    await afterApply?.();
    // What integrations hear of it (order.created, stop.status_changed), queued in this transaction as a push does.
    await enqueueWebhookEvents(s.trx, s.ctx, webhookEventsOf(m, applied, s.now));
    return applied.touched;
  } catch (err) {
    throw refusalToError(err);
  }
}

export const mutationBase = (locationId: string, now: number) => ({ id: crypto.randomUUID(), locationId, createdAt: now });

export function requireBillingAllowed(caller: OrderCaller, body: { billing?: unknown }): void {
  if (body.billing !== undefined && !caller.profile.includes('billing')) {
    throw forbidden('This integration\u2019s data profile does not include billing: leave out `billing`, or ask an admin to allow it.');
  }
}

/** The route an order goes on: the one named (it must exist, on the window's day), or the day's unplanned list. */
export async function routeForOrder(s: OrderWriteScope, locationId: string, day: string, route: OrderCreate['route']): Promise<{ routeId: string; touched: Touched[] }> {
  if (route && 'id' in route) {
    const row = await s.trx.selectFrom('routes').select(['id', 'date']).where('id', '=', route.id).where('location_id', '=', locationId).executeTakeFirst();
    if (!row) throw badRequest([`route.id: there is no route ${route.id} at this location`]);
    if (row.date !== day) throw badRequest([`route.id: route ${route.id} is for ${row.date}, but the order's window starts on ${day} (the depot's day)`]);
    return { routeId: row.id, touched: [] };
  }
  const wanted = nameKey(route?.name ?? unplannedRouteName);
  const sameDay = await s.trx.selectFrom('routes').select(['id', 'name']).where('location_id', '=', locationId).where('date', '=', day).orderBy('id').execute();
  const found = sameDay.find((r) => nameKey(r.name) === wanted);
  if (found) return { routeId: found.id, touched: [] };
  if (route) throw badRequest([`route.name: there is no route named "${route.name}" on ${day} at this location`]);
  const routeId = `route-${crypto.randomUUID()}`;
  const touched = await applyMutation(s, { ...mutationBase(locationId, s.now), type: 'route.create', routeId, name: unplannedRouteName, date: day });
  return { routeId, touched };
}

export async function nextSequence(trx: Db, routeId: string): Promise<number> {
  const row = await trx.selectFrom('stops').select((eb) => eb.fn.max('sequence').as('last')).where('route_id', '=', routeId).executeTakeFirst();
  return row?.last === null || row?.last === undefined ? 0 : Number(row.last) + 1;
}

async function loadStopRow(trx: Db, locationId: string, stopId: string): Promise<StopRow> {
  const row = await trx.selectFrom('stops').selectAll().where('id', '=', stopId).where('location_id', '=', locationId).executeTakeFirst();
  if (!row) throw notFound('The order');
  return row;
}

/**
 * Creates an order as a stop. With an idempotency key: the key is claimed first, in the same
 * transaction, and a key already answered returns that answer's stop (`replayed`), whatever the
 * stop has become since; nothing is written then.
 */
export async function createOrder(
  s: OrderWriteScope,
  locationId: string,
  body: OrderCreate,
  idempotency: { key: string; requestHash: string } | null,
): Promise<OrderWrite> {
  await lockLocation(s, locationId);
  let record: ((status: number, stopId: string | null) => Promise<void>) | null = null;
  if (idempotency) {
    const claim = await claimIdempotencyKey(s.trx, {
      integrationId: s.caller.integrationId, key: idempotency.key, requestHash: idempotency.requestHash, locationId, operation: 'order.create',
    }, s.now);
    if ('replay' in claim) {
      if (!claim.replay.stopId) throw new AppError('conflict', 409, 'The first request with this Idempotency-Key made no order.');
      return { status: claim.replay.status, stop: await loadStopRow(s.trx, locationId, claim.replay.stopId), replayed: true, touched: [] };
    }
    record = claim.record;
  }
  requireBillingAllowed(s.caller, body);
  const location = await requireLocation(s.trx, locationId);
  const day = dateInZone(body.timeWindow.start, location.timezone);
  const route = await routeForOrder(s, locationId, day, body.route);
  const stopId = `stop-${crypto.randomUUID()}`;
  const billing = body.billing ?? { paymentRef: null, codAmount: null, deliveryFee: null, currency: null };
  const touched = await applyMutation(s, {
    ...mutationBase(locationId, s.now), type: 'stop.create', stopId, routeId: route.routeId, sequence: await nextSequence(s.trx, route.routeId),
    customerName: body.customerName, address: body.address, phone: body.phone, notes: body.notes, window: body.timeWindow,
    orderRef: body.orderRef, parcelCount: body.parcelCount, barcodes: body.barcodes, coordinates: body.coordinates, email: body.email,
    minimumAge: body.minimumAge, idCheck: body.idCheck, pinRequired: body.pinRequired, ...billing,
  }, async () => {
    await s.trx.insertInto('integration_orders').values({ stop_id: stopId, integration_id: s.caller.integrationId, location_id: locationId, created_at: s.now }).execute();
  });
  await record?.(201, stopId);
  await pruneIdempotencyKeys(s.ctx, s.trx, s.now);
  return { status: 201, stop: await loadStopRow(s.trx, locationId, stopId), replayed: false, touched: [...route.touched, ...touched] };
}

/** The stop carrying the order reference at the location, if this integration created it (otherwise: not found). */
export async function ownOrderStop(trx: Db, caller: OrderCaller, locationId: string, orderRef: string): Promise<StopRow> {
  const row = await trx.selectFrom('stops').innerJoin('integration_orders as io', 'io.stop_id', 'stops.id')
    .selectAll('stops')
    .where('stops.location_id', '=', locationId).where('stops.order_ref', '=', orderRef).where('io.integration_id', '=', caller.integrationId)
    .executeTakeFirst();
  if (!row) throw notFound('The order');
  return row;
}

/**
 * Updates an order this integration created, while it is still planned: the fields given that
 * differ from the stop's become one `stop.update` (and a `stop.editNotes` for the notes). Sending
 * what the order already says changes nothing and writes nothing.
 */
export async function updateOrder(s: OrderWriteScope, locationId: string, orderRef: string, body: OrderUpdate): Promise<OrderWrite> {
  await lockLocation(s, locationId);
  const row = await ownOrderStop(s.trx, s.caller, locationId, orderRef);
  requireBillingAllowed(s.caller, body);
  if ((row.status as StopStatus) !== 'planned') {
    throw invalidTransition(`Order ${orderRef} is already ${row.status.replace('_', ' ')}: it can no longer be changed.`);
  }
  const current = presentStop(s.ctx, row);
  const wanted: Record<string, unknown> = {
    customerName: body.customerName, address: body.address, coordinates: body.coordinates, phone: body.phone, email: body.email,
    window: body.timeWindow, parcelCount: body.parcelCount, barcodes: body.barcodes, minimumAge: body.minimumAge, idCheck: body.idCheck,
    pinRequired: body.pinRequired,
    ...(body.billing ?? {}),
  };
  const changes: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(wanted)) {
    if (value === undefined) continue;
    if (JSON.stringify((current as Record<string, unknown>)[field] ?? null) !== JSON.stringify(value ?? null)) changes[field] = value;
  }
  const touched: Touched[] = [];
  if (Object.keys(changes).length > 0) {
    touched.push(...await applyMutation(s, { ...mutationBase(locationId, s.now), type: 'stop.update', stopId: row.id, changes: changes }));
  }
  if (body.notes !== undefined && body.notes !== current.notes) {
    touched.push(...await applyMutation(s, { ...mutationBase(locationId, s.now), type: 'stop.editNotes', stopId: row.id, notes: body.notes }));
  }
  return { status: 200, stop: touched.length > 0 ? await loadStopRow(s.trx, locationId, row.id) : row, replayed: false, touched };
}

/**
 * Cancels an order this integration created, as a dispatcher's `stop.cancel` would: refused
 * (`409 invalid_transition`) once it is under way or done; an order already cancelled is answered
 * as it is, with nothing written.
 */
export async function cancelOrder(s: OrderWriteScope, locationId: string, orderRef: string): Promise<OrderWrite> {
  await lockLocation(s, locationId);
  const row = await ownOrderStop(s.trx, s.caller, locationId, orderRef);
  if ((row.status as StopStatus) === 'cancelled') return { status: 200, stop: row, replayed: false, touched: [] };
  const touched = await applyMutation(s, { ...mutationBase(locationId, s.now), type: 'stop.cancel', stopId: row.id });
  return { status: 200, stop: await loadStopRow(s.trx, locationId, row.id), replayed: false, touched };
}
