import type { ServerContext } from '../context';
import { holdJobLease, type LeasedJob, startLeasedJob } from '../db/job-leases';
import type { LiveFeed } from '../sync/mutations/handler';
import { type PurgeOptions, type PurgeReport, runPurge } from './purge';

/**
 * The scheduled retention purge: once a minute after start, then hourly, in the one server
 * process holding the `retention-purge` job lease (taken for twice the interval and renewed at
 * each run, so a process that stops purging hands over within two hours). What a run removes is
 * broadcast to desktops with the live feed after each batch commits.
 */

export const purgeJob = 'retention-purge';
export const purgeEveryMs = 3_600_000;
const firstRunAfterMs = 60_000;

/** Runs one purge if this holder gets the lease; null when another process holds it. */
export async function purgeUnderLease(ctx: ServerContext, feed: LiveFeed | null, holder: string, opts: PurgeOptions = {}): Promise<PurgeReport | null> {
  if (!(await holdJobLease(ctx.db, purgeJob, holder, ctx.now(), 2 * purgeEveryMs))) return null;
  return logged(ctx, await runPurge(ctx, feed, opts));
}

function logged(ctx: ServerContext, report: PurgeReport): PurgeReport {
  if (report.batches > 0) ctx.log.info('retention purge', { counts: report.counts, batches: report.batches, held: report.held });
  return report;
}

export function startRetentionPurge(ctx: ServerContext, feed: LiveFeed): LeasedJob<PurgeReport> {
  // Batches committed before a failure stay done, with their evidence; the rest waits for the next run.
  return startLeasedJob(ctx, { name: purgeJob, everyMs: purgeEveryMs, leaseMs: 2 * purgeEveryMs, firstAfterMs: firstRunAfterMs, failure: 'retention purge failed; continued at the next run' },
    async () => logged(ctx, await runPurge(ctx, feed)));
}
