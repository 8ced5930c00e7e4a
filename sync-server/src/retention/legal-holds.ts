import type { LegalHold, LegalHoldReleaseChange } from '@depotline/shared';
import { sql } from 'kysely';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { Db } from '../db/database';
import type { LifecycleTables } from '../db/schema-lifecycle';
import type { Touched } from '../sync/mutations/handler';
import { presentLegalHold } from './holds';

/**
 * Keeping and listing legal holds (placing: `legalHold.manage`; releasing: an approved
 * `legalHold.release`, approvals/actions/legal-hold-release.ts). Rows are never deleted: a
 * released hold stays as the record of what was kept, by whom and why.
 */

export type LegalHoldRow = LifecycleTables['legal_holds'];

export async function loadLegalHold(db: Db, holdId: string): Promise<LegalHoldRow | undefined> {
  return db.selectFrom('legal_holds').selectAll().where('id', '=', holdId).executeTakeFirst();
}

/** The holds of a location, newest first; `activeOnly` leaves out released ones. */
export async function listLegalHolds(db: Db, locationId: string, activeOnly: boolean): Promise<LegalHold[]> {
  let q = db.selectFrom('legal_holds').selectAll().where('location_id', '=', locationId);
  if (activeOnly) q = q.where('released_at', 'is', null);
  const rows = await q.orderBy('placed_at', 'desc').orderBy('id', 'desc').limit(1000).execute();
  return rows.map(presentLegalHold);
}

/** What a hold covers, in words (approvals, CLI): never the customer's contact itself. */
export function holdInWords(h: LegalHoldRow): string {
  const what = h.scope === 'location' ? `every record at ${h.location_id}`
    : h.scope === 'stop' ? `stop ${h.stop_id ?? '?'} at ${h.location_id}`
      : `one customer's stops at ${h.location_id}`;
  return `the legal hold ${h.id} on ${what} (owner: ${h.owner}; placed by ${h.placed_by} at ${new Date(Number(h.placed_at)).toISOString()})`;
}

/** The stops of a hold's location it covers, as a condition on `stops` (its location's test aside). */
function coverOf(h: Pick<LegalHoldRow, 'scope' | 'stop_id' | 'customer_key'>) {
  if (h.scope === 'location') return sql<boolean>`1 = 1`;
  if (h.scope === 'stop') return sql<boolean>`id = ${h.stop_id ?? ''}`;
  return sql<boolean>`(phone_bidx = ${h.customer_key ?? ''} or email_bidx = ${h.customer_key ?? ''})`;
}

/**
 * Gives every stop a hold covers a new version and change-log entry, in the caller's transaction
 * that places or releases it, so consoles learn at once (pull and live feed) that the stop is held
 * or no longer held (`Stop.held`), and a console that swept the stop away locally gets it back.
 * Set-wise: one version bump of the location for the whole set, one UPDATE of the stops and one
 * INSERT of the change log, each stop its own version (`first + n`, in id order). Nothing else of
 * the stops changes. Returns them for the live feed, to publish once the transaction committed.
 */
export async function restampCoveredStops(trx: Db, hold: Pick<LegalHoldRow, 'scope' | 'location_id' | 'stop_id' | 'customer_key'>, now: number): Promise<Touched[]> {
  const loc = hold.location_id;
  // The location's row lock first (PostgreSQL; SQLite has one writer): no stop joins the set meanwhile.
  await sql`update locations set version = version where id = ${loc}`.execute(trx);
  const covered = (await sql<{ id: string; route_id: string | null }>`
    select id, route_id from stops where location_id = ${loc} and ${coverOf(hold)} order by id`.execute(trx)).rows;
  if (covered.length === 0) return [];
  const bumped = await sql<{ version: number }>`
    update locations set version = version + ${covered.length} where id = ${loc} returning version`.execute(trx);
  const first = Number(bumped.rows[0]!.version) - covered.length + 1;
  await sql`update stops set version = n.version from (
      select id, cast(${first - 1} as bigint) + row_number() over (order by id) as version
      from stops where location_id = ${loc} and ${coverOf(hold)}) as n
    where stops.id = n.id`.execute(trx);
  await sql`insert into changes (location_id, version, entity, entity_id, at)
    select location_id, version, 'stop', id, cast(${now} as bigint) from stops
    where location_id = ${loc} and ${coverOf(hold)} and version >= ${first}`.execute(trx);
  return covered.map((s) => ({ entity: 'stop', id: s.id, locationId: loc }));
}

/**
 * Ends a hold in the caller's transaction, audited (`legalHold.release`). The reason is kept on
 * the hold, not in the audit entry (it may name people); the entry names the hold and the approval
 * (none when the operator at the command line released it).
 */
export async function releaseLegalHold(
  trx: Db, actor: AuditActor, change: LegalHoldReleaseChange, now: number, approvalId: string | null, onRestamped?: (touched: Touched[]) => void,
): Promise<boolean> {
  const r = await trx.updateTable('legal_holds')
    .set({ released_at: now, released_by: actor.label, release_reason: change.reason })
    .where('id', '=', change.holdId).where('released_at', 'is', null).executeTakeFirst();
  const released = Number(r.numUpdatedRows) === 1;
  if (released) {
    const hold = (await loadLegalHold(trx, change.holdId))!;
    // The stops it covered get a new version (no longer held unless another hold covers them);
    // the caller publishes them after commit where it has the live feed, else consoles pull them.
    const touched = await restampCoveredStops(trx, hold, now);
    onRestamped?.(touched);
    await appendAudit(trx, actor, {
      action: 'legalHold.release', outcome: 'ok', targetType: 'legal_hold', targetId: hold.id, locationId: hold.location_id,
      details: { scope: hold.scope, ...(hold.stop_id ? { stopId: hold.stop_id } : {}), ...(approvalId ? { approvalId } : { by: 'operator' }) },
    }, now);
  }
  return released;
}
