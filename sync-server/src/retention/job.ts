import type { ServerContext } from '../context';
import { type LeasedJob, startLeasedJob, withJobLease } from '../db/job-leases';
import type { LiveFeed } from '../sync/mutations/handler';
import { type PurgeOptions, type PurgeReport, runPurge } from './purge';

/**
 * The scheduled retention purge: hourly by the schedule all server processes share, in the one
 * process holding the `retention-purge` job lease while it runs (db/job-leases.ts); a process
 * first looks a minute after it starts. The lease is renewed by a heartbeat however long the
 * purge takes, and a purge whose holder died or lost the lease stops at its next batch and is
 * carried on at once by the next holder. What a run removes is broadcast to desktops with the
 * live feed after each batch commits.
 */

export const purgeJob = 'retention-purge';
export const purgeEveryMs = 3_600_000;
const firstRunAfterMs = 60_000;

/**
 * One purge now if `holder` gets the lease (the command line's `retention run`); null when another
 * process holds it. The lease is kept after the run until it expires or the caller releases it.
 */
export async function purgeUnderLease(ctx: ServerContext, feed: LiveFeed | null, holder: string, opts: PurgeOptions = {}): Promise<PurgeReport | null> {
  return withJobLease(ctx, purgeJob, holder, async (lease) => logged(ctx, await runPurge(ctx, feed, { ...opts, signal: lease.signal })), { keep: true });
}

function logged(ctx: ServerContext, report: PurgeReport): PurgeReport {
  if (report.batches > 0) ctx.log.info('retention purge', { counts: report.counts, batches: report.batches, held: report.held });
  return report;
}

export function startRetentionPurge(ctx: ServerContext, feed: LiveFeed): LeasedJob<PurgeReport> {
  // Batches committed before a failure stay done, with their evidence; the rest waits for the next run.
  return startLeasedJob(ctx, { name: purgeJob, everyMs: purgeEveryMs, firstAfterMs: firstRunAfterMs, failure: 'retention purge failed; continued at the next run' },
    async (_now, lease) => logged(ctx, await runPurge(ctx, feed, { signal: lease.signal })));
}
