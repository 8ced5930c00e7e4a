import type { ServerContext } from '../context';
import { type AuditActor, appendAudit, systemActor } from '../audit/audit-log';
import { fieldAad } from '../crypto/field-cipher';
import { jobLeaseHolderName, withJobLease } from '../db/job-leases';
import { emailKey, phoneKey } from './blind-index';

/**
 * Fills the blind index of stops written before it existed, or recomputes all of it after the
 * blind-index key or the phone region changed (`depotline-admin privacy reindex`). Works in
 * batches by id, each batch one transaction with its audit entry (a count, never a value), so a
 * crash leaves whole batches done and the next run carries on. A value that does not decrypt
 * (the field key's problem, reported elsewhere) or does not parse keeps a null index.
 */

export const blindIndexBackfillJob = 'blind-index-backfill';
const batchRows = 1000;

export interface ReindexOptions {
  /** Every stop (after a key or region change), not only those with a value and no index. */
  all: boolean;
  actor?: AuditActor;
  /** Aborted when the backfill's lease is lost or the server stops: stops before the next batch. */
  signal?: AbortSignal;
}

export async function reindexStops(ctx: ServerContext, options: ReindexOptions): Promise<{ stops: number }> {
  let after = '';
  let changed = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    let query = ctx.db.selectFrom('stops').select(['id', 'location_id', 'phone_enc', 'email_enc', 'phone_bidx', 'email_bidx'])
      .where('id', '>', after).orderBy('id').limit(batchRows);
    if (!options.all) {
      query = query.where((eb) => eb.or([
        eb.and([eb('phone_enc', 'is not', null), eb('phone_bidx', 'is', null)]),
        eb.and([eb('email_enc', 'is not', null), eb('email_bidx', 'is', null)]),
      ]));
    }
    const rows = await query.execute();
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.id;
    const updates = rows.flatMap((r) => {
      const phone = r.phone_enc === null ? null : decrypted(ctx, r.phone_enc, 'phone', r.id);
      const email = r.email_enc === null ? null : decrypted(ctx, r.email_enc, 'email', r.id);
      const phoneBidx = phone === null ? null : phoneKey(ctx, phone);
      const emailBidx = email === null ? null : emailKey(ctx, email);
      return phoneBidx === r.phone_bidx && emailBidx === r.email_bidx ? [] : [{ id: r.id, phoneBidx, emailBidx }];
    });
    if (updates.length > 0) {
      await ctx.db.transaction().execute(async (trx) => {
        for (const u of updates) await trx.updateTable('stops').set({ phone_bidx: u.phoneBidx, email_bidx: u.emailBidx }).where('id', '=', u.id).execute();
        await appendAudit(trx, options.actor ?? systemActor, {
          action: 'privacy.reindex', outcome: 'ok', targetType: 'stop', details: { stops: updates.length, all: options.all },
        }, ctx.now());
      });
      changed += updates.length;
    }
    if (rows.length < batchRows) break;
  }
  return { stops: changed };
}

function decrypted(ctx: ServerContext, stored: string, column: 'phone' | 'email', stopId: string): string | null {
  const r = ctx.cipher.tryDecrypt(stored, fieldAad('stops', column, stopId));
  return r.ok ? r.value : null;
}

/**
 * At start, one process (the `blind-index-backfill` lease, renewed while it works: db/job-leases.ts)
 * indexes the stops that have none; after an upgrade that is every stop with a phone or email,
 * later normally nothing. A process that finds the lease held leaves it to the holder; a holder
 * that dies leaves the rest to the next start (or `depotline-admin privacy reindex`), whole
 * batches done.
 */
export function startBlindIndexBackfill(ctx: ServerContext): { settled: Promise<void> } {
  const holder = jobLeaseHolderName(blindIndexBackfillJob);
  const settled = withJobLease(ctx, blindIndexBackfillJob, holder, async (lease) => {
    const { stops } = await reindexStops(ctx, { all: false, signal: lease.signal });
    if (stops > 0) ctx.log.info('blind index filled for stops written before it', { stops });
  }).then(() => undefined, (err: unknown) => {
    ctx.log.error('blind index backfill failed; tried again at the next start (or run depotline-admin privacy reindex)', { err: err instanceof Error ? err.message : String(err) });
  });
  return { settled };
}
