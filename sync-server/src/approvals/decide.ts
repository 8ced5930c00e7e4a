import { type ApprovalRequest, type Permission, parseSensitiveChange, type SensitiveActionKind, type SensitiveChange } from '@depotline/shared';
import { type AccessProfile, loadAccessProfile } from '../access/access-profile';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import type { LiveFeed } from '../sync/mutations/handler';
import { AppError, asAppError, forbidden, notFound } from '../errors';
import type { SensitiveActionHandler } from './action';
import { type ApprovalRow, type Decider, handlerOf, isSensitiveActionKind, missingAuthority, parseJsonList, presentApproval } from './authority';
import { approvalClosed, approvalExpired, auditApproval, refuse } from './approval-audit';
import { expireDueApprovals, loadApproval } from './requests';

export const approvalOwnRequest = () => new AppError('approval_own_request', 403, 'You asked for this change: another person must decide it.');
export const approvalStale = (why: string) => new AppError('approval_stale', 409, `The change is no longer valid, so nothing was applied: ${why}.`);

/** Thrown inside the decision's transaction to undo it; audited and answered after the rollback. */
class Refusal extends Error {
  constructor(readonly error: AppError, readonly details: Record<string, unknown> = {}) {
    super(error.message);
  }
}

export interface DecisionInput {
  approve: boolean;
  note?: string;
}

const union = <T>(a: readonly T[], b: readonly T[]): T[] => [...new Set([...a, ...b])].sort();

/**
 * Approves or denies a pending request (docs/security-model.md, "Four-eyes approvals").
 *
 * Refused, audited and with nothing changed: a request already decided, withdrawn or expired;
 * the requester deciding their own request (from any session or device: the user id decides);
 * the user the change is about; anyone lacking `approval.decide`, or any permission the change
 * hands out, at any location it touches, judged on the locations and permissions recorded at
 * request time *and* as the database says now.
 *
 * Approval takes the request with a conditional UPDATE (`status = 'pending'`, not expired), so
 * of two approvers at once only one wins; then, in the same transaction, it checks again that
 * the requester may still ask for the change and that the change still holds, and applies it.
 * A change that went stale marks the request `stale` (audited) and applies nothing; a change
 * whose apply fails leaves no decision behind.
 */
export async function decideApproval(ctx: ServerContext, decider: Decider, id: string, input: DecisionInput, live: LiveFeed | null = null): Promise<ApprovalRequest> {
  const action = input.approve ? 'approval.approve' : 'approval.deny';
  await expireDueApprovals(ctx);
  const row = await loadApproval(ctx.db, id);
  if (!row) throw notFound('The approval request');
  const { actor } = decider;
  if (row.status === 'expired') await refuse(ctx, actor, row, action, approvalExpired());
  if (row.status !== 'pending') await refuse(ctx, actor, row, action, approvalClosed(row.status));
  if (decider.kind === 'user' && decider.userId === row.requested_by) await refuse(ctx, actor, row, action, approvalOwnRequest());
  if (!isSensitiveActionKind(row.kind)) await refuse(ctx, actor, row, action, approvalStale(`the server no longer knows changes of kind ${row.kind}`));

  const afterCommit: (() => Promise<void> | void)[] = [];
  try {
    const outcome = await ctx.db.transaction().execute(async (trx) => {
      const now = ctx.now();
      const kind = row.kind as SensitiveActionKind;
      const handler = handlerOf(kind);
      const parsed = parseSensitiveChange(kind, JSON.parse(row.change));
      const change = parsed.success ? parsed.data : null;

      if (decider.kind === 'user') {
        if (change !== null && handler.subjectUserId(change) === decider.userId) {
          throw new Refusal(forbidden('The change is about you: another person must decide it.'), { subject: true });
        }
        const touches = change === null ? parseJsonList(row.location_ids) : union(parseJsonList(row.location_ids), await handler.touches(trx, change, now));
        const handsOut = change === null ? parseJsonList<Permission>(row.hands_out) : union(parseJsonList<Permission>(row.hands_out), await handler.handsOut(trx, change, now));
        const missing = missingAuthority(decider.profile, touches, handsOut, now);
        if (missing) {
          throw new Refusal(forbidden('You need approval.decide and every permission this change hands out, at every location it touches.'), { permission: missing.permission, locationId: missing.locationId });
        }
      }

      // Take the request: the one conditional UPDATE two concurrent approvers race on.
      const taken = await trx.updateTable('approval_requests')
        .set({
          status: input.approve ? 'approved' : 'denied', decided_at: now, decided_by: decider.kind === 'user' ? decider.userId : null,
          decided_by_label: actor.label, decision_note: input.note ?? null,
        })
        .where('id', '=', id).where('status', '=', 'pending').where('expires_at', '>', now)
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) !== 1) {
        const now2 = await loadApproval(trx, id);
        throw new Refusal(now2?.status === 'pending' || now2?.status === 'expired' ? approvalExpired() : approvalClosed(now2?.status ?? 'gone'));
      }

      if (!input.approve) {
        await auditApproval(trx, actor, row, { action, outcome: 'ok', details: { note: input.note ?? null, requestedBy: row.requested_by_label } }, now);
        return { kind: 'decided' as const };
      }

      const requesterActor = { userId: row.requested_by, label: row.requested_by_label, deviceId: null, ip: null };
      const requesterProfile = await loadAccessProfile(trx, row.requested_by, now);
      const stale = change === null ? 'the change no longer matches its schema' : await staleReason(trx, handler, row, requesterProfile, change, now);
      if (stale !== null) {
        await trx.updateTable('approval_requests').set({ status: 'stale', stale_reason: stale }).where('id', '=', id).execute();
        await auditApproval(trx, actor, row, { action: 'approval.stale', outcome: 'failed', details: { staleReason: stale } }, now);
        return { kind: 'stale' as const, reason: stale };
      }
      const applied = handler.apply
        ? await handler.apply({ ctx, trx, requester: requesterActor, requesterProfile, approvalId: id, now, afterCommit: (w) => void afterCommit.push(w), live }, change!)
        : { usableOnceUntil: row.expires_at };
      await auditApproval(trx, actor, row, { action, outcome: 'ok', details: { note: input.note ?? null, requestedBy: row.requested_by_label, applied } }, now);
      return { kind: 'decided' as const };
    });
    if (outcome.kind === 'stale') throw approvalStale(outcome.reason);
  } catch (err) {
    if (err instanceof Refusal) await refuse(ctx, actor, row, action, err.error, err.details);
    if (err instanceof AppError && err.code === 'approval_stale') throw err;
    // The apply failed: the transaction rolled back, so no decision was recorded. Audited as failed.
    const error = asAppError(err);
    await ctx.db.transaction().execute((trx) => auditApproval(trx, actor, row, { action, outcome: 'failed', details: { error: error.code } }, ctx.now()));
    throw err;
  }
  for (const work of afterCommit) {
    try {
      await work();
    } catch (err) {
      ctx.log.error('work after an approved change failed; the change stays applied', { approvalId: id, error: err instanceof Error ? err.message : String(err) });
    }
  }
  const after = (await loadApproval(ctx.db, id))!;
  return presentApproval(after, decider, ctx.now());
}

/** Why the change may no longer be applied, or null: the requester lost the right to ask, or the change no longer holds. */
async function staleReason(
  trx: Db, handler: SensitiveActionHandler<SensitiveActionKind>, row: ApprovalRow, profile: AccessProfile, change: SensitiveChange<SensitiveActionKind>, now: number,
): Promise<string | null> {
  const requester = await trx.selectFrom('users').select(['id', 'disabled_at']).where('id', '=', row.requested_by).executeTakeFirst();
  if (!requester || requester.disabled_at !== null) return 'the requester\u2019s account is disabled';
  const actor = { userId: row.requested_by, label: row.requested_by_label, deviceId: null, ip: null };
  const cannot = await handler.mayRequest(trx, { userId: row.requested_by, actor, profile }, change, now);
  if (cannot !== null) return `the requester may no longer ask for it (${cannot})`;
  return handler.check(trx, change, now);
}
