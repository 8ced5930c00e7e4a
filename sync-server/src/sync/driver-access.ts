import { appendAuditEntries, type AuditActor, type AuditEvent, systemActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { type LeasedJob, startLeasedJob } from '../db/job-leases';
import { recordChange } from './change-log';
import type { LiveFeed, Touched } from './mutations/handler';

/**
 * The end of a driver's access to a completed route, sent to the driver's device
 * (docs/sync-protocol.md, "Driver devices"). Once a route's `driver_access_until` has passed
 * (completion plus DEPOTLINE_DRIVER_ACCESS_GRACE_MIN: sync/route-completion.ts), the pull and the
 * live feed no longer give the driver its stops; this job writes one change-log entry per such
 * route, so every device of the driver learns to remove the route and its stops: the live feed
 * sends `removed` to the driver's room at once, and a device that was offline gets the same
 * `removed` from its next pull (sync/pull.ts). A route whose driver signs in nowhere only gets
 * its mark. Each route is claimed with a conditional update, so two processes that both believe
 * they hold the lease write its change once. One audit entry per route, in the same transaction.
 */

export const driverAccessJob = 'driver-access';
export const sweepEveryMs = 60_000;
const batchRoutes = 500;

/**
 * Writes the removal change of every route whose driver access has ended by `now`; returns how
 * many routes were marked. `signal` (the job's lease lost, or the server stopping) stops it before
 * the next batch.
 */
export async function sendDriverRemovals(ctx: ServerContext, live: LiveFeed, now: number, signal?: AbortSignal): Promise<number> {
  let marked = 0;
  for (;;) {
    signal?.throwIfAborted();
    const due = await ctx.db.selectFrom('routes')
      .leftJoin('drivers', 'drivers.id', 'routes.driver_id')
      .select(['routes.id', 'routes.location_id', 'routes.driver_id', 'drivers.user_id'])
      .where('routes.driver_removal_at', 'is', null)
      .where('routes.driver_access_until', '<=', now)
      .orderBy('routes.driver_access_until').orderBy('routes.id')
      .limit(batchRoutes)
      .execute();
    if (due.length === 0) return marked;
    const touched = await ctx.db.transaction().execute(async (trx) => {
      const out: Touched[] = [];
      const audits: { actor: AuditActor; event: AuditEvent }[] = [];
      for (const r of due) {
        const claimed = await trx.updateTable('routes').set({ driver_removal_at: now })
          .where('id', '=', r.id).where('driver_removal_at', 'is', null).where('driver_access_until', '<=', now)
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1) continue;
        marked += 1;
        if (!r.user_id) continue; // no signed-in driver: no device holds it as theirs
        const version = await recordChange(trx, r.location_id, 'route', r.id, now);
        await trx.updateTable('routes').set({ version }).where('id', '=', r.id).execute();
        out.push({ entity: 'route', id: r.id, locationId: r.location_id, previousDriverUserId: r.user_id });
        audits.push({ actor: systemActor, event: {
          action: 'route.driver_access_ended', outcome: 'ok', targetType: 'route', targetId: r.id, locationId: r.location_id,
          details: { driverId: r.driver_id, graceMin: ctx.config.driverDevices.accessGraceMin },
        } });
      }
      await appendAuditEntries(trx, audits, now);
      return out;
    });
    await live.publish(touched);
    if (due.length < batchRoutes) return marked;
  }
}

/**
 * Runs the sweep every minute by the shared schedule, in the process holding the `driver-access`
 * lease while it runs (db/job-leases.ts), so a device is told within about a minute of the end.
 */
export function startDriverAccessSweep(ctx: ServerContext, live: LiveFeed): LeasedJob<number> {
  return startLeasedJob(ctx, {
    name: driverAccessJob, everyMs: sweepEveryMs, failure: 'driver access sweep failed; tried again at the next run',
  }, async (now, lease) => {
    const marked = await sendDriverRemovals(ctx, live, now, lease.signal);
    if (marked > 0) ctx.log.info('driver access ended on completed routes', { routes: marked });
    return marked;
  });
}
