import crypto from 'node:crypto';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { holdJobLease, releaseJobLease } from '../db/job-leases';
import { hourMs } from './call-baselines';

/**
 * Retention of the integration logs (docs/operations.md, "Integration logs"): calls and webhook
 * attempts older than DEPOTLINE_INTEGRATION_LOG_DAYS are deleted; the hourly counts behind the
 * volume baseline are kept for the baseline window plus a day, and networks not seen for the
 * retention period are forgotten (a credential calling from one again later is a new network).
 * The prune runs in one server process at a time (the `integration-log-retention` job lease),
 * deleting in bounded batches so a large backlog never holds a long transaction.
 */

export const logRetentionJob = 'integration-log-retention';
export const pruneEveryMs = hourMs;
export const countsKeptMs = 8 * 24 * hourMs;
const batchRows = 5000;

export interface PruneResult {
  calls: number;
  webhookAttempts: number;
  counts: number;
  networks: number;
  alertClaims: number;
}

/** Deletes the rows of `table` older than `before` (by `column`), `batchRows` at a time. */
async function deleteOlder(db: Db, table: 'integration_calls' | 'webhook_attempts', before: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const ids = await db.selectFrom(table).select('id').where('at', '<', before).limit(batchRows).execute();
    if (ids.length === 0) return deleted;
    const r = await db.deleteFrom(table).where('id', 'in', ids.map((i) => i.id)).executeTakeFirst();
    deleted += Number(r.numDeletedRows);
    if (ids.length < batchRows) return deleted;
  }
}

/** Deletes what is past its retention as of `now`. Safe to run from several processes at once. */
export async function pruneIntegrationLogs(db: Db, retentionDays: number, now: number): Promise<PruneResult> {
  const before = now - retentionDays * 24 * hourMs;
  const calls = await deleteOlder(db, 'integration_calls', before);
  const webhookAttempts = await deleteOlder(db, 'webhook_attempts', before);
  const counts = Number((await db.deleteFrom('integration_call_counts').where('hour', '<', now - countsKeptMs).executeTakeFirst()).numDeletedRows);
  const networks = Number((await db.deleteFrom('integration_networks').where('last_seen_at', '<', before).executeTakeFirst()).numDeletedRows);
  // A claim older than a day dedupes nothing any more (the longest alert window is a day).
  const alertClaims = Number((await db.deleteFrom('integration_alert_claims').where('alerted_at', '<', now - 2 * 24 * hourMs).executeTakeFirst()).numDeletedRows);
  return { calls, webhookAttempts, counts, networks, alertClaims };
}

/**
 * Prunes at start and then hourly, in the process holding the job lease (taken for twice the
 * interval and renewed at each run, so a process that stops pruning hands over within two hours).
 */
export function startIntegrationLogRetention(ctx: ServerContext): { stop(): Promise<void>; runOnce(): Promise<PruneResult | null> } {
  const holder = `integration-log-retention:${crypto.randomUUID()}`;
  let running: Promise<PruneResult | null> | null = null;
  let stopped = false;

  async function run(): Promise<PruneResult | null> {
    const now = ctx.now();
    if (!(await holdJobLease(ctx.db, logRetentionJob, holder, now, 2 * pruneEveryMs))) return null;
    const result = await pruneIntegrationLogs(ctx.db, ctx.config.integrationLogDays, now);
    if (result.calls + result.webhookAttempts > 0) ctx.log.info('integration logs pruned', { ...result, retentionDays: ctx.config.integrationLogDays });
    return result;
  }

  function runOnce(): Promise<PruneResult | null> {
    running ??= run()
      .catch((err: unknown) => {
        ctx.log.error('integration log prune failed; tried again at the next run', { err: err instanceof Error ? err.message : String(err) });
        return null;
      })
      .finally(() => { running = null; });
    return running;
  }

  const timer = setInterval(() => void runOnce(), pruneEveryMs);
  timer.unref();
  const first = setTimeout(() => void runOnce(), 5_000);
  first.unref();

  return {
    runOnce,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      clearTimeout(first);
      if (running) await running;
      await releaseJobLease(ctx.db, logRetentionJob, holder).catch(() => undefined);
    },
  };
}
