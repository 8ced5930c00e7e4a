import { appendAuditEntries, type AuditActor, type AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { AppError } from '../errors';

/** The columns of a request its audit entries need. */
export interface AuditedRequest {
  id: string;
  kind: string;
  /** JSON array of the touched locations, as stored. */
  location_ids: string;
}

/**
 * Appends one entry per location the request touches (one with no location when it touches
 * none), so each depot's audit trail shows the requests about it.
 */
export async function auditApproval(db: Db, actor: AuditActor, row: AuditedRequest, event: Omit<AuditEvent, 'targetType' | 'targetId' | 'locationId'>, now: number): Promise<void> {
  const locations = JSON.parse(row.location_ids) as string[];
  const details = { kind: row.kind, ...event.details };
  await appendAuditEntries(db, (locations.length > 0 ? locations : [null]).map((locationId) => ({
    actor, event: { ...event, targetType: 'approval_request', targetId: row.id, locationId, details },
  })), now);
}

/** A refused step, audited on its own (the refusal is never lost) and then thrown. */
export async function refuse(ctx: ServerContext, actor: AuditActor, row: AuditedRequest, action: string, error: AppError, details: Record<string, unknown> = {}): Promise<never> {
  await ctx.db.transaction().execute((trx) => auditApproval(trx, actor, row, { action, outcome: 'denied', details: { refused: error.code, ...details } }, ctx.now()));
  throw error;
}

export const approvalExpired = () => new AppError('approval_expired', 409, 'The approval request expired before anyone decided; ask again.');
export const approvalClosed = (status: string) => new AppError('approval_closed', 409, `The approval request is no longer pending (${status}).`);
