import type { LocationRetentionClass } from '@depotline/shared';
import { sql } from 'kysely';
import { systemActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { LiveFeed, Touched } from '../sync/mutations/handler';
import { effectiveRetention, retentionCutoff } from './policy';
import { purgeGlobalClasses, type PurgeReport } from './purge-global';

import { deleteEmptiedRoutes, deleteStops, destroyProofKeys, type EvidenceMode, inIdList, pseudonymiseStops, purgeAction, recordEvidence, removeProofFiles } from './stop-erasure';

/**
 * The retention purge (docs/operations.md, "Retention"): for every location and class, what is
 * past its period goes, in batches. Each batch is ONE transaction holding its writes and its
 * evidence entry (class, location, cutoff, count, hash over the ids), so a crash between batches
 * leaves whole batches done and evidenced and the next run carries on with what is left: nothing
 * is evidenced twice or without its deletion. What a legal hold covers is skipped: the holds are
 * read once per location, and each batch's transaction reads them again, so a hold placed while
 * a purge runs is honoured from the next batch on.
 *
 * - contact: stops whose `window_end` is past the contact period are pseudonymised;
 * - delivery: stops past the delivery period are deleted (desktops get `removed`), with evidence of
 *   class `proof` for the proofs whose keys go with them, and the routes left with no stop whose
 *   date is before the cutoff's;
 * - proof: proofs past the proof period (from `created_at`) are destroyed by key destruction;
 * - trackingLink: links past the period (from `expires_at`) and their view counts are deleted;
 * - positionHistory: positions past the period (from `recorded_at`) are deleted;
 * - session, integrationLog, audit: server-wide (purge-global.ts).
 */

export type { PurgeCounts, PurgeReport } from './purge-global';
export { purgeAction } from './stop-erasure';
type Trx = Parameters<typeof pseudonymiseStops>[0];
export const defaultPurgeBatch = 5000;

export interface PurgeOptions {
  /** Records per batch (and per transaction). */
  batchSize?: number;
  /** Only these locations (all when absent). */
  locationIds?: readonly string[];
  /** Aborted when the job's lease is lost or the server stops: the purge stops before its next batch. */
  signal?: AbortSignal;
}


/** A candidate record: its id, and the stop a hold on it would be on (null: no stop). */
interface Candidate {
  id: string;
  stopId: string | null;
}

type Cursor = { at: number; id: string } | null;

/** How one location class finds and removes its due records. */
interface ClassPurge {
  mode: EvidenceMode;
  /** The next candidates after `cursor`, oldest first, older than `cutoff`. */
  next(ctx: ServerContext, locationId: string, cutoff: number, cursor: Cursor, limit: number): Promise<(Candidate & { at: number })[]>;
  /** Removes them in the batch's transaction; returns the ids actually removed, and what to broadcast or clean after commit. */
  apply(trx: Parameters<typeof pseudonymiseStops>[0], ctx: ServerContext, locationId: string, ids: string[], now: number, cutoff: number): Promise<Applied>;
}

interface Applied {
  ids: string[];
  touched?: Touched[];
  files?: { storage_key: string | null }[];
  /** Proofs whose keys went with their stops (evidenced as class `proof`). */
  proofs?: number;
}

/** Keyset paging over (age, id): rows after the last one of the previous batch (held ones stay behind it). */
const after = (cursor: Cursor, at: string, id: string) => cursor === null ? sql<boolean>`1 = 1` : sql<boolean>`(${sql.ref(at)}, ${sql.ref(id)}) > (${cursor.at}, ${cursor.id})`;

/**
 * Stops whose window ended before the cutoff (those still holding contact details, for the contact
 * class), oldest first: read from the purge indexes alone (location, window end, id), no table reads.
 */
async function stopsDue(ctx: ServerContext, q: { locationId: string; cutoff: number; cursor: Cursor; limit: number; withContactOnly: boolean }) {
  let query = ctx.db.selectFrom('stops').select(['id', 'window_end as at'])
    .where('location_id', '=', q.locationId).where('window_end', '<', q.cutoff).where(after(q.cursor, 'window_end', 'id'));
  if (q.withContactOnly) query = query.where('pseudonymised_at', 'is', null);
  const rows = await query.orderBy('window_end').orderBy('id').limit(q.limit).execute();
  return rows.map((r) => ({ id: r.id, stopId: r.id, at: Number(r.at) }));
}

const classPurges: Record<LocationRetentionClass, ClassPurge> = {
  delivery: {
    mode: 'delete',
    next: (ctx, locationId, cutoff, cursor, limit) => stopsDue(ctx, { locationId, cutoff, cursor, limit, withContactOnly: false }),
    apply: async (trx, ctx, locationId, ids, now, cutoff) => {
      // Proofs still alive on these stops lose their keys first, evidenced as proofs; their rows go with the stop.
      const alive: { id: string; storage_key: string | null }[] = [];
      const touched = await deleteStops(trx, ctx, locationId, ids, now, async (proofs) => {
        if (proofs.length === 0) return;
        alive.push(...proofs);
        const proofIds = proofs.map((p) => p.id);
        await destroyProofKeys(trx, ctx.dbKind, proofIds, systemActor, now);
        await recordEvidence(trx, ctx, { action: purgeAction, class: 'proof', locationId, cutoff, mode: 'destroyKeys', ids: proofIds });
      });
      const routeIds = [...new Set(touched.map((t) => t.removed?.routeId).filter((r): r is string => typeof r === 'string'))];
      const routes = await deleteEmptiedRoutes(trx, ctx, locationId, routeIds, new Date(cutoff).toISOString().slice(0, 10), now);
      return { ids: touched.map((t) => t.id), touched: [...touched, ...routes], files: alive, proofs: alive.length };
    },
  },
  contact: {
    mode: 'pseudonymise',
    next: (ctx, locationId, cutoff, cursor, limit) => stopsDue(ctx, { locationId, cutoff, cursor, limit, withContactOnly: true }),
    apply: async (trx, ctx, locationId, ids, now) => {
      const touched = await pseudonymiseStops(trx, ctx, locationId, ids, now);
      return { ids: touched.map((t) => t.id), touched };
    },
  },
  proof: {
    mode: 'destroyKeys',
    next: async (ctx, locationId, cutoff, cursor, limit) => (await ctx.db.selectFrom('proofs')
      .select(['proofs.id as id', 'proofs.stop_id as stopId', 'proofs.created_at as at'])
      .where('proofs.location_id', '=', locationId).where('proofs.created_at', '<', cutoff).where('proofs.deleted_at', 'is', null)
      .where(after(cursor, 'proofs.created_at', 'proofs.id'))
      .orderBy('proofs.created_at').orderBy('proofs.id').limit(limit).execute()).map((r) => ({ ...r, at: Number(r.at) })),
    apply: async (trx, ctx, locationId, ids, now) => {
      const alive = await trx.selectFrom('proofs').select(['id', 'storage_key']).where(inIdList(ctx.dbKind, 'id', ids))
        .where('location_id', '=', locationId).where('deleted_at', 'is', null).execute();
      await destroyProofKeys(trx, ctx.dbKind, alive.map((p) => p.id), systemActor, now);
      return { ids: alive.map((p) => p.id), files: alive };
    },
  },
  trackingLink: {
    mode: 'delete',
    next: async (ctx, locationId, cutoff, cursor, limit) => (await ctx.db.selectFrom('tracking_links')
      .select(['tracking_links.id as id', 'tracking_links.stop_id as stopId', 'tracking_links.expires_at as at'])
      .where('tracking_links.location_id', '=', locationId).where('tracking_links.expires_at', '<', cutoff)
      .where(after(cursor, 'tracking_links.expires_at', 'tracking_links.id'))
      .orderBy('tracking_links.expires_at').orderBy('tracking_links.id').limit(limit).execute()).map((r) => ({ ...r, at: Number(r.at) })),
    apply: async (trx, _ctx, locationId, ids) => {
      await trx.deleteFrom('tracking_link_hits').where('link_id', 'in', ids).execute();
      const gone = await trx.deleteFrom('tracking_links').where('id', 'in', ids).where('location_id', '=', locationId).returning('id').execute();
      return { ids: gone.map((r) => r.id) };
    },
  },
  positionHistory: {
    mode: 'delete',
    next: async (ctx, locationId, cutoff, cursor, limit) => (await ctx.db.selectFrom('position_history')
      .select(['id', 'recorded_at as at'])
      .where('location_id', '=', locationId).where('recorded_at', '<', cutoff)
      .where(after(cursor, 'recorded_at', 'id'))
      .orderBy('recorded_at').orderBy('id').limit(limit).execute()).map((r) => ({ id: r.id, stopId: null, at: Number(r.at) })),
    apply: async (trx, _ctx, locationId, ids) => {
      const gone = await trx.deleteFrom('position_history').where('id', 'in', ids).where('location_id', '=', locationId).returning('id').execute();
      return { ids: gone.map((r) => r.id) };
    },
  },
};

/** Delivery first: a stop deleted needs no pseudonymising. */
const classOrder: readonly LocationRetentionClass[] = ['delivery', 'contact', 'proof', 'trackingLink', 'positionHistory'];

/** What the holds of a location keep: all of it, or these stops (held themselves, or their customer's by either blind index). */
interface Kept {
  location: boolean;
  stopIds: Set<string>;
  /** The holds these come from: a hold not among them was placed since and is read again. */
  holdIds: Set<string>;
}

type HoldRow = { id: string; scope: string; stop_id: string | null; customer_key: string | null };

const activeHoldRows = (db: Trx, locationId: string): Promise<HoldRow[]> => db.selectFrom('legal_holds')
  .select(['id', 'scope', 'stop_id', 'customer_key']).where('location_id', '=', locationId).where('released_at', 'is', null).execute();

/** Adds holds to what is kept: a location hold keeps everything; customer holds through the blind-index columns (indexed). */
async function keep(db: Trx, locationId: string, kept: Kept, rows: readonly HoldRow[]): Promise<void> {
  const keys: string[] = [];
  for (const r of rows) {
    kept.holdIds.add(r.id);
    if (r.scope === 'location') kept.location = true;
    else if (r.scope === 'stop' && r.stop_id !== null) kept.stopIds.add(r.stop_id);
    else if (r.scope === 'customer' && r.customer_key !== null) keys.push(r.customer_key);
  }
  if (kept.location || keys.length === 0) return;
  const stops = await db.selectFrom('stops').select('id').where('location_id', '=', locationId)
    .where((eb) => eb.or([eb('phone_bidx', 'in', keys), eb('email_bidx', 'in', keys)])).execute();
  for (const r of stops) kept.stopIds.add(r.id);
}

/**
 * Inside a batch's transaction: holds placed since the run read them (ids it has not seen) are
 * added to what is kept. One indexed read of the location's few active holds per batch.
 */
async function keepNewHolds(trx: Trx, locationId: string, kept: Kept): Promise<void> {
  const fresh = (await activeHoldRows(trx, locationId)).filter((r) => !kept.holdIds.has(r.id));
  if (fresh.length > 0) await keep(trx, locationId, kept, fresh);
}

/** The stops the location's holds cover, found once per run; the same test as `isHeld`. */
async function keptBy(ctx: ServerContext, locationId: string): Promise<Kept> {
  const kept: Kept = { location: false, stopIds: new Set(), holdIds: new Set() };
  await keep(ctx.db, locationId, kept, await activeHoldRows(ctx.db, locationId));
  return kept;
}

const heldBy = (kept: Kept, c: Candidate) => kept.location || (c.stopId !== null && kept.stopIds.has(c.stopId));

/** Purges one class at one location, batch by batch; adds to `report`. */
async function purgeClass(ctx: ServerContext, feed: LiveFeed | null, locationId: string, c: LocationRetentionClass, cutoff: number, holds: Kept, batchSize: number, report: PurgeReport, signal: AbortSignal | undefined): Promise<void> {
  const spec = classPurges[c];
  let cursor: Cursor = null;
  for (;;) {
    signal?.throwIfAborted();
    if (holds.location) return;
    const candidates = await spec.next(ctx, locationId, cutoff, cursor, batchSize);
    if (candidates.length === 0) return;
    const last = candidates[candidates.length - 1]!;
    cursor = { at: last.at, id: last.id };
    const due = candidates.filter((cand) => !heldBy(holds, cand));
    if (due.length > 0) {
      const now = ctx.now();
      const done = await ctx.db.transaction().execute(async (trx) => {
        await keepNewHolds(trx, locationId, holds);
        const ids = due.filter((cand) => !heldBy(holds, cand)).map((cand) => cand.id);
        const applied: Applied = ids.length > 0 ? await spec.apply(trx, ctx, locationId, ids, now, cutoff) : { ids: [] };
        if (applied.ids.length > 0) await recordEvidence(trx, ctx, { action: purgeAction, class: c, locationId, cutoff, mode: spec.mode, ids: applied.ids });
        return applied;
      });
      if (done.ids.length > 0) report.batches += 1;
      if (done.proofs) { report.batches += 1; report.counts.proof = (report.counts.proof ?? 0) + done.proofs; }
      report.counts[c] = (report.counts[c] ?? 0) + done.ids.length;
      if (done.files) await removeProofFiles(ctx, done.files);
      if (feed && done.touched && done.touched.length > 0) await feed.publish(done.touched).catch((err: unknown) => ctx.log.error('live feed after a purge batch failed; desktops catch up by pull', { error: err instanceof Error ? err.message : String(err) }));
    }
    report.held += candidates.filter((cand) => heldBy(holds, cand)).length;
    if (candidates.length < batchSize) return;
  }
}

/**
 * A driver's last position (`positions`, one row per driver) is location history too: one older
 * than the position-history period goes, with its evidence. Desktops drop theirs by the same
 * period in their own sweep.
 */
async function purgeLastPositions(ctx: ServerContext, locationId: string, cutoff: number, kept: Kept, report: PurgeReport): Promise<void> {
  const gone = await ctx.db.transaction().execute(async (trx) => {
    await keepNewHolds(trx, locationId, kept);
    if (kept.location) return 0;
    const rows = await trx.deleteFrom('positions').where('location_id', '=', locationId).where('recorded_at', '<', cutoff).returning('driver_id').execute();
    const ids = rows.map((r) => r.driver_id);
    if (ids.length > 0) await recordEvidence(trx, ctx, { action: purgeAction, class: 'positionHistory', locationId, cutoff, mode: 'delete', ids });
    return ids.length;
  });
  if (gone > 0) report.batches += 1;
  report.counts.positionHistory = (report.counts.positionHistory ?? 0) + gone;
}

/**
 * One purge of everything due as of now. Safe to call again after a crash: each batch committed
 * with its evidence, and what is left is found again.
 */
export async function runPurge(ctx: ServerContext, feed: LiveFeed | null, opts: PurgeOptions = {}): Promise<PurgeReport> {
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? defaultPurgeBatch));
  const report: PurgeReport = { at: ctx.now(), counts: Object.fromEntries(classOrder.map((c) => [c, 0])), batches: 0, held: 0 };
  const locationIds = opts.locationIds ?? (await ctx.db.selectFrom('locations').select('id').orderBy('id').execute()).map((r) => r.id);
  for (const locationId of locationIds) {
    const retention = await effectiveRetention(ctx, locationId);
    const holds = await keptBy(ctx, locationId);
    for (const c of classOrder) {
      await purgeClass(ctx, feed, locationId, c, retentionCutoff(retention, c, ctx.now()), holds, batchSize, report, opts.signal);
    }
    if (!holds.location) await purgeLastPositions(ctx, locationId, retentionCutoff(retention, 'positionHistory', ctx.now()), holds, report);
  }
  opts.signal?.throwIfAborted();
  if (!opts.locationIds) await purgeGlobalClasses(ctx, batchSize, report);
  return report;
}
