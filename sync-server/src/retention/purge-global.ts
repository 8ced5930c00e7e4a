import { pruneAuditLog } from '../audit/retention';
import { purgeEndedSessions } from '../audit/retention';
import type { ServerContext } from '../context';
import { pruneIntegrationLogs } from '../integrations/log-retention';
import { dayMs, globalRetention } from './policy';
import { purgeAction, recordEvidence } from './stop-erasure';

/** What one run did: records per class, summed over locations. */
export type PurgeCounts = Record<string, number>;

export interface PurgeReport {
  at: number;
  counts: PurgeCounts;
  /** Batches committed (= evidence entries written). */
  batches: number;
  /** Records left alone because a legal hold covers them. */
  held: number;
}

/**
 * The server-wide classes of the retention purge: ended sessions with their refresh tokens,
 * integration logs (calls and webhook attempts) and the audit log. Sessions and logs are deleted
 * in batches, each one transaction with its evidence entry; the audit log is pruned only as a
 * verified, checkpointed prefix (audit/retention.ts), whose own `audit.prune` entry is its evidence.
 */
export async function purgeGlobalClasses(ctx: ServerContext, batchSize: number, report: PurgeReport): Promise<void> {
  const global = globalRetention(ctx.config);
  const add = (c: string, n: number) => { report.counts[c] = (report.counts[c] ?? 0) + n; };

  const sessionCutoff = ctx.now() - global.sessionDays * dayMs;
  for (;;) {
    const purged = await ctx.db.transaction().execute(async (trx) => {
      const r = await purgeEndedSessions(trx, sessionCutoff, batchSize);
      if (r.sessionIds.length > 0) {
        await recordEvidence(trx, ctx, { action: purgeAction, class: 'session', locationId: null, cutoff: sessionCutoff, mode: 'delete', ids: r.sessionIds });
      }
      return r.sessionIds.length;
    });
    if (purged > 0) report.batches += 1;
    add('session', purged);
    if (purged < batchSize) break;
  }

  const logCutoff = ctx.now() - global.integrationLogDays * dayMs;
  const logs = await pruneIntegrationLogs(ctx.db, global.integrationLogDays, ctx.now(), async (trx, ids) => {
    await recordEvidence(trx, ctx, { action: purgeAction, class: 'integrationLog', locationId: null, cutoff: logCutoff, mode: 'delete', ids });
    report.batches += 1;
  });
  add('integrationLog', logs.calls + logs.webhookAttempts);

  const audit = await pruneAuditLog(ctx, ctx.now() - global.auditDays * dayMs);
  add('audit', audit.deleted);
}
