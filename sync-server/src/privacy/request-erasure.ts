import type { PrivacyEraseBody, PrivacyEraseResult, PrivacyHoldNotice } from '@depotline/shared';
import { appendAuditEntries, type AuditEvent } from '../audit/audit-log';
import type { Db } from '../db/database';
import { checkpointAfterCommit } from '../proofs/deletion';
import { activeHolds, holdsOn } from '../retention/holds';
import { deleteStops, destroyProofsOfStops, pseudonymiseStops, recordEvidence } from '../retention/stop-erasure';
import type { Touched } from '../sync/mutations/handler';
import { customerKeys } from './blind-index';
import { findCustomerStops } from './customers';
import {
  loadPrivacyRequest, locationIdsOf, type PrivacyCall, presentPrivacyRequest, requireOpen, requireSubject, subjectLookup, updatePrivacyRequest,
} from './requests';

/**
 * Erasure under a data subject request (docs/security-model.md "Data subject requests"), through
 * the one mechanism the purge uses (retention/stop-erasure.ts). For every stop of the customer at
 * the request's locations that no legal hold covers:
 *
 *   1. its proofs are destroyed by destroying their keys (their own transaction and evidence, as
 *      a pod deletion is; the files go from the store after it commits);
 *   2. in one transaction: its undelivered webhook deliveries are dropped, its tracking links and
 *      their view counts deleted, the stop pseudonymised (or deleted), the customer's consents and
 *      sharing flags at the location removed, one evidence entry per location written, and the
 *      request updated and audited. Counts and an id digest only, never the erased values.
 *
 * A request with nothing held is then closed as completed and forgets the customer (its subject is
 * set to null); one with held stops stays open, keeps the identifiers the held stops still carry, and
 * says which holds (reason, owner) kept what. The caller broadcasts `touched` once this returns.
 */

export interface ErasureOutcome {
  result: PrivacyEraseResult;
  touched: Touched[];
}

/** Stops erased per pass; a customer with more is erased pass after pass, each found anew. */
const passLimit = 5000;
const maxPasses = 20;

interface LocationTally {
  erased: string[];
  held: Set<string>;
  holds: Map<string, PrivacyHoldNotice>;
}

export async function erasePrivacyRequest(call: PrivacyCall, id: string, body: PrivacyEraseBody): Promise<ErasureOutcome> {
  const { ctx, actor } = call;
  const row = await loadPrivacyRequest(call, id, 'privacy.request.erase');
  requireOpen(row, ['erasure'], 'an erasure');
  const subject = requireSubject(ctx, row);
  const lookup = subjectLookup(subject);
  const locationIds = locationIdsOf(row);
  const tally = new Map<string, LocationTally>(locationIds.map((l) => [l, { erased: [], held: new Set(), holds: new Map() }]));
  const counts = { stopsFound: 0, proofsDestroyed: 0, trackingLinksDeleted: 0, webhookDeliveriesDropped: 0, consentsRemoved: 0, sharingFlagsRemoved: 0 };
  const touched: Touched[] = [];
  const seen = new Set<string>();

  for (let pass = 0; pass < maxPasses; pass++) {
    const found = await findCustomerStops(ctx, lookup, locationIds, { limit: passLimit });
    const fresh = found.filter((s) => !seen.has(s.row.id));
    for (const s of fresh) seen.add(s.row.id);
    counts.stopsFound += fresh.length;
    const byLocation = new Map<string, string[]>();
    for (const s of fresh) byLocation.set(s.row.location_id, [...(byLocation.get(s.row.location_id) ?? []), s.row.id]);
    const free = new Map<string, string[]>();
    for (const [locationId, ids] of byLocation) {
      const t = tally.get(locationId)!;
      for (const covering of await holdsOn(ctx.db, locationId, ids)) {
        for (const stopId of covering.stopIds) t.held.add(stopId);
        const h = covering.hold;
        t.holds.set(h.id, { holdId: h.id, scope: h.scope, locationId, reason: h.reason, owner: h.owner });
      }
      free.set(locationId, ids.filter((stopId) => !t.held.has(stopId)));
    }
    const freeIds = [...free.values()].flat();
    if (freeIds.length > 0) {
      counts.proofsDestroyed += (await destroyProofsOfStops(ctx, freeIds, actor, { requestId: row.id })).destroyed.length;
      await ctx.db.transaction().execute(async (trx) => {
        for (const [locationId, ids] of free) {
          if (ids.length === 0) continue;
          const dropped = await dropStopOutbound(trx, ids);
          counts.webhookDeliveriesDropped += dropped.webhookDeliveries;
          counts.trackingLinksDeleted += dropped.trackingLinks;
          touched.push(...await (body.mode === 'delete' ? deleteStops : pseudonymiseStops)(trx, ctx, locationId, ids, call.now));
          await recordEvidence(trx, ctx, { action: 'retention.erase', class: 'contact', locationId, cutoff: null, mode: body.mode, ids, requestId: row.id, actor });
          tally.get(locationId)!.erased.push(...ids);
        }
      });
    }
    // Done when a pass found fewer than a full page, or nothing more could be erased.
    if (found.length < passLimit || freeIds.length === 0) break;
  }

  // The customer's consents and sharing flags, except where a hold covers the customer or the location.
  const keys = Object.values(customerKeys(ctx, lookup)).filter((k): k is string => k !== null);
  const keptRecordsAt: string[] = [];
  const events: AuditEvent[] = [];
  const result = await ctx.db.transaction().execute(async (trx) => {
    for (const locationId of locationIds) {
      const h = await activeHolds(trx, locationId);
      if (h.location || keys.some((k) => h.customerKeys.has(k))) {
        keptRecordsAt.push(locationId);
        continue;
      }
      if (keys.length === 0) continue;
      const consents = await trx.deleteFrom('customer_consents').where('location_id', '=', locationId).where('customer_key', 'in', keys).executeTakeFirst();
      const flags = await trx.deleteFrom('customer_flags').where('location_id', '=', locationId).where('customer_key', 'in', keys).executeTakeFirst();
      counts.consentsRemoved += Number(consents.numDeletedRows);
      counts.sharingFlagsRemoved += Number(flags.numDeletedRows);
    }
    const heldStops = [...tally.values()].reduce((n, t) => n + t.held.size, 0);
    const stopsErased = [...tally.values()].reduce((n, t) => n + t.erased.length, 0);
    const holds = [...tally.values()].flatMap((t) => [...t.holds.values()]);
    const nothingFound = counts.stopsFound === 0 && counts.consentsRemoved === 0 && counts.sharingFlagsRemoved === 0;
    const complete = !nothingFound && heldStops === 0 && keptRecordsAt.length === 0;
    const current = await trx.selectFrom('privacy_requests').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    const next = await updatePrivacyRequest({ ...call, db: trx }, current, {
      action: { action: 'erase', at: call.now, by: actor.label, counts: { ...counts, stopsErased, stopsHeld: heldStops }, ...(holds.length > 0 ? { holds } : {}) },
      ...(complete ? { close: 'completed' as const, eraseSubject: true } : {}),
    });
    for (const [locationId, t] of tally) {
      events.push({
        action: 'privacy.request.erase', outcome: 'ok', targetType: 'privacy_request', targetId: row.id, locationId,
        details: { mode: body.mode, stopsErased: t.erased.length, stopsHeld: t.held.size, holdIds: [...t.holds.keys()], completed: complete },
      });
    }
    await appendAuditEntries(trx, events.map((event) => ({ actor, event })), call.now);
    return {
      request: presentPrivacyRequest(ctx, next, call.now),
      ...counts,
      stopsErased,
      held: { stops: heldStops, holds },
      summary: summaryOf({ nothingFound, complete, stopsErased, heldStops, holds: holds.length, keptRecordsAt, locations: locationIds.length }),
    } satisfies PrivacyEraseResult;
  });
  // SQLite: the pages as they were before the erasure leave the -wal file (PostgreSQL: VACUUM, docs/operations.md).
  checkpointAfterCommit(ctx);
  return { result, touched };
}

/**
 * Drops what would still carry the stops outward: webhook deliveries not yet delivered (pending or
 * dead, with their attempt records) and tracking links with their view counts.
 */
async function dropStopOutbound(trx: Db, stopIds: readonly string[]): Promise<{ webhookDeliveries: number; trackingLinks: number }> {
  let webhookDeliveries = 0;
  let trackingLinks = 0;
  for (let i = 0; i < stopIds.length; i += 500) {
    const part = stopIds.slice(i, i + 500);
    await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', (eb) => eb.selectFrom('webhook_deliveries').select('id')
      .where('stop_id', 'in', part).where('status', '!=', 'delivered')).execute();
    const deliveries = await trx.deleteFrom('webhook_deliveries').where('stop_id', 'in', part).where('status', '!=', 'delivered').executeTakeFirst();
    webhookDeliveries += Number(deliveries.numDeletedRows);
    await trx.deleteFrom('tracking_link_hits').where('link_id', 'in', (eb) => eb.selectFrom('tracking_links').select('id').where('stop_id', 'in', part)).execute();
    const links = await trx.deleteFrom('tracking_links').where('stop_id', 'in', part).executeTakeFirst();
    trackingLinks += Number(links.numDeletedRows);
  }
  return { webhookDeliveries, trackingLinks };
}

function summaryOf(s: { nothingFound: boolean; complete: boolean; stopsErased: number; heldStops: number; holds: number; keptRecordsAt: string[]; locations: number }): string {
  if (s.nothingFound && s.heldStops === 0) {
    return `No data of this customer was found at the request's ${s.locations === 1 ? 'location' : `${s.locations} locations`}: nothing was erased. Check the phone and email of the request; if they are right, close it as completed.`;
  }
  const parts = [`${s.stopsErased} stop${s.stopsErased === 1 ? '' : 's'} erased.`];
  if (s.heldStops > 0) parts.push(`${s.heldStops} stop${s.heldStops === 1 ? ' was' : 's were'} kept by ${s.holds} legal hold${s.holds === 1 ? '' : 's'} (see held).`);
  if (s.keptRecordsAt.length > 0) parts.push(`Consent and sharing records were kept at ${s.keptRecordsAt.join(', ')}, where a hold covers the customer or the location.`);
  parts.push(s.complete
    ? 'The request is closed as completed and no longer holds the customer\'s identifiers.'
    : 'The request stays open: erase again once the holds are released, or close it with the reason.');
  return parts.join(' ');
}
