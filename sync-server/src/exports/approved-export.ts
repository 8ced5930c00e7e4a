import { parseSensitiveChange } from '@depotline/shared';
import { loadApproval } from '../approvals/requests';
import { useApprovedChange } from '../approvals/use-once';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { AppError, conflict, notFound } from '../errors';
import { type BuiltExport, buildExport, exportAction, exportAuditEvent, exportRefusal, type ExportViewer, type RecordAudit } from './export-stops';

/**
 * A bulk export a second person approved (approval kind `export.bulk`): its requester downloads
 * exactly the approved export, once, before the request expires, with their access as it is
 * now; redaction and the range policy apply as to any export, the bulk limit does not. The
 * approval is used in the caller's transaction, so an export that fails leaves it unused.
 * Every outcome is recorded as `export.stops`, with the approval's id.
 */
export async function runApprovedExport(
  ctx: ServerContext, db: Db, requester: { userId: string; viewerAt: (locationId: string) => Promise<ExportViewer> }, approvalId: string, now: number, record: RecordAudit,
): Promise<BuiltExport> {
  const row = await loadApproval(db, approvalId);
  // Someone else's request, or not an export: the same answer as none at all.
  if (!row || row.kind !== 'export.bulk' || row.requested_by !== requester.userId) {
    record({ action: exportAction, outcome: 'denied', targetType: 'approval_request', targetId: approvalId, details: { approvalId, reason: 'approval_not_found' } });
    throw notFound('The approval request');
  }
  const parsed = parseSensitiveChange('export.bulk', JSON.parse(row.change));
  if (!parsed.success) throw conflict('The approved export no longer matches what an export can be; ask again.');
  const request = parsed.data;
  const viewer = await requester.viewerAt(request.locationId);
  const refusal = exportRefusal(ctx, viewer, request);
  if (refusal) {
    record(exportAuditEvent(request, 'denied', { reason: refusal.reason, approvalId }));
    throw refusal.error;
  }
  try {
    await useApprovedChange(db, { approvalId, kind: 'export.bulk', userId: requester.userId, change: request, actor: viewer.actor }, now);
  } catch (err) {
    if (err instanceof AppError) record(exportAuditEvent(request, 'denied', { reason: err.code, approvalId }));
    throw err;
  }
  const built = await buildExport(ctx, db, viewer, request, now);
  record(exportAuditEvent(request, 'ok', { rowCount: built.rowCount, columns: built.columns.length, approvalId }));
  return built;
}
