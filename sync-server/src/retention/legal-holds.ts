import type { LegalHold, LegalHoldReleaseChange } from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { Db } from '../db/database';
import type { LifecycleTables } from '../db/schema-lifecycle';
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

/**
 * Ends a hold in the caller's transaction, audited (`legalHold.release`). The reason is kept on
 * the hold, not in the audit entry (it may name people); the entry names the hold and the approval
 * (none when the operator at the command line released it).
 */
export async function releaseLegalHold(trx: Db, actor: AuditActor, change: LegalHoldReleaseChange, now: number, approvalId: string | null): Promise<boolean> {
  const r = await trx.updateTable('legal_holds')
    .set({ released_at: now, released_by: actor.label, release_reason: change.reason })
    .where('id', '=', change.holdId).where('released_at', 'is', null).executeTakeFirst();
  const released = Number(r.numUpdatedRows) === 1;
  if (released) {
    const hold = (await loadLegalHold(trx, change.holdId))!;
    await appendAudit(trx, actor, {
      action: 'legalHold.release', outcome: 'ok', targetType: 'legal_hold', targetId: hold.id, locationId: hold.location_id,
      details: { scope: hold.scope, ...(hold.stop_id ? { stopId: hold.stop_id } : {}), ...(approvalId ? { approvalId } : { by: 'operator' }) },
    }, now);
  }
  return released;
}
