import type { SensitiveActionKind } from '@depotline/shared';
import type { AuditActor } from '../audit/audit-log';
import { canonicalJson } from '../audit/canonical';
import type { Db } from '../db/database';
import { notFound } from '../errors';
import { approvalClosed, approvalExpired, auditApproval } from './approval-audit';

/**
 * Uses an approved change that is run after approval rather than at it (a bulk export: the
 * requester downloads the file), once, by its requester, before the request expires, and only
 * for exactly the change that was approved. Run it in the transaction that does the work, so a
 * failed export leaves the approval unused. Refusals throw a typed error; the caller audits
 * them with its own action.
 */
export async function useApprovedChange(
  trx: Db, use: { approvalId: string; kind: SensitiveActionKind; userId: string; change: unknown; actor: AuditActor }, now: number,
): Promise<void> {
  const row = await trx.selectFrom('approval_requests').selectAll().where('id', '=', use.approvalId).executeTakeFirst();
  // Someone else's request, or another kind: the same answer as none at all.
  if (!row || row.kind !== use.kind || row.requested_by !== use.userId) throw notFound('The approval request');
  if (canonicalJson(JSON.parse(row.change)) !== canonicalJson(use.change)) throw approvalClosed('approved for a different change');
  if (row.status !== 'approved') throw row.status === 'pending' ? approvalClosed('still waiting for a decision') : approvalClosed(row.status);
  if (row.used_at !== null) throw approvalClosed('already used');
  if (row.expires_at <= now) throw approvalExpired();
  const r = await trx.updateTable('approval_requests').set({ used_at: now })
    .where('id', '=', row.id).where('status', '=', 'approved').where('used_at', 'is', null).where('expires_at', '>', now)
    .executeTakeFirst();
  // A concurrent use won (PostgreSQL re-checks the row once the other commits).
  if (Number(r.numUpdatedRows) !== 1) throw approvalClosed('already used');
  await auditApproval(trx, use.actor, row, { action: 'approval.use', outcome: 'ok' }, now);
}
