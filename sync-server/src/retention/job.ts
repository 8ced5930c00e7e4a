import crypto from 'node:crypto';
import type { ServerContext } from '../context';
import { holdJobLease, releaseJobLease } from '../db/job-leases';
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
  const report = await runPurge(ctx, feed, opts);
  if (report.batches > 0) ctx.log.info('retention purge', { counts: report.counts, batches: report.batches, held: report.held });
  return report;
}

export function startRetentionPurge(ctx: ServerContext, feed: LiveFeed): { stop(): Promise<void>; runOnce(opts?: PurgeOptions): Promise<PurgeReport | null> } {
  const holder = `retention-purge:${crypto.randomUUID()}`;
  let running: Promise<PurgeReport | null> | null = null;
  let stopped = false;

  function runOnce(opts: PurgeOptions = {}): Promise<PurgeReport | null> {
    running ??= purgeUnderLease(ctx, feed, holder, opts)
      .catch((err: unknown) => {
        // Batches committed before the failure stay done, with their evidence; the rest waits for the next run.
        ctx.log.error('retention purge failed; continued at the next run', { err: err instanceof Error ? err.message : String(err) });
        return null;
      })
      .finally(() => { running = null; });
    return running;
  }

  const timer = setInterval(() => void runOnce(), purgeEveryMs);
  timer.unref();
  const first = setTimeout(() => void runOnce(), firstRunAfterMs);
  first.unref();

  return {
    runOnce,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      clearTimeout(first);
      if (running) await running;
      await releaseJobLease(ctx.db, purgeJob, holder).catch(() => undefined);
    },
  };
}
