import type { Change, LegalHold, LegalHoldScope } from '@depotline/shared';
import type { Db } from '../db/database';
import type { LifecycleTables } from '../db/schema-lifecycle';

/**
 * Legal holds (docs/security-model.md, "Retention and legal holds"): a hold on a stop, a customer
 * (the blind index of one phone or email) or a whole location suspends purge and erasure for what
 * it covers until it is released. Every path that removes delivery data asks here first.
 */

/** The holds active at one location, in the form the purge and erasure test stops against. */
export interface ActiveHolds {
  /** A hold on the whole location: nothing there is purged or erased. */
  location: boolean;
  stopIds: ReadonlySet<string>;
  /** Blind-index values (phone or email) of held customers. */
  customerKeys: ReadonlySet<string>;
}

export const noHolds: ActiveHolds = { location: false, stopIds: new Set(), customerKeys: new Set() };

export async function activeHolds(db: Db, locationId: string): Promise<ActiveHolds> {
  const rows = await db.selectFrom('legal_holds').select(['scope', 'stop_id', 'customer_key'])
    .where('location_id', '=', locationId).where('released_at', 'is', null).execute();
  const stopIds = new Set<string>();
  const customerKeys = new Set<string>();
  let location = false;
  for (const r of rows) {
    if (r.scope === 'location') location = true;
    else if (r.scope === 'stop' && r.stop_id !== null) stopIds.add(r.stop_id);
    else if (r.scope === 'customer' && r.customer_key !== null) customerKeys.add(r.customer_key);
  }
  return { location, stopIds, customerKeys };
}

/** Whether a stop is covered by one of the holds (its location's, its own, or its customer's). */
export function isHeld(h: ActiveHolds, s: { id: string; phone_bidx: string | null; email_bidx: string | null }): boolean {
  if (h.location || h.stopIds.has(s.id)) return true;
  return (s.phone_bidx !== null && h.customerKeys.has(s.phone_bidx)) || (s.email_bidx !== null && h.customerKeys.has(s.email_bidx));
}

/**
 * A stop change as consoles get it: `held` set when a hold covers the stop. For the one stop of a
 * refusal's current value; sets of stops (pull, live feed) read `activeHolds` once instead.
 */
export async function withHeldFlag(db: Db, change: Change): Promise<Change> {
  if (change.entity !== 'stop') return change;
  const row = await db.selectFrom('stops').select(['id', 'phone_bidx', 'email_bidx'])
    .where('id', '=', change.data.id).where('location_id', '=', change.locationId).executeTakeFirst();
  if (!row || !isHeld(await activeHolds(db, change.locationId), row)) return change;
  return { ...change, data: { ...change.data, held: true } };
}

/** Whether any hold is active at the location (a quick test before a batch is looked at stop by stop). */
export function anyHold(h: ActiveHolds): boolean {
  return h.location || h.stopIds.size > 0 || h.customerKeys.size > 0;
}

/** A hold as it is shown: never the customer key. */
export function presentLegalHold(r: LifecycleTables['legal_holds']): LegalHold {
  return {
    id: r.id,
    scope: r.scope as LegalHoldScope,
    locationId: r.location_id,
    stopId: r.stop_id,
    reason: r.reason,
    owner: r.owner,
    placedBy: r.placed_by,
    placedAt: Number(r.placed_at),
    releasedAt: r.released_at === null ? null : Number(r.released_at),
    releasedBy: r.released_by,
    releaseReason: r.release_reason,
  };
}

/** One active hold that covers some of the stops asked about, with the stops it covers. */
export interface CoveringHold {
  hold: LegalHold;
  stopIds: string[];
}

/**
 * The active holds covering any of `stopIds` at the location, each with the stops it covers: the
 * answer an erasure gives when a hold kept something ("kept by the hold of <owner>: <reason>").
 */
export async function holdsOn(db: Db, locationId: string, stopIds: readonly string[]): Promise<CoveringHold[]> {
  if (stopIds.length === 0) return [];
  const holds = await db.selectFrom('legal_holds').selectAll()
    .where('location_id', '=', locationId).where('released_at', 'is', null).orderBy('placed_at').orderBy('id').execute();
  if (holds.length === 0) return [];
  const stops: { id: string; phone_bidx: string | null; email_bidx: string | null }[] = [];
  for (let i = 0; i < stopIds.length; i += 500) {
    stops.push(...await db.selectFrom('stops').select(['id', 'phone_bidx', 'email_bidx'])
      .where('location_id', '=', locationId).where('id', 'in', stopIds.slice(i, i + 500)).execute());
  }
  const out: CoveringHold[] = [];
  for (const h of holds) {
    const covered = stops.filter((s) => {
      if (h.scope === 'location') return true;
      if (h.scope === 'stop') return s.id === h.stop_id;
      return h.customer_key !== null && (s.phone_bidx === h.customer_key || s.email_bidx === h.customer_key);
    }).map((s) => s.id);
    if (covered.length > 0) out.push({ hold: presentLegalHold(h), stopIds: covered });
  }
  return out;
}
