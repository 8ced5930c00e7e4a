import { sql } from 'kysely';
import { appendAuditEntries, systemActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { startLeasedJob } from '../db/job-leases';
import type { TrackingLinkRow } from './links';

/**
 * How often each link is looked at, for the audit log without an entry per view: one counter
 * per link per hour (no address, no user agent), and once the hour is over one audit entry
 * `tracking_link.viewed` per link and hour with its count. Several server processes may count
 * into the same row; whichever sums up an hour first claims it (`audited_at`), so it is audited
 * once. A leased job sums up finished hours every minute in one process, and each process once
 * more at shutdown (`startTrackingHitAudits`); a view also nudges it.
 */

const hourMs = 3_600_000;
export const hourOf = (t: number) => Math.floor(t / hourMs) * hourMs;

/** One more view of `link` in the current hour. */
export async function recordTrackingHit(ctx: ServerContext, link: Pick<TrackingLinkRow, 'id' | 'location_id'>, now: number): Promise<void> {
  await ctx.db.insertInto('tracking_link_hits')
    .values({ link_id: link.id, location_id: link.location_id, hour: hourOf(now), views: 1, audited_at: null })
    .onConflict((oc) => oc.columns(['link_id', 'hour']).doUpdateSet({ views: sql`tracking_link_hits.views + 1` }))
    .execute();
}

/** Audits every finished hour not yet audited; returns how many entries it wrote. */
export async function auditTrackingHits(ctx: ServerContext, now: number): Promise<number> {
  return ctx.db.transaction().execute(async (trx) => {
    const due = await trx.selectFrom('tracking_link_hits').selectAll()
      .where('audited_at', 'is', null).where('hour', '<', hourOf(now)).orderBy('hour').orderBy('link_id').limit(500).execute();
    const entries = [];
    for (const row of due) {
      const claimed = await trx.updateTable('tracking_link_hits').set({ audited_at: now })
        .where('link_id', '=', row.link_id).where('hour', '=', row.hour).where('audited_at', 'is', null).executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) continue;
      entries.push({ actor: systemActor, event: {
        action: 'tracking_link.viewed', outcome: 'ok' as const, targetType: 'tracking_link', targetId: row.link_id, locationId: row.location_id,
        details: { hour: new Date(Number(row.hour)).toISOString(), views: Number(row.views) },
      } });
    }
    await appendAuditEntries(trx, entries, now);
    return entries.length;
  });
}

export const trackingHitsJob = 'tracking-hits';

/**
 * The periodic flush: `auditTrackingHits` every minute by the shared schedule, in the process
 * holding the `tracking-hits` lease while it runs (db/job-leases.ts), and once more when a
 * process stops (unless another holds the lease then), so a link nobody opens again still has its
 * last hour audited. Failures are logged, never thrown.
 */
export function startTrackingHitAudits(ctx: ServerContext, everyMs = 60_000): { stop(): Promise<void> } {
  const job = startLeasedJob(ctx, { name: trackingHitsJob, everyMs, failure: 'tracking link views could not be audited' },
    (now) => auditTrackingHits(ctx, now));
  return {
    async stop() {
      await job.runOnce();
      await job.stop();
    },
  };
}

/** Runs `auditTrackingHits` at most once a minute per process, after a view; failures are logged, never thrown. */
export function trackingHitAuditor(ctx: ServerContext): (now: number) => void {
  let last = 0;
  return (now) => {
    if (now - last < 60_000) return;
    last = now;
    auditTrackingHits(ctx, now).catch((err: unknown) => ctx.log.error('tracking link views could not be audited', { error: String(err) }));
  };
}
