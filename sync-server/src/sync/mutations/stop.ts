import { failureReasonRefusal, type StopOrderFields, type StopStatus, stopTransitionRefusal, type TimeWindow } from '@depotline/shared';
import type { ServerContext } from '../../context';
import type { Db } from '../../db/database';
import { recordChange, writeStopChange } from '../change-log';
import type { StopRow } from '../presenters';
import { closedStopStatuses, driverAccessOpen } from '../route-completion';
import { encryptNewStopPii, encryptStopPii, type StopPii } from '../stop-pii';
import { type Applied, fromTo, loadRoute, loadStopIn, type MutationHandlers, type MutationScope, Rejection, stopChange } from './handler';
import { checkOrder, newOrderColumns, orderColumns } from './stop-order';
import { newPinColumns, pinColumnsFor } from '../../proofs/delivery-pin';
import { checkColumnsFor, handoverRefusal, requirementLoweringRefusal } from '../../proofs/handover';

/** Stop mutations: status (the state machine), notes, customer details and order, creation. */

/** True when the stop is on a route assigned to one of the caller's driver records. */
async function stopIsOnOwnRoute(scope: MutationScope, m: { stopId: string; locationId: string }): Promise<boolean> {
  if (scope.ownDrivers.size === 0) return false;
  const row = await scope.trx
    .selectFrom('stops').innerJoin('routes', 'routes.id', 'stops.route_id')
    .select(['routes.driver_id', 'routes.driver_access_until'])
    .where('stops.id', '=', m.stopId).where('stops.location_id', '=', m.locationId)
    .executeTakeFirst();
  return row?.driver_id != null && scope.ownDrivers.has(row.driver_id) && driverAccessOpen(row, scope.now);
}

/** Writes the change; the row as it was goes back as `before`, for the audit entry's from/to. */
async function touchStop(scope: MutationScope, stop: StopRow, columns: Partial<StopRow>): Promise<Required<Applied<'stop.update'>>> {
  const version = await writeStopChange(scope.trx, stop, { ...columns, updated_at: scope.now, updated_by: scope.by }, scope.now);
  // The stop stays on its route; only a status going between open and closed can complete or reopen it.
  const closes = (status: string) => closedStopStatuses.includes(status as StopStatus);
  const completionUnchanged = columns.status === undefined || closes(columns.status) === closes(stop.status);
  return { version, touched: [{ entity: 'stop', id: stop.id, locationId: stop.location_id }], before: stop, completionUnchanged };
}

const windowOf = (row: StopRow): TimeWindow => ({ start: row.window_start, end: row.window_end });

export interface NewStop extends Pick<StopPii, 'customerName' | 'address' | 'phone' | 'notes'>, Partial<StopOrderFields> {
  id: string;
  locationId: string;
  routeId: string;
  sequence: number;
  window: TimeWindow;
}

/** The order fields a stop create or update carries, without the rest of the mutation. */
function orderPart(o: Partial<StopOrderFields>): Partial<StopOrderFields> {
  const { orderRef, parcelCount, barcodes, coordinates, email, minimumAge, idCheck, pinRequired, paymentRef, codAmount, deliveryFee, currency } = o;
  return { orderRef, parcelCount, barcodes, coordinates, email, minimumAge, idCheck, pinRequired, paymentRef, codAmount, deliveryFee, currency };
}

/** Order fields named in an audit entry: which were set, valued only where operational (never contact or billing values). */
function orderAudit(o: Partial<StopOrderFields>, before: StopRow | undefined): Record<string, unknown> {
  return {
    ...(o.orderRef !== undefined ? { orderRef: fromTo(before?.order_ref, o.orderRef) } : {}),
    ...(o.parcelCount !== undefined ? { parcelCount: fromTo(before?.parcel_count, o.parcelCount) } : {}),
    ...(o.pinRequired !== undefined ? { pinRequired: fromTo(before && before.pin_required === 1, o.pinRequired) } : {}),
    ...(o.minimumAge !== undefined ? { minimumAge: fromTo(before?.minimum_age, o.minimumAge) } : {}),
    ...(o.idCheck !== undefined ? { idCheck: fromTo(before && before.id_check === 1, o.idCheck) } : {}),
  };
}

/**
 * The one writer of new stops, for pushed `stop.create` and for provisioning alike: the id is
 * free, the route is at the same location, the order holds together and its reference is free
 * at the location, the customer and payment data is encrypted before it is stored.
 */
export async function createStopRecord(ctx: ServerContext, write: { trx: Db; by: string; now: number }, s: NewStop): Promise<StopRow> {
  const { trx, by, now } = write;
  const clash = await trx.selectFrom('stops').selectAll().where('id', '=', s.id).executeTakeFirst();
  if (clash) throw new Rejection('conflict', 'A stop with this id already exists.', clash.location_id === s.locationId ? stopChange(ctx, clash) : null);
  await loadRoute(trx, s.routeId, s.locationId);
  const order = orderPart(s);
  await checkOrder(ctx, trx, { id: s.id, locationId: s.locationId }, order, null);
  const version = await recordChange(trx, s.locationId, 'stop', s.id, now);
  const row: StopRow = {
    id: s.id, location_id: s.locationId, route_id: s.routeId, sequence: s.sequence,
    ...encryptNewStopPii(ctx, s.id, {
      customerName: s.customerName, address: s.address, phone: s.phone, notes: s.notes,
      coordinates: null, email: null, paymentRef: null, failureNote: null,
    }),
    ...newOrderColumns(ctx, s.id, order),
    ...newPinColumns(ctx, s.id, order.pinRequired ?? false), check_passed: null, check_min_age: null,
    window_start: s.window.start, window_end: s.window.end, status: 'planned' satisfies StopStatus, eta: null,
    version, updated_at: now, updated_by: by, pseudonymised_at: null,
  };
  await trx.insertInto('stops').values(row).execute();
  return row;
}

/** Customer fields a `stop.update` may carry: none of them goes onto a pseudonymised stop. */
const customerFields = ['customerName', 'address', 'phone', 'coordinates', 'email', 'paymentRef'] as const;

/**
 * A pseudonymised stop's customer data was erased for good (retention/stop-erasure.ts): no edit
 * brings any of it back, however late an offline console sends it. Refused before any write, with
 * the erased stop as `current`, so the console drops the edit rather than keeping it.
 */
function refuseOnErased(scope: MutationScope, stop: StopRow, carriesCustomerData: boolean): void {
  if (stop.pseudonymised_at !== null && carriesCustomerData) {
    throw new Rejection('conflict', 'This stop\u2019s customer details were erased; they cannot be set again.', stopChange(scope.ctx, stop));
  }
}

export const stopMutations = {
  'stop.setStatus': {
    assignedToCaller: stopIsOnOwnRoute,
    async apply(scope, m) {
      const stop = await loadStopIn(scope, m.stopId, m.locationId);
      refuseOnErased(scope, stop, m.to === 'failed' && m.reason !== undefined);
      const refusal = stopTransitionRefusal(stop.status as StopStatus, m.to);
      if (refusal) throw new Rejection('invalid_transition', refusal, stopChange(scope.ctx, stop));
      const missing = failureReasonRefusal(m.to, m.failureReason);
      if (missing) throw new Rejection('bad_request', missing, stopChange(scope.ctx, stop));
      const handover = handoverRefusal(stop, m.to, m.failureReason);
      if (handover) throw new Rejection(handover.code, handover.reason, stopChange(scope.ctx, stop));
      // A failed stop keeps why; leaving `failed` (another attempt) clears it.
      const failure = m.to === 'failed'
        ? { failure_reason: m.failureReason ?? null, ...encryptStopPii(scope.ctx, stop.id, { failureNote: m.reason ?? null }) }
        : { failure_reason: null, failure_note_enc: null };
      return touchStop(scope, stop, { status: m.to, ...failure });
    },
    // The note is customer-facing free text: stored encrypted on the stop, only its presence is audited.
    auditDetails: (m, before) => ({
      mutationId: m.id, status: fromTo(before?.status, m.to),
      ...(m.to === 'failed' ? { failureReason: m.failureReason, failureNote: m.reason !== undefined } : { reason: m.reason }),
    }),
  },
  'stop.editNotes': {
    assignedToCaller: stopIsOnOwnRoute,
    async apply(scope, m) {
      const stop = await loadStopIn(scope, m.stopId, m.locationId);
      refuseOnErased(scope, stop, true);
      return touchStop(scope, stop, encryptStopPii(scope.ctx, stop.id, { notes: m.notes }));
    },
    auditDetails: (m) => ({ mutationId: m.id, fields: ['notes'] }),
  },
  'stop.update': {
    assignedToCaller: stopIsOnOwnRoute,
    async apply(scope, m) {
      const stop = await loadStopIn(scope, m.stopId, m.locationId);
      const c = m.changes;
      refuseOnErased(scope, stop, customerFields.some((k) => c[k] !== undefined));
      const order = orderPart(c);
      await checkOrder(scope.ctx, scope.trx, { id: stop.id, locationId: stop.location_id }, order, stop);
      const lowering = requirementLoweringRefusal(stop, order);
      if (lowering) throw new Rejection('invalid_transition', lowering, stopChange(scope.ctx, stop));
      return touchStop(scope, stop, {
        ...encryptStopPii(scope.ctx, stop.id, { customerName: c.customerName, address: c.address, phone: c.phone }),
        ...orderColumns(scope.ctx, stop.id, order),
        ...pinColumnsFor(scope.ctx, stop.id, order.pinRequired, stop),
        ...checkColumnsFor(stop, order),
        ...(c.sequence !== undefined ? { sequence: c.sequence } : {}),
        ...(c.window !== undefined ? { window_start: c.window.start, window_end: c.window.end } : {}),
        ...(c.eta !== undefined ? { eta: c.eta } : {}),
      });
    },
    // Customer details are named in `fields`, never valued; order, window and ETA carry from/to.
    auditDetails: (m, before) => {
      const c = m.changes;
      return {
        mutationId: m.id, fields: Object.keys(c).sort(),
        ...(c.sequence !== undefined ? { routeId: before?.route_id, sequence: fromTo(before?.sequence, c.sequence) } : {}),
        ...(c.window !== undefined ? { window: fromTo(before && windowOf(before), c.window) } : {}),
        ...(c.eta !== undefined ? { eta: fromTo(before?.eta, c.eta) } : {}),
        ...orderAudit(c, before),
      };
    },
  },
  'stop.create': {
    async apply(scope, m) {
      const row = await createStopRecord(scope.ctx, scope, {
        id: m.stopId, locationId: m.locationId, routeId: m.routeId, sequence: m.sequence,
        customerName: m.customerName, address: m.address, phone: m.phone, notes: m.notes, window: m.window, ...orderPart(m),
      });
      return { version: row.version, touched: [{ entity: 'stop', id: row.id, locationId: row.location_id, created: true }] };
    },
    auditDetails: (m) => ({ mutationId: m.id, routeId: m.routeId, sequence: m.sequence, window: m.window, ...orderAudit(orderPart(m), undefined) }),
  },
  'stop.revealPhone': {
    assignedToCaller: stopIsOnOwnRoute,
    async apply(scope, m) {
      // A sensitive read: nothing is written and no version is taken, so nothing is broadcast;
      // the push's claim on the mutation id keeps a replay from being audited twice.
      const stop = await loadStopIn(scope, m.stopId, m.locationId);
      return { version: stop.version, touched: [] };
    },
    // The entry's own time is when the server received it; `revealedAt` is when the user
    // revealed the number, which for a console that was offline is earlier.
    auditDetails: (m) => ({ mutationId: m.id, stopId: m.stopId, revealedAt: m.createdAt }),
  },
} satisfies Pick<MutationHandlers, 'stop.setStatus' | 'stop.editNotes' | 'stop.update' | 'stop.create' | 'stop.revealPhone'>;
