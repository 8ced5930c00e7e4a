import type { ServerContext } from '../context';

/**
 * Finished deliveries (delivered or given up) are kept as long as the integration logs keep
 * their attempts (DEPOTLINE_INTEGRATION_LOG_DAYS, counted from the last attempt), then deleted
 * with their attempts. Run by the webhook worker while it holds the lease, in bounded batches;
 * deliveries still waiting (a paused receiver's) are never pruned here.
 */

const batchSize = 1000;
const maxBatchesPerRun = 20;

export async function pruneFinishedDeliveries(ctx: ServerContext, now: number): Promise<number> {
  const cutoff = now - ctx.config.integrationLogDays * 86_400_000;
  let deleted = 0;
  for (let i = 0; i < maxBatchesPerRun; i++) {
    const r = await ctx.db.deleteFrom('webhook_deliveries')
      .where('id', 'in', (eb) => eb.selectFrom('webhook_deliveries').select('id')
        .where('status', 'in', ['delivered', 'dead'])
        .where((w) => w.fn.coalesce('last_attempt_at', 'created_at'), '<', cutoff)
        .limit(batchSize))
      .executeTakeFirst();
    const n = Number(r.numDeletedRows);
    deleted += n;
    if (n < batchSize) break;
  }
  return deleted;
}
