import crypto from 'node:crypto';
import { sql } from 'kysely';
import { dateInZone, maxOrderBatch, type Mutation, mutationTarget, type OrderCreate } from '@depotline/shared';
import type { AuditEvent } from '../audit/audit-log';
import { AppError, notFound } from '../errors';
import { requireLocation } from '../provisioning/locations';
import type { Touched } from '../sync/mutations/handler';
import { handlerFor } from '../sync/mutations/registry';
import type { StopRow } from '../sync/presenters';
import { webhookEventsOf } from '../webhooks/events';
import { type DomainEvent, enqueueWebhookEvents } from '../webhooks/outbox';
import { type BatchClaim, claimIdempotencyKey, claimIdempotencyKeys, pruneIdempotencyKeys, releaseIdempotencyKey } from './idempotency';
import {
  lockLocation, mutationBase, nextSequence, type OrderWrite, type OrderWriteScope, refusalToError, requireBillingAllowed, routeForOrder,
} from './orders';

/**
 * Many orders in one request (`POST /locations/:locationId/orders/batch`): each is checked and
 * made as the single create (`createOrder`) makes it, with its own `Idempotency-Key` and the same
 * request hash a single create of it would have, so a batch retried, or an order of it retried
 * alone, is answered as the first time. All of them share one transaction, and so one commit and
 * one audit append. An order that is refused (its route unknown, its reference taken, its key
 * reused) leaves nothing behind, not even a key claim or an unplanned route, and the others go
 * on: an order that may write before it can be refused (a route not yet seen in the batch, a key
 * repeated in it) runs in its own savepoint; the others write only through the handler, which
 * refuses before its first write, and give up their key claim when refused.
 *
 * What a single create does once per order is done once per batch where the answer cannot differ
 * between orders (the import's write path, provisioning/order-import.ts, works the same way):
 * the location is locked and read once; the keys are claimed together (`claimIdempotencyKeys`);
 * a route and its next sequence are looked up once per route and counted on in memory; the
 * orders' `integration_orders` rows, their webhook outbox rows (`enqueueWebhookEvents`) and the
 * stops for the answer are written and read with one statement each at the end. Every order
 * still goes through the `stop.create` handler (its id, route, order reference checks, change-log
 * entry) and gets its own audit entry, in order, on the one chain.
 */

export interface BatchItem {
  order: OrderCreate;
  idempotency: { key: string; requestHash: string } | null;
}

export type BatchOutcome = { write: OrderWrite; error?: never } | { error: AppError; write?: never };

/** An order of the batch once decided: made (or replayed) as `stopId`, or refused. */
type Decided = { stopId: string; status: number; replayed: boolean; touched: Touched[] } | { error: AppError };

const routeKey = (day: string, route: OrderCreate['route']) => `${day}|${JSON.stringify(route ?? null)}`;

/** Routes and sequences found so far in this batch; forgotten whenever an order is rolled back. */
class RouteMemo {
  private routes = new Map<string, { routeId: string }>();
  private sequences = new Map<string, number>();
  private days = new Map<number, string>();

  constructor(private readonly timezone: string) {}

  day(start: number): string {
    let day = this.days.get(start);
    if (day === undefined) this.days.set(start, (day = dateInZone(start, this.timezone)));
    return day;
  }

  knows(day: string, route: OrderCreate['route']): boolean {
    return this.routes.has(routeKey(day, route));
  }

  async route(s: OrderWriteScope, locationId: string, day: string, route: OrderCreate['route']): Promise<{ routeId: string; touched: Touched[] }> {
    const key = routeKey(day, route);
    const known = this.routes.get(key);
    if (known) return { routeId: known.routeId, touched: [] };
    const found = await routeForOrder(s, locationId, day, route);
    this.routes.set(key, { routeId: found.routeId });
    return found;
  }

  async sequence(s: OrderWriteScope, routeId: string): Promise<number> {
    const next = this.sequences.get(routeId) ?? await nextSequence(s.trx, routeId);
    this.sequences.set(routeId, next + 1);
    return next;
  }

  forget(): void {
    this.routes.clear();
    this.sequences.clear();
  }
}

export async function createOrderBatch(s: OrderWriteScope, locationId: string, items: readonly BatchItem[]): Promise<BatchOutcome[]> {
  if (items.length > maxOrderBatch) throw new AppError('bad_request', 400, `A batch carries at most ${maxOrderBatch} orders.`);
  await lockLocation(s, locationId);
  const location = await requireLocation(s.trx, locationId);
  const stopIds = items.map(() => `stop-${crypto.randomUUID()}`);
  const claims = await claimBatchKeys(s, locationId, items, stopIds);
  const memo = new RouteMemo(location.timezone);
  const events: DomainEvent[] = [];
  const made: string[] = [];
  const decided: Decided[] = [];

  for (const [i, item] of items.entries()) {
    const claim = claims[i];
    if (claim && 'error' in claim) {
      decided.push({ error: claim.error });
      continue;
    }
    if (claim && 'replay' in claim) {
      decided.push(claim.replay.stopId
        ? { stopId: claim.replay.stopId, status: claim.replay.status, replayed: true, touched: [] }
        : { error: new AppError('conflict', 409, 'The first request with this Idempotency-Key made no order.') });
      continue;
    }
    // A savepoint only where the order may write before it can be refused: its key repeated in the
    // batch (claimed now), or a route not yet known here (the day's unplanned list may be created).
    // Otherwise its only writes are the handler's, which refuses before it writes (as the import relies on).
    const repeated = claim === undefined && item.idempotency !== null;
    const savepoint = repeated || !memo.knows(memo.day(item.order.timeWindow.start), item.order.route) ? sql.id(`order_${i}`) : null;
    if (savepoint) await sql`savepoint ${savepoint}`.execute(s.trx);
    // The order's audit entries are kept back until it is known to stand; its webhook events are added once its handler succeeded.
    const audits: AuditEvent[] = [];
    try {
      if (repeated && item.idempotency) {
        // Claimed here, after the orders before it with the same key, as separate creates would be.
        const single = await claimIdempotencyKey(s.trx, {
          integrationId: s.caller.integrationId, key: item.idempotency.key, requestHash: item.idempotency.requestHash, locationId, operation: 'order.create',
        }, s.now);
        if ('replay' in single) {
          if (savepoint) await sql`release savepoint ${savepoint}`.execute(s.trx);
          decided.push(single.replay.stopId
            ? { stopId: single.replay.stopId, status: single.replay.status, replayed: true, touched: [] }
            : { error: new AppError('conflict', 409, 'The first request with this Idempotency-Key made no order.') });
          continue;
        }
        await single.record(201, stopIds[i]!);
      }
      const touched = await createOne({ ...s, audit: (e) => void audits.push(e) }, memo, locationId, item.order, stopIds[i]!, events);
      if (savepoint) await sql`release savepoint ${savepoint}`.execute(s.trx);
      for (const e of audits) s.audit(e);
      made.push(stopIds[i]!);
      decided.push({ stopId: stopIds[i]!, status: 201, replayed: false, touched });
    } catch (err) {
      // A database fault fails the whole batch (its transaction rolls back); a refusal only its order.
      if (!(err instanceof AppError)) throw err;
      if (savepoint) await sql`rollback to savepoint ${savepoint}`.execute(s.trx);
      // What the order created or counted on (an unplanned route, a sequence) is read again by the next one.
      memo.forget();
      if (claim !== undefined && item.idempotency) await releaseIdempotencyKey(s.trx, s.caller.integrationId, item.idempotency.key);
      decided.push({ error: err });
    }
  }

  // The orders are the integration's own before their webhooks are queued (an integration seeing only its own orders hears of them).
  for (let i = 0; i < made.length; i += 500) {
    await s.trx.insertInto('integration_orders')
      .values(made.slice(i, i + 500).map((stopId) => ({ stop_id: stopId, integration_id: s.caller.integrationId, location_id: locationId, created_at: s.now })))
      .execute();
  }
  await enqueueWebhookEvents(s.trx, s.ctx, events);
  await pruneIdempotencyKeys(s.ctx, s.trx, s.now);
  const rows = await stopsById(s, locationId, decided.flatMap((d) => ('stopId' in d ? [d.stopId] : [])));
  return decided.map((d): BatchOutcome => {
    if ('error' in d) return { error: d.error };
    const stop = rows.get(d.stopId);
    if (!stop) return { error: notFound('The order') };
    return { write: { status: d.status, stop, replayed: d.replayed, touched: d.touched } };
  });
}

/** Claims every key of the batch that appears there first; a repeated key is left for its turn (undefined). */
async function claimBatchKeys(s: OrderWriteScope, locationId: string, items: readonly BatchItem[], stopIds: readonly string[]): Promise<(BatchClaim | undefined)[]> {
  const firsts = new Map<string, number>();
  items.forEach((item, i) => {
    if (item.idempotency && !firsts.has(item.idempotency.key)) firsts.set(item.idempotency.key, i);
  });
  const indexes = [...firsts.values()];
  const claims = await claimIdempotencyKeys(s.trx, indexes.map((i) => ({
    integrationId: s.caller.integrationId, key: items[i]!.idempotency!.key, requestHash: items[i]!.idempotency!.requestHash, locationId, operation: 'order.create', stopId: stopIds[i]!,
  })), s.now);
  const out: (BatchClaim | undefined)[] = items.map(() => undefined);
  indexes.forEach((i, k) => (out[i] = claims[k]));
  return out;
}

/** One order through the `stop.create` handler, as `createOrder` applies it; its webhook events go to `events`. */
async function createOne(s: OrderWriteScope, memo: RouteMemo, locationId: string, body: OrderCreate, stopId: string, events: DomainEvent[]): Promise<Touched[]> {
  requireBillingAllowed(s.caller, body);
  const route = await memo.route(s, locationId, memo.day(body.timeWindow.start), body.route);
  const billing = body.billing ?? { paymentRef: null, codAmount: null, deliveryFee: null, currency: null };
  const m: Mutation = {
    ...mutationBase(locationId, s.now), type: 'stop.create', stopId, routeId: route.routeId, sequence: await memo.sequence(s, route.routeId),
    customerName: body.customerName, address: body.address, phone: body.phone, notes: body.notes, window: body.timeWindow,
    orderRef: body.orderRef, parcelCount: body.parcelCount, barcodes: body.barcodes, coordinates: body.coordinates, email: body.email,
    minimumAge: body.minimumAge, idCheck: body.idCheck, pinRequired: body.pinRequired, ...billing,
  };
  const handler = handlerFor(m);
  const target = mutationTarget(m);
  try {
    const applied = await handler.apply({ ctx: s.ctx, trx: s.trx, by: s.caller.label, now: s.now, ownDrivers: new Set() }, m);
    s.audit({
      action: m.type, outcome: 'ok', targetType: target.kind, targetId: target.id, locationId: m.locationId,
      details: { ...handler.auditDetails(m, applied.before), source: 'integration', integrationId: s.caller.integrationId },
    });
    events.push(...webhookEventsOf(m, applied, s.now));
    return [...route.touched, ...applied.touched];
  } catch (err) {
    throw refusalToError(err);
  }
}

async function stopsById(s: OrderWriteScope, locationId: string, ids: readonly string[]): Promise<Map<string, StopRow>> {
  const out = new Map<string, StopRow>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await s.trx.selectFrom('stops').selectAll().where('location_id', '=', locationId).where('id', 'in', unique.slice(i, i + 500)).execute();
    for (const r of rows) out.set(r.id, r);
  }
  return out;
}
