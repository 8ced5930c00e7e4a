import type { Transaction } from 'kysely';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';
import { hourMs } from './call-baselines';

/**
 * Retention of the integration logs (docs/operations.md, "Integration logs"): calls and webhook
 * attempts older than DEPOTLINE_INTEGRATION_LOG_DAYS are deleted; the hourly counts behind the
 * volume baseline are kept for the baseline window plus a day, and networks not seen for the
 * retention period are forgotten (a credential calling from one again later is a new network).
 * The prune runs hourly as part of the retention purge, in one server process at a time (the
 * `retention-purge` job lease, retention/job.ts), deleting in bounded batches so a large backlog
 * never holds a long transaction, each batch with its evidence entry.
 */

export const countsKeptMs = 8 * 24 * hourMs;
const batchRows = 5000;

export interface PruneResult {
  calls: number;
  webhookAttempts: number;
  counts: number;
  networks: number;
  alertClaims: number;
}

/**
 * Called in each batch's transaction with the ids it deleted: the retention purge records its
 * evidence there, so a batch and its evidence commit together (retention/purge-global.ts).
 */
export type PruneBatchHook = (trx: Transaction<Database>, ids: string[]) => Promise<void>;

/** Deletes the rows of `table` older than `before` (by `column`), `batchRows` at a time, each batch one transaction. */
async function deleteOlder(db: Db, table: 'integration_calls' | 'webhook_attempts', before: number, onBatch?: PruneBatchHook): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { found, gone } = await db.transaction().execute(async (trx) => {
      const ids = (await trx.selectFrom(table).select('id').where('at', '<', before).limit(batchRows).execute()).map((r) => r.id);
      if (ids.length === 0) return { found: 0, gone: 0 };
      const rows = (await trx.deleteFrom(table).where('id', 'in', ids).returning('id').execute()).map((r) => r.id);
      if (rows.length > 0) await onBatch?.(trx, rows);
      return { found: ids.length, gone: rows.length };
    });
    deleted += gone;
    if (found < batchRows) return deleted;
  }
}

/** Deletes what is past its retention as of `now`. Safe to run from several processes at once. */
export async function pruneIntegrationLogs(db: Db, retentionDays: number, now: number, onBatch?: PruneBatchHook): Promise<PruneResult> {
  const before = now - retentionDays * 24 * hourMs;
  const calls = await deleteOlder(db, 'integration_calls', before, onBatch);
  const webhookAttempts = await deleteOlder(db, 'webhook_attempts', before, onBatch);
  const counts = Number((await db.deleteFrom('integration_call_counts').where('hour', '<', now - countsKeptMs).executeTakeFirst()).numDeletedRows);
  const networks = Number((await db.deleteFrom('integration_networks').where('last_seen_at', '<', before).executeTakeFirst()).numDeletedRows);
  // A claim older than a day dedupes nothing any more (the longest alert window is a day).
  const alertClaims = Number((await db.deleteFrom('integration_alert_claims').where('alerted_at', '<', now - 2 * 24 * hourMs).executeTakeFirst()).numDeletedRows);
  return { calls, webhookAttempts, counts, networks, alertClaims };
}
