import type { PrivacyEraseBody, PrivacyEraseResult, PrivacyHoldNotice } from '@depotline/shared';
import { appendAuditEntries, type AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { conflict } from '../errors';
import { checkpointAfterCommit } from '../proofs/deletion';
import { activeHolds, holdsOn } from '../retention/holds';
import {
  deleteStops, destroyProofKeys, erasureAction, type Evidence, idsDigest, inIdList, pseudonymiseStops, recordEvidence, removeProofFiles,
} from '../retention/stop-erasure';
import type { Touched } from '../sync/mutations/handler';
import { customerKeys } from './blind-index';
import { findCustomerStops } from './customers';
import {
  forgetCustomerInRequests, loadPrivacyRequest, locationIdsOf, type PrivacyCall, presentPrivacyRequest, requireOpen, requireSubject, type StoredSubject,
  subjectLookup, updatePrivacyRequest,
} from './requests';

/**
 * Erasure under a data subject request (docs/security-model.md "Data subject requests"), through
 * the one mechanism the purge uses (retention/stop-erasure.ts). For every stop of the customer at
 * the request's locations that no legal hold covers, in one transaction per pass: its proofs are
 * destroyed by destroying their keys (the files go from the store after it commits), its undelivered
 * webhook deliveries are dropped, its tracking links and their view counts deleted, the stop
 * pseudonymised (or deleted), and evidence entries written (proofs and stops, per location). Then the
 * customer's consents and sharing flags are removed and the request updated and audited. Counts and
 * an id digest only, never the erased values.
 *
 * An admin's erasure that deletes stops or destroys proofs needs a second admin first
 * (erasure-approval.ts, `privacy.erase`); the approved one runs here inside the decision's transaction.
 * The customer is found by the blind index of the phone and email only (`foundBy`).
 *
 * A request with nothing held is then closed as completed and forgets the customer (its subject is
 * set to null), as do the customer's other requests at those locations; one with held stops stays
 * open, keeps the identifiers the held stops still carry, and says which holds (reason, owner) kept
 * what. The caller broadcasts `touched` once this returns.
 */

export interface ErasureOutcome {
  result: PrivacyEraseResult;
  touched: Touched[];
}

/**
 * Where an erasure's writes go. Directly (an admin's erasure that needs no second person, or the
 * operator's command line): a transaction per pass, after-commit work once all have committed. Under
 * an approved `privacy.erase` (approvals/actions/privacy-erase.ts): everything in the decision's
 * transaction, after-commit work once the decision has committed.
 */
export interface ErasureRun {
  /** Where the customer's stops and holds are read. */
  db: Db;
  transaction<T>(work: (trx: Db) => Promise<T>): Promise<T>;
  afterCommit(work: () => Promise<void> | void): void;
  /** The approved `privacy.erase` request, named in the evidence. */
  approvalId?: string;
  /** False: an admin's erasure without approval, refused (409) if it would delete a stop or destroy a proof after all. */
  secondPerson: boolean;
}

/** Stops erased per pass; a customer with more is erased pass after pass, each found anew. */
const passLimit = 5000;
const maxPasses = 20;

interface LocationTally {
  erased: string[];
  held: Set<string>;
  holds: Map<string, PrivacyHoldNotice>;
}

/** Which identifiers of the subject have a blind index to look stops up by. */
export function foundByOf(ctx: ServerContext, lookup: { phone?: string; email?: string }): ('phone' | 'email')[] {
  const keys = customerKeys(ctx, lookup);
  return (['phone', 'email'] as const).filter((k) => keys[k] !== null);
}

/**
 * What an erasure of the request's customer would reach now (one page of stops): the stops no hold
 * covers, and how many live proofs of delivery they carry. `capped`: there were more stops than one page.
 */
export async function erasurePlan(ctx: ServerContext, db: Db, lookup: { phone?: string; email?: string }, locationIds: readonly string[]): Promise<{ freeStops: number; liveProofs: number; capped: boolean }> {
  const found = await findCustomerStops(ctx, lookup, locationIds, { db, limit: passLimit });
  const free: string[] = [];
  for (const locationId of locationIds) {
    const ids = found.filter((s) => s.row.location_id === locationId).map((s) => s.row.id);
    if (ids.length === 0) continue;
    const held = new Set((await holdsOn(db, locationId, ids)).flatMap((c) => [...c.stopIds]));
    free.push(...ids.filter((id) => !held.has(id)));
  }
  let liveProofs = 0;
  for (let i = 0; i < free.length; i += 500) {
    const n = await db.selectFrom('proofs').select((eb) => eb.fn.countAll().as('n')).where('stop_id', 'in', free.slice(i, i + 500)).where('deleted_at', 'is', null).executeTakeFirstOrThrow();
    liveProofs += Number(n.n);
  }
  return { freeStops: free.length, liveProofs, capped: found.length >= passLimit };
}

/** Whether the erasure needs a second admin: it deletes stops, or destroys proofs of delivery (or the customer has too many stops to tell). */
export const needsSecondPerson = (plan: { freeStops: number; liveProofs: number; capped: boolean }, mode: PrivacyEraseBody['mode']): boolean =>
  plan.capped || plan.liveProofs > 0 || (mode === 'delete' && plan.freeStops > 0);

/** The direct run: a transaction per pass, after-commit work at the end. */
function directRun(ctx: ServerContext, secondPerson: boolean): ErasureRun & { finish(): Promise<void> } {
  const later: (() => Promise<void> | void)[] = [];
  return {
    db: ctx.db, secondPerson,
    transaction: (work) => ctx.db.transaction().execute(work),
    afterCommit: (work) => void later.push(work),
    async finish() {
      for (const work of later.splice(0)) await work();
    },
  };
}

export async function erasePrivacyRequest(call: PrivacyCall, id: string, body: Pick<PrivacyEraseBody, 'mode'>, given?: ErasureRun): Promise<ErasureOutcome> {
  const { ctx, actor } = call;
  // Without a run: the operator's command line (trusted as the second person) or, over REST, an erasure judged to need none.
  const direct = given ? null : directRun(ctx, call.manages === null);
  const run = given ?? direct!;
  const row = await loadPrivacyRequest(call, id, 'privacy.request.erase');
  requireOpen(row, ['erasure'], 'an erasure');
  const subject = requireSubject(ctx, row);
  const lookup = subjectLookup(subject);
  const locationIds = locationIdsOf(row);
  const tally = new Map<string, LocationTally>(locationIds.map((l) => [l, { erased: [], held: new Set(), holds: new Map() }]));
  const counts = { stopsFound: 0, proofsDestroyed: 0, trackingLinksDeleted: 0, webhookDeliveriesDropped: 0, consentsRemoved: 0, sharingFlagsRemoved: 0 };
  const touched: Touched[] = [];
  const seen = new Set<string>();
  const approval = run.approvalId === undefined ? {} : { approvalId: run.approvalId };

  for (let pass = 0; pass < maxPasses; pass++) {
    const found = await findCustomerStops(ctx, lookup, locationIds, { db: run.db, limit: passLimit });
    const fresh = found.filter((s) => !seen.has(s.row.id));
    for (const s of fresh) seen.add(s.row.id);
    counts.stopsFound += fresh.length;
    const byLocation = new Map<string, string[]>();
    for (const s of fresh) byLocation.set(s.row.location_id, [...(byLocation.get(s.row.location_id) ?? []), s.row.id]);
    const free = new Map<string, string[]>();
    for (const [locationId, ids] of byLocation) {
      const t = tally.get(locationId)!;
      for (const covering of await holdsOn(run.db, locationId, ids)) {
        for (const stopId of covering.stopIds) t.held.add(stopId);
        const h = covering.hold;
        t.holds.set(h.id, { holdId: h.id, scope: h.scope, locationId, reason: h.reason, owner: h.owner });
      }
      free.set(locationId, ids.filter((stopId) => !t.held.has(stopId)));
    }
    const freeIds = [...free.values()].flat();
    if (freeIds.length > 0) {
      await run.transaction(async (trx) => {
        for (const [locationId, ids] of free) {
          if (ids.length === 0) continue;
          // Proofs by key destruction, in the stops' transaction; the sealed files go once it has committed.
          const proofs = await trx.selectFrom('proofs').select(['id', 'storage_key']).where(inIdList(ctx.dbKind, 'stop_id', ids)).where('deleted_at', 'is', null).execute();
          if (!run.secondPerson && (proofs.length > 0 || body.mode === 'delete')) {
            throw conflict('This erasure deletes delivery records or destroys proofs of delivery, so a second admin must approve it: erase again to ask for approval.');
          }
          if (proofs.length > 0) {
            await destroyProofKeys(trx, ctx.dbKind, proofs.map((p) => p.id), actor, call.now);
            await erasureEvidence(trx, ctx, { action: erasureAction, class: 'proof', locationId, cutoff: null, mode: 'destroyKeys', ids: proofs.map((p) => p.id), requestId: row.id, actor }, run.approvalId);
            counts.proofsDestroyed += proofs.length;
            run.afterCommit(() => removeProofFiles(ctx, proofs));
          }
          const dropped = await dropStopOutbound(trx, ids);
          counts.webhookDeliveriesDropped += dropped.webhookDeliveries;
          counts.trackingLinksDeleted += dropped.trackingLinks;
          touched.push(...await (body.mode === 'delete' ? deleteStops : pseudonymiseStops)(trx, ctx, locationId, ids, call.now));
          await erasureEvidence(trx, ctx, { action: erasureAction, class: 'contact', locationId, cutoff: null, mode: body.mode, ids, requestId: row.id, actor }, run.approvalId);
          tally.get(locationId)!.erased.push(...ids);
        }
      });
    }
    // Done when a pass found fewer than a full page, or nothing more could be erased.
    if (found.length < passLimit || freeIds.length === 0) break;
  }

  // The customer's consents and sharing flags, except where a hold covers the customer or the location.
  const keys = Object.values(customerKeys(ctx, lookup)).filter((k): k is string => k !== null);
  const foundBy = foundByOf(ctx, lookup);
  const keptRecordsAt: string[] = [];
  const events: AuditEvent[] = [];
  const result = await run.transaction(async (trx) => {
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
    const trxCall = { ...call, db: trx };
    const next = await updatePrivacyRequest(trxCall, current, {
      action: { action: 'erase', at: call.now, by: actor.label, counts: { ...counts, stopsErased, stopsHeld: heldStops }, ...(holds.length > 0 ? { holds } : {}) },
      ...(complete ? { close: 'completed' as const, eraseSubject: true } : {}),
    });
    // The customer's identifiers also leave their other requests at these locations (kind, dates and steps stay).
    const forgotten = complete ? await forgetCustomerInRequests(trxCall, row, subject) : 0;
    for (const [locationId, t] of tally) {
      events.push({
        action: 'privacy.request.erase', outcome: 'ok', targetType: 'privacy_request', targetId: row.id, locationId,
        details: { mode: body.mode, stopsErased: t.erased.length, stopsHeld: t.held.size, holdIds: [...t.holds.keys()], completed: complete, foundBy, ...approval },
      });
    }
    await appendAuditEntries(trx, events.map((event) => ({ actor, event })), call.now);
    return {
      request: presentPrivacyRequest(ctx, next, call.now),
      ...counts,
      stopsErased,
      held: { stops: heldStops, holds },
      foundBy,
      summary: summaryOf({ nothingFound, complete, stopsErased, heldStops, holds: holds.length, keptRecordsAt, locations: locationIds.length, forgotten, foundBy, subject, region: ctx.config.privacy.phoneRegion }),
    } satisfies PrivacyEraseResult;
  });
  // SQLite: the pages as they were before the erasure leave the -wal file (PostgreSQL: VACUUM, docs/operations.md).
  run.afterCommit(() => checkpointAfterCommit(ctx));
  await direct?.finish();
  return { result, touched };
}

/** The evidence entry (retention/stop-erasure.ts `recordEvidence`), naming the approved `privacy.erase` request when there is one. */
async function erasureEvidence(trx: Db, ctx: ServerContext, e: Evidence, approvalId: string | undefined): Promise<void> {
  if (approvalId === undefined) {
    await recordEvidence(trx, ctx, e);
    return;
  }
  await appendAuditEntries(trx, [{
    actor: e.actor!,
    event: {
      action: e.action, outcome: 'ok', targetType: 'location', targetId: e.locationId, locationId: e.locationId,
      details: { class: e.class, cutoff: e.cutoff, mode: e.mode, count: e.ids.length, idsSha256: idsDigest(e.ids), requestId: e.requestId, approvalId },
    },
  }], ctx.now());
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

interface SummaryFacts {
  nothingFound: boolean; complete: boolean; stopsErased: number; heldStops: number; holds: number; keptRecordsAt: string[]; locations: number;
  forgotten: number; foundBy: readonly ('phone' | 'email')[]; subject: StoredSubject; region: string;
}

function summaryOf(s: SummaryFacts): string {
  const how = foundByWords(s);
  if (s.nothingFound && s.heldStops === 0) {
    return `No data of this customer was found at the request's ${s.locations === 1 ? 'location' : `${s.locations} locations`}: nothing was erased. ${how} Check the phone and email of the request; if they are right, close it as completed.`;
  }
  const parts = [`${s.stopsErased} stop${s.stopsErased === 1 ? '' : 's'} erased.`, how];
  if (s.heldStops > 0) parts.push(`${s.heldStops} stop${s.heldStops === 1 ? ' was' : 's were'} kept by ${s.holds} legal hold${s.holds === 1 ? '' : 's'} (see held).`);
  if (s.keptRecordsAt.length > 0) parts.push(`Consent and sharing records were kept at ${s.keptRecordsAt.join(', ')}, where a hold covers the customer or the location.`);
  parts.push(s.complete
    ? `The request is closed as completed and no longer holds the customer's identifiers${s.forgotten > 0 ? `; nor do ${s.forgotten} earlier request${s.forgotten === 1 ? '' : 's'} about them` : ''}.`
    : 'The request stays open: erase again once the holds are released, or close it with the reason.');
  return parts.join(' ');
}

/** How the stops were found (the blind index of the phone and email), and what that cannot find. */
function foundByWords(s: Pick<SummaryFacts, 'foundBy' | 'subject' | 'region'>): string {
  const by = s.foundBy.map((k) => (k === 'phone' ? 'phone number' : 'email')).join(' and ');
  const unreadPhone = s.subject.phone !== null && !s.foundBy.includes('phone')
    ? ' The phone number given could not be read as a number, so it found nothing.' : '';
  return `Stops were found by the customer's ${by || 'identifiers'} only (as normalised: phone numbers without a country code read as ${s.region});`
    + ` a stop whose phone was stored in a form that could not be read as a number, or under another email, is not found this way.${unreadPhone}`;
}
