import crypto from 'node:crypto';
import {
  type ConsentPurpose, type ConsentRecordInput, type ConsentSource, type ConsentView, type CustomerMatchKind, type SharingInput, type SharingView,
} from '@depotline/shared';
import type { AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { AppError } from '../errors';
import { customerKeys } from './blind-index';

/**
 * Consent per purpose and the do-not-sell-or-share flag, both keyed by the customer's blind
 * index values (a phone's and an email's, each on its own row), so they hold no contact details
 * and reach every stop that carries either identifier. A consent row is never changed: the
 * newest per key, location and purpose is in force (a withdrawal wins a tie), and the rows are
 * the record of when the customer said what, and through which channel.
 */

/** Both of a customer's index values, as given; at least one must parse. */
export function requiredCustomerKeys(ctx: ServerContext, customer: { phone?: string; email?: string }): { kind: CustomerMatchKind; key: string }[] {
  const keys = customerKeys(ctx, customer);
  const out = [
    ...(keys.phone !== null ? [{ kind: 'phone' as const, key: keys.phone }] : []),
    ...(keys.email !== null ? [{ kind: 'email' as const, key: keys.email }] : []),
  ];
  if (out.length === 0) {
    throw new AppError('bad_request', 400, 'Neither the phone number nor the email can be read (a phone needs a country code or one of this server\'s region).', {
      issues: ['customer: not a phone number or email the server can normalise'],
    });
  }
  return out;
}

type ConsentRow = { id: string; customer_key: string; location_id: string; purpose: string; granted: number; source: string; recorded_at: number; recorded_by: string };

function presentConsent(row: ConsentRow, kind: CustomerMatchKind): ConsentView {
  return {
    id: row.id, locationId: row.location_id, purpose: row.purpose as ConsentPurpose, granted: row.granted === 1,
    source: row.source as ConsentSource, recordedAt: Number(row.recorded_at), recordedBy: row.recorded_by, matched: kind,
  };
}

/**
 * Records a consent given or withdrawn, once per identifier of the customer, with one audit
 * entry (purpose, granted, source, which identifiers; never their values).
 */
export async function recordConsent(
  ctx: ServerContext, trx: Db, input: ConsentRecordInput, by: string, now: number,
): Promise<{ consents: ConsentView[]; audit: AuditEvent }> {
  if (input.givenAt !== undefined && input.givenAt > now) {
    throw new AppError('bad_request', 400, 'A consent cannot be given in the future.', { issues: ['givenAt: after the present time'] });
  }
  const keys = requiredCustomerKeys(ctx, input.customer);
  const consents: ConsentView[] = [];
  for (const { kind, key } of keys) {
    const row: ConsentRow = {
      id: crypto.randomUUID(), customer_key: key, location_id: input.locationId, purpose: input.purpose, granted: input.granted ? 1 : 0,
      source: input.source, recorded_at: input.givenAt ?? now, recorded_by: by,
    };
    await trx.insertInto('customer_consents').values(row).execute();
    consents.push(presentConsent(row, kind));
  }
  return {
    consents,
    audit: {
      action: 'privacy.consent', outcome: 'ok', targetType: 'customer', locationId: input.locationId,
      details: { purpose: input.purpose, granted: input.granted, source: input.source, identifiers: keys.map((k) => k.kind), givenAt: input.givenAt ?? now },
    },
  };
}

/** Sets the customer's do-not-sell-or-share choice at a location, for each identifier given. */
export async function setDoNotSell(ctx: ServerContext, trx: Db, input: SharingInput, by: string, now: number): Promise<{ sharing: SharingView[]; audit: AuditEvent }> {
  const keys = requiredCustomerKeys(ctx, input.customer);
  const sharing: SharingView[] = [];
  for (const { kind, key } of keys) {
    const values = { customer_key: key, location_id: input.locationId, do_not_sell: input.doNotSell ? 1 : 0, updated_at: now, updated_by: by };
    await trx.insertInto('customer_flags').values(values)
      .onConflict((oc) => oc.columns(['customer_key', 'location_id']).doUpdateSet({ do_not_sell: values.do_not_sell, updated_at: now, updated_by: by }))
      .execute();
    sharing.push({ locationId: input.locationId, doNotSell: input.doNotSell, updatedAt: now, updatedBy: by, matched: kind });
  }
  return {
    sharing,
    audit: {
      action: 'privacy.sharing', outcome: 'ok', targetType: 'customer', locationId: input.locationId,
      details: { doNotSell: input.doNotSell, identifiers: keys.map((k) => k.kind) },
    },
  };
}

/** The consent and sharing records of a customer at `locationIds`, newest consent first. */
export async function customerRecords(
  db: Db, keys: readonly { kind: CustomerMatchKind; key: string }[], locationIds: readonly string[],
): Promise<{ consents: ConsentView[]; sharing: SharingView[] }> {
  if (keys.length === 0 || locationIds.length === 0) return { consents: [], sharing: [] };
  const kindOf = new Map(keys.map((k) => [k.key, k.kind]));
  const consents = await db.selectFrom('customer_consents').selectAll()
    .where('customer_key', 'in', [...kindOf.keys()]).where('location_id', 'in', [...locationIds])
    .orderBy('recorded_at', 'desc').orderBy('id').execute();
  const flags = await db.selectFrom('customer_flags').selectAll()
    .where('customer_key', 'in', [...kindOf.keys()]).where('location_id', 'in', [...locationIds]).orderBy('location_id').execute();
  return {
    consents: consents.map((c) => presentConsent(c, kindOf.get(c.customer_key)!)),
    sharing: flags.map((f) => ({
      locationId: f.location_id, doNotSell: f.do_not_sell === 1, updatedAt: Number(f.updated_at), updatedBy: f.updated_by, matched: kindOf.get(f.customer_key)!,
    })),
  };
}

/** A stop as far as consent and sharing go: where it is and its customer's index values. */
export interface IndexedStop {
  id: string;
  location_id: string;
  phone_bidx: string | null;
  email_bidx: string | null;
}

const keysOf = (s: IndexedStop) => [s.phone_bidx, s.email_bidx].filter((k): k is string => k !== null);

/**
 * The purposes each stop's customer has withdrawn at its location (newest record per key and
 * purpose; a withdrawal under either identifier counts). No record: nothing withdrawn.
 */
export async function withdrawnPurposes(db: Db, stops: readonly IndexedStop[]): Promise<Map<string, Set<ConsentPurpose>>> {
  const out = new Map<string, Set<ConsentPurpose>>();
  const indexed = stops.filter((s) => keysOf(s).length > 0);
  if (indexed.length === 0) return out;
  const rows = await db.selectFrom('customer_consents').select(['customer_key', 'location_id', 'purpose', 'granted', 'recorded_at'])
    .where('customer_key', 'in', [...new Set(indexed.flatMap(keysOf))])
    .where('location_id', 'in', [...new Set(indexed.map((s) => s.location_id))])
    .execute();
  // The record in force per key, location and purpose: the newest; a withdrawal wins a tie.
  const latest = new Map<string, { at: number; granted: boolean }>();
  for (const r of rows) {
    const k = `${r.customer_key}|${r.location_id}|${r.purpose}`;
    const at = Number(r.recorded_at);
    const seen = latest.get(k);
    if (!seen || at > seen.at || (at === seen.at && r.granted === 0)) latest.set(k, { at, granted: r.granted === 1 });
  }
  for (const s of indexed) {
    for (const key of keysOf(s)) {
      for (const [k, v] of latest) {
        if (v.granted || !k.startsWith(`${key}|${s.location_id}|`)) continue;
        const set = out.get(s.id) ?? new Set<ConsentPurpose>();
        set.add(k.slice(k.lastIndexOf('|') + 1) as ConsentPurpose);
        out.set(s.id, set);
      }
    }
  }
  return out;
}

/**
 * Whether a customer's withdrawals rule out sending them a tracking link at all: delivery
 * notifications withdrawn, or both channels (SMS and email) a link goes out through.
 */
export function trackingLinkRefused(withdrawn: ReadonlySet<ConsentPurpose>): boolean {
  return withdrawn.has('deliveryNotifications') || (withdrawn.has('trackingSms') && withdrawn.has('trackingEmail'));
}

/** The stops among `stops` whose customer asked, at the stop's location, that their data is not sold or shared. */
export async function doNotSellStops(db: Db, stops: readonly IndexedStop[]): Promise<Set<string>> {
  const indexed = stops.filter((s) => keysOf(s).length > 0);
  if (indexed.length === 0) return new Set();
  const flagged = new Set((await db.selectFrom('customer_flags').select(['customer_key', 'location_id'])
    .where('customer_key', 'in', [...new Set(indexed.flatMap(keysOf))])
    .where('location_id', 'in', [...new Set(indexed.map((s) => s.location_id))])
    .where('do_not_sell', '=', 1).execute()).map((f) => `${f.customer_key}|${f.location_id}`));
  return new Set(indexed.filter((s) => keysOf(s).some((k) => flagged.has(`${k}|${s.location_id}`))).map((s) => s.id));
}
