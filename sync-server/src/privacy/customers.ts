import type { CustomerMatchKind } from '@depotline/shared';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import type { StopRow } from '../sync/presenters';
import type { StopPii } from '../sync/stop-pii';

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
 * found. `db` lets a caller look inside its own transaction. (Signature first; the lookup lands
 * with the stops' index columns.)
 */
export async function findCustomerStops(
  ctx: ServerContext,
  customer: CustomerLookup,
  locationIds: readonly string[],
  options: { db?: Db; limit?: number } = {},
): Promise<CustomerStop[]> {
  void ctx;
  void customer;
  void locationIds;
  void options;
  return Promise.reject(new Error('findCustomerStops: not implemented yet'));
}
