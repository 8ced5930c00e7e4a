import { type CustomerMatchKind, customerStopLimit } from '@depotline/shared';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import type { StopRow } from '../sync/presenters';
import { readStopPii, type StopPii } from '../sync/stop-pii';
import { customerKeys, normaliseEmail, normalisePhone } from './blind-index';

/**
 * A customer's stops, found by the blind index and confirmed by decrypting: a stop counts only
 * when its decrypted phone or email, normalised, equals the one asked for, so a truncated index
 * value that two customers share never hands one customer's stop to the other's request.
 */

export interface CustomerStop {
  row: StopRow;
  /** The stop's customer data as it decrypted (fields that did not decrypt are absent). */
  pii: Partial<StopPii>;
  /** Which of the identifiers asked for this stop carries (after decrypting), at least one. */
  matched: CustomerMatchKind[];
}

/** The identifiers a customer is looked up by, as the caller wrote them (any common phone format). */
export interface CustomerLookup {
  phone?: string;
  email?: string;
}

/**
 * Every stop at `locationIds` whose phone or email is the customer's, oldest window first, at
 * most `limit` (default `customerStopLimit`). Pseudonymised stops carry no index and are not
 * found. `db` lets a caller look inside its own transaction.
 */
export async function findCustomerStops(
  ctx: ServerContext,
  customer: CustomerLookup,
  locationIds: readonly string[],
  options: { db?: Db; limit?: number } = {},
): Promise<CustomerStop[]> {
  const keys = customerKeys(ctx, customer);
  if (locationIds.length === 0 || (keys.phone === null && keys.email === null)) return [];
  const limit = options.limit ?? customerStopLimit;
  const wanted = {
    phone: customer.phone !== undefined ? normalisePhone(customer.phone, ctx.config.privacy.phoneRegion) : null,
    email: customer.email !== undefined ? normaliseEmail(customer.email) : null,
  };
  const candidates = await (options.db ?? ctx.db)
    .selectFrom('stops').selectAll()
    .where('location_id', 'in', [...locationIds])
    .where((eb) => eb.or([
      ...(keys.phone !== null ? [eb('phone_bidx', '=', keys.phone)] : []),
      ...(keys.email !== null ? [eb('email_bidx', '=', keys.email)] : []),
    ]))
    .orderBy('window_end').orderBy('id')
    .execute();
  const found: CustomerStop[] = [];
  for (const row of candidates) {
    const { pii } = readStopPii(ctx, row);
    const matched: CustomerMatchKind[] = [];
    if (wanted.phone !== null && typeof pii.phone === 'string' && normalisePhone(pii.phone, ctx.config.privacy.phoneRegion) === wanted.phone) matched.push('phone');
    if (wanted.email !== null && typeof pii.email === 'string' && normaliseEmail(pii.email) === wanted.email) matched.push('email');
    if (matched.length === 0) continue;
    found.push({ row, pii, matched });
    if (found.length >= limit) break;
  }
  return found;
}
