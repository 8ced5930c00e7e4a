import { type StopOrderFields, stopOrderProblems } from '@depotline/shared';
import type { ServerContext } from '../../context';
import type { Db } from '../../db/database';
import type { StopRow } from '../presenters';
import { encryptStopPii } from '../stop-pii';
import { Rejection, stopChange } from './handler';

/**
 * The order data of a stop as columns: plain values (reference, counts, flags, amounts) as
 * they are, contact and payment values encrypted (stop-pii.ts). Shared by creation and update,
 * so both store an order the same way and check the same rules.
 */

/** The columns for the order fields given; fields left undefined are not touched. */
export function orderColumns(ctx: ServerContext, stopId: string, o: Partial<StopOrderFields>): Partial<StopRow> {
  return {
    ...encryptStopPii(ctx, stopId, { coordinates: o.coordinates, email: o.email, paymentRef: o.paymentRef }),
    ...(o.orderRef !== undefined ? { order_ref: o.orderRef } : {}),
    ...(o.parcelCount !== undefined ? { parcel_count: o.parcelCount } : {}),
    ...(o.barcodes !== undefined ? { barcodes: JSON.stringify(o.barcodes) } : {}),
    ...(o.minimumAge !== undefined ? { minimum_age: o.minimumAge } : {}),
    ...(o.idCheck !== undefined ? { id_check: o.idCheck ? 1 : 0 } : {}),
    ...(o.codAmount !== undefined ? { cod_amount: o.codAmount } : {}),
    ...(o.deliveryFee !== undefined ? { delivery_fee: o.deliveryFee } : {}),
    ...(o.currency !== undefined ? { currency: o.currency } : {}),
  };
}

/** A new stop's order columns: what the order says, and none of the rest. */
export function newOrderColumns(ctx: ServerContext, stopId: string, o: Partial<StopOrderFields>) {
  const full: StopOrderFields = {
    orderRef: null, parcelCount: 1, barcodes: [], coordinates: null, email: null, minimumAge: null, idCheck: false, pinRequired: false,
    paymentRef: null, codAmount: null, deliveryFee: null, currency: null,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
  };
  return { ...orderColumns(ctx, stopId, full), failure_reason: null, failure_note_enc: null } as Required<Pick<StopRow,
    'order_ref' | 'parcel_count' | 'barcodes' | 'coordinates_enc' | 'email_enc' | 'email_bidx' | 'minimum_age' | 'id_check' | 'payment_ref_enc'
    | 'cod_amount' | 'delivery_fee' | 'currency' | 'failure_reason' | 'failure_note_enc'>>;
}

/**
 * Refuses order data that does not hold together once applied to `current` (the stop as it is,
 * or nothing for a new one): an amount without a currency, or an order reference another stop
 * of the location already has. Checked before anything is written.
 */
export async function checkOrder(
  ctx: ServerContext,
  trx: Db,
  stop: { id: string; locationId: string },
  change: Partial<StopOrderFields>,
  current: StopRow | null,
): Promise<void> {
  const merged = {
    codAmount: change.codAmount !== undefined ? change.codAmount : (current?.cod_amount ?? null),
    deliveryFee: change.deliveryFee !== undefined ? change.deliveryFee : (current?.delivery_fee ?? null),
    currency: change.currency !== undefined ? change.currency : (current?.currency ?? null),
  };
  const problems = stopOrderProblems(merged);
  if (problems.length > 0) throw new Rejection('bad_request', problems.join(' '), current ? stopChange(ctx, current) : null);
  if (change.orderRef === undefined || change.orderRef === null || change.orderRef === current?.order_ref) return;
  const holder = await trx.selectFrom('stops').selectAll()
    .where('location_id', '=', stop.locationId).where('order_ref', '=', change.orderRef).where('id', '!=', stop.id)
    .executeTakeFirst();
  if (holder) {
    // The stop that holds the reference comes back as the current value: an import can update it instead.
    throw new Rejection('conflict', `Order ${change.orderRef} is already stop ${holder.id} at this location.`, stopChange(ctx, holder));
  }
}
