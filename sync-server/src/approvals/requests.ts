import crypto from 'node:crypto';
import {
  type ApprovalListQuery, ApprovalReason, type ApprovalRequest, type Permission, parseSensitiveChange, type SensitiveActionKind,
} from '@depotline/shared';
import { systemActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { badRequest, conflict, forbidden, notFound, zodIssues } from '../errors';
import type { ApprovalRequester } from './action';
import { approvalClosed, approvalExpired, auditApproval, refuse } from './approval-audit';
import { type ApprovalRow, type ApprovalViewer, handlerOf, mayView, parseJsonList, presentApproval } from './authority';

/**
 * Requests for sensitive changes: asking, withdrawing, listing, and expiry (docs/security-model.md,
 * "Four-eyes approvals"). Deciding is in decide.ts.
 */

/**
 * Asks for a sensitive change. Nothing changes yet: the request records who asked, the full
 * change, why, which locations it touches, what it hands out and when it expires. A requester
 * who may not make the change at all is refused (`forbidden`, audited); a change that cannot be
 * applied as it stands is a `conflict`.
 */
export async function requestApproval(
  ctx: ServerContext, requester: ApprovalRequester, input: { kind: SensitiveActionKind; change: unknown; reason: unknown },
): Promise<ApprovalRequest> {
  const parsed = parseSensitiveChange(input.kind, input.change);
  if (!parsed.success) throw badRequest(zodIssues(parsed.error).map((l) => `change.${l}`));
  const change = parsed.data;
  const handler = handlerOf(input.kind);
  const now = ctx.now();
  const pseudoRow = { id: 'new', kind: input.kind, location_ids: '[]' };

  const touches = await handler.touches(ctx.db, change, now);
  const cannot = await handler.mayRequest(ctx.db, requester, change, now);
  if (cannot !== null) await refuse(ctx, requester.actor, { ...pseudoRow, location_ids: JSON.stringify(touches) }, 'approval.request', forbidden(`You cannot ask for this change: ${cannot}.`), { reason: cannot });
  // After the authority check: someone who may not ask at all is refused as such, reason or not.
  const reason = ApprovalReason.safeParse(input.reason);
  if (!reason.success) {
    throw badRequest(zodIssues(reason.error).map((l) => `reason${l.slice(l.indexOf(':'))}`)
      .concat(['reason: this change needs a second person\u2019s approval, and the approver is told why']));
  }
  const invalid = await handler.check(ctx.db, change, now);
  if (invalid !== null) throw conflict(`This change cannot be made: ${invalid}.`);

  const handsOut = await handler.handsOut(ctx.db, change, now);
  const summary = await handler.summary(ctx.db, change);
  const row: ApprovalRow = {
    id: crypto.randomUUID(), kind: input.kind, change: JSON.stringify(change), summary, reason: reason.data,
    location_ids: JSON.stringify([...new Set(touches)].sort()), hands_out: JSON.stringify([...new Set(handsOut)].sort()),
    requested_by: requester.userId, requested_by_label: requester.actor.label, requested_at: now,
    expires_at: now + ctx.config.approvalTtlMs, status: 'pending',
    decided_by: null, decided_by_label: null, decided_at: null, decision_note: null, stale_reason: null, used_at: null,
  };
  await ctx.db.transaction().execute(async (trx) => {
    await trx.insertInto('approval_requests').values(row).execute();
    await auditApproval(trx, requester.actor, row, {
      action: 'approval.request', outcome: 'ok', details: { change, reason: reason.data, handsOut, expiresAt: row.expires_at },
    }, now);
  });
  return presentApproval(row, { kind: 'user', userId: requester.userId, actor: requester.actor, profile: requester.profile }, now);
}

/**
 * Marks every pending request past its expiry `expired`, audited as the system. Run before
 * any list or decision, so an expired request is never shown as pending or decided.
 */
export async function expireDueApprovals(ctx: ServerContext): Promise<number> {
  const now = ctx.now();
  const due = await ctx.db.selectFrom('approval_requests').select(['id', 'kind', 'location_ids'])
    .where('status', '=', 'pending').where('expires_at', '<=', now).limit(500).execute();
  let expired = 0;
  for (const row of due) {
    await ctx.db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('approval_requests').set({ status: 'expired' })
        .where('id', '=', row.id).where('status', '=', 'pending').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return;
      expired += 1;
      await auditApproval(trx, systemActor, row, { action: 'approval.expire', outcome: 'ok' }, now);
    });
  }
  return expired;
}

export async function loadApproval(db: Db, id: string): Promise<ApprovalRow | null> {
  return (await db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst()) ?? null;
}

/** One request, for its requester or anyone who holds `approval.decide` everywhere it touches. */
export async function getApproval(ctx: ServerContext, viewer: ApprovalViewer, id: string): Promise<ApprovalRequest> {
  await expireDueApprovals(ctx);
  const row = await loadApproval(ctx.db, id);
  // Same answer for a request that does not exist and one the viewer may not see.
  if (!row || !mayView(viewer, row, ctx.now())) throw notFound('The approval request');
  return presentApproval(row, viewer, ctx.now());
}

/** The requests the viewer may decide (or could have), and their own; newest first. */
export async function listApprovals(ctx: ServerContext, viewer: ApprovalViewer, query: ApprovalListQuery): Promise<ApprovalRequest[]> {
  await expireDueApprovals(ctx);
  const now = ctx.now();
  let q = ctx.db.selectFrom('approval_requests').selectAll().orderBy('requested_at', 'desc').orderBy('id').limit(2000);
  if (query.status) q = q.where('status', '=', query.status);
  if (query.mine === 'true' && viewer.kind === 'user') q = q.where('requested_by', '=', viewer.userId);
  const rows = await q.execute();
  return rows.filter((row) => mayView(viewer, row, now)).slice(0, query.limit ?? 200).map((row) => presentApproval(row, viewer, now));
}

/** The requester takes back their own pending request. Anyone else is refused, audited. */
export async function withdrawApproval(ctx: ServerContext, requester: ApprovalRequester, id: string): Promise<ApprovalRequest> {
  await expireDueApprovals(ctx);
  const row = await loadApproval(ctx.db, id);
  if (!row) throw notFound('The approval request');
  const viewer: ApprovalViewer = { kind: 'user', userId: requester.userId, actor: requester.actor, profile: requester.profile };
  if (row.requested_by !== requester.userId) {
    await refuse(ctx, requester.actor, row, 'approval.withdraw', mayView(viewer, row, ctx.now()) ? forbidden('Only the requester can withdraw a request.') : notFound('The approval request'));
  }
  if (row.status === 'expired') await refuse(ctx, requester.actor, row, 'approval.withdraw', approvalExpired());
  if (row.status !== 'pending') await refuse(ctx, requester.actor, row, 'approval.withdraw', approvalClosed(row.status));
  const now = ctx.now();
  const done = await ctx.db.transaction().execute(async (trx) => {
    const r = await trx.updateTable('approval_requests').set({ status: 'withdrawn', decided_at: now, decided_by: requester.userId, decided_by_label: requester.actor.label })
      .where('id', '=', id).where('status', '=', 'pending').executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return false;
    await auditApproval(trx, requester.actor, row, { action: 'approval.withdraw', outcome: 'ok' }, now);
    return true;
  });
  const after = (await loadApproval(ctx.db, id))!;
  if (!done) await refuse(ctx, requester.actor, row, 'approval.withdraw', approvalClosed(after.status));
  return presentApproval(after, viewer, now);
}

/** Permissions as stored on a request. */
export const storedHandsOut = (row: ApprovalRow) => parseJsonList<Permission>(row.hands_out);
