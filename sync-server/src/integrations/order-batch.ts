import { sql } from 'kysely';
import { maxOrderBatch, type OrderCreate } from '@depotline/shared';
import type { AuditEvent } from '../audit/audit-log';
import { AppError } from '../errors';
import { createOrder, type OrderWrite, type OrderWriteScope } from './orders';

/**
 * Many orders in one request (`POST /locations/:locationId/orders/batch`): each is the single
 * create (`createOrder`), with its own `Idempotency-Key` and the same request hash a single create
 * of it would have, so a batch retried, or an order of it retried alone, is answered as the first
 * time. All of them share one transaction, and so one commit and one audit append; each runs in
 * its own savepoint, so an order that is refused (its route unknown, its reference taken, its key
 * reused) leaves nothing behind, not even a key claim or an unplanned route, and the others go on.
 */

export interface BatchItem {
  order: OrderCreate;
  idempotency: { key: string; requestHash: string } | null;
}

export type BatchOutcome = { write: OrderWrite; error?: never } | { error: AppError; write?: never };

export async function createOrderBatch(s: OrderWriteScope, locationId: string, items: readonly BatchItem[]): Promise<BatchOutcome[]> {
  if (items.length > maxOrderBatch) throw new AppError('bad_request', 400, `A batch carries at most ${maxOrderBatch} orders.`);
  const outcomes: BatchOutcome[] = [];
  for (const [i, item] of items.entries()) {
    const savepoint = sql.id(`order_${i}`);
    await sql`savepoint ${savepoint}`.execute(s.trx);
    // The item's audit entries are kept back until it is known to stand.
    const audits: AuditEvent[] = [];
    try {
      const write = await createOrder({ ...s, audit: (e) => void audits.push(e) }, locationId, item.order, item.idempotency);
      await sql`release savepoint ${savepoint}`.execute(s.trx);
      for (const e of audits) s.audit(e);
      outcomes.push({ write });
    } catch (err) {
      // A database fault fails the whole batch (its transaction rolls back); a refusal only its order.
      if (!(err instanceof AppError)) throw err;
      await sql`rollback to savepoint ${savepoint}`.execute(s.trx);
      outcomes.push({ error: err });
    }
  }
  return outcomes;
}
