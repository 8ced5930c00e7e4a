import crypto from 'node:crypto';
import { jobLeaseHolder, releaseJobLease } from '../../db/job-leases';
import { purgeJob, purgeUnderLease } from '../../retention/job';
import { purgeAction } from '../../retention/purge';
import { erasureAction } from '../../retention/stop-erasure';
import { conflict } from '../../errors';
import { type CliCommand, isoTime, optionalInteger, optionalString } from '../command';

/*
 * `depotline-admin retention run|runs` (docs/operations.md, "Retention"): one purge now, under the
 * same lease as the server's hourly job, and the evidence entries purges and erasures left.
 */

const retentionRun: CliCommand = {
  group: 'retention',
  name: 'run',
  summary: 'Purge now what is past its retention period (with evidence), unless a server is purging',
  options: {
    location: { type: 'string', value: '<id>', description: 'Only this location (the server-wide classes are then left for the next full run)' },
    batch: { type: 'string', value: '<n>', description: 'Records per batch and transaction (default 5000)' },
  },
  notes: ['Desktops learn of what this run removed at their next pull (no live feed from the command line).'],
  prepare(values) {
    const locationId = optionalString(values, 'location');
    const batchSize = optionalInteger(values, 'batch');
    return async (ctx) => {
      const holder = `cli:${crypto.randomUUID()}`;
      const report = await purgeUnderLease(ctx, null, holder, { ...(batchSize === undefined ? {} : { batchSize }), ...(locationId ? { locationIds: [locationId] } : {}) })
        .finally(() => releaseJobLease(ctx.db, purgeJob, holder));
      if (!report) {
        const busy = await jobLeaseHolder(ctx.db, purgeJob, ctx.now());
        throw conflict(`A server process is purging (its lease runs until ${busy ? isoTime(busy.expiresAt) : 'now'}); nothing was done. Try again later.`);
      }
      const lines = Object.entries(report.counts).map(([c, n]) => `  ${c}\t${n}`);
      return {
        json: { ran: true, ...report },
        text: [`Retention purge at ${isoTime(report.at)}: ${report.batches} batches with evidence; ${report.held} records kept by legal holds.`, ...lines].join('\n'),
      };
    };
  },
};

const retentionRuns: CliCommand = {
  group: 'retention',
  name: 'runs',
  summary: 'List the evidence of purges and erasures (newest first): class, location, cutoff, count, hash over the ids',
  options: {
    location: { type: 'string', value: '<id>', description: 'Only this location' },
    limit: { type: 'string', value: '<n>', description: 'At most this many entries (default 50)' },
  },
  prepare(values) {
    const locationId = optionalString(values, 'location');
    const limit = Math.min(Math.max(optionalInteger(values, 'limit') ?? 50, 1), 1000);
    return async (ctx) => {
      let q = ctx.db.selectFrom('audit_log').select(['seq', 'at', 'action', 'actor', 'location_id', 'details'])
        .where('action', 'in', [purgeAction, erasureAction]).orderBy('seq', 'desc').limit(limit);
      if (locationId) q = q.where('location_id', '=', locationId);
      const runs = (await q.execute()).map((r) => {
        const d = JSON.parse(r.details) as { class?: string; mode?: string; count?: number; cutoff?: number | null; idsSha256?: string; requestId?: string };
        return {
          seq: Number(r.seq), at: Number(r.at), action: r.action, actor: r.actor, locationId: r.location_id,
          class: d.class ?? null, mode: d.mode ?? null, count: d.count ?? 0, cutoff: d.cutoff ?? null, idsSha256: d.idsSha256 ?? null, requestId: d.requestId ?? null,
        };
      });
      const lines = runs.map((r) => `#${r.seq}\t${isoTime(r.at)}\t${r.action}\t${r.class ?? '-'}\t${r.locationId ?? '(server)'}\t${r.mode ?? '-'}\t${r.count}\tcutoff ${r.cutoff === null ? '-' : isoTime(r.cutoff)}\t${r.idsSha256 ?? '-'}`);
      return { json: { runs }, text: lines.length > 0 ? lines.join('\n') : 'No purge or erasure evidence yet.' };
    };
  },
};

export const retentionPurgeCommands: readonly CliCommand[] = [retentionRun, retentionRuns];
