import type { ApprovalRequest, PrivacyEraseBody } from '@depotline/shared';
import type { ApprovalRequester } from '../approvals/action';
import { presentApproval } from '../approvals/authority';
import { expireDueApprovals, requestApproval } from '../approvals/requests';
import { erasePrivacyRequest, type ErasureOutcome, erasurePlan, needsSecondPerson } from './request-erasure';
import { loadPrivacyRequest, locationIdsOf, type PrivacyCall, type PrivacyRequestRow, requireOpen, requireSubject, subjectLookup } from './requests';

/**
 * `POST /privacy/requests/:id/erase` for a signed-in admin (docs/security-model.md "Data subject
 * requests"). An erasure that would delete stops (`mode: 'delete'`) or destroy proofs of delivery
 * needs a second admin, as deleting a proof does: it becomes a `privacy.erase` approval request
 * (answered 202), and the erasure runs when a second holder of `privacy.manage` and
 * `approval.decide` at every location of the request approves it (approvals/actions/privacy-erase.ts),
 * finding the customer and reading holds again then. An erasure that only pseudonymises stops
 * without proofs runs at once. Asking twice for the same erasure answers the pending request again.
 * The command line's `privacy erase` runs directly: the operator is trusted as the second person.
 */

export type EraseOrApproval = ({ kind: 'erased' } & ErasureOutcome) | { kind: 'approval'; approval: ApprovalRequest };

export async function eraseOrAskApproval(call: PrivacyCall, requester: ApprovalRequester, id: string, body: PrivacyEraseBody): Promise<EraseOrApproval> {
  const { ctx } = call;
  const row = await loadPrivacyRequest(call, id, 'privacy.request.erase');
  requireOpen(row, ['erasure'], 'an erasure');
  const plan = await erasurePlan(ctx, ctx.db, subjectLookup(requireSubject(ctx, row)), locationIdsOf(row));
  if (!needsSecondPerson(plan, body.mode)) {
    return { kind: 'erased', ...await erasePrivacyRequest({ ...call, db: ctx.db }, id, { mode: body.mode }) };
  }
  const viewer = { kind: 'user' as const, ...requester };
  const pending = await pendingErasure(call, row.id, body.mode);
  if (pending) return { kind: 'approval', approval: presentApproval(pending, viewer, ctx.now()) };
  const found = `${plan.capped ? 'more than ' : ''}${plan.freeStops} stop${plan.freeStops === 1 ? '' : 's'} not under a legal hold, ${plan.liveProofs} proof${plan.liveProofs === 1 ? '' : 's'} of delivery`;
  const reason = `${body.reason ?? defaultReason(row)} (found when asked: ${found})`;
  const approval = await requestApproval(ctx, requester, { kind: 'privacy.erase', change: { requestId: row.id, mode: body.mode }, reason });
  return { kind: 'approval', approval };
}

function defaultReason(row: PrivacyRequestRow): string {
  return `The customer asked for erasure: ${row.law.toUpperCase()} request ${row.id}${row.reference ? ` (${row.reference})` : ''}, received ${new Date(Number(row.received_at)).toISOString().slice(0, 10)}`;
}

/** A pending `privacy.erase` request for this privacy request and mode. */
async function pendingErasure(call: PrivacyCall, requestId: string, mode: PrivacyEraseBody['mode']) {
  await expireDueApprovals(call.ctx);
  const rows = await call.ctx.db.selectFrom('approval_requests').selectAll().where('kind', '=', 'privacy.erase').where('status', '=', 'pending').execute();
  return rows.find((r) => {
    const change = JSON.parse(r.change) as { requestId?: string; mode?: string };
    return change.requestId === requestId && change.mode === mode;
  });
}
