import {
  ApprovalCreate, ApprovalDecision, ApprovalListQuery, type ApprovalRequest, type ApprovalRequired, EntityId, FactorResetRequest, MfaDisableRequest,
} from '@depotline/shared';
import { z } from 'zod';
import type { Caller } from '../../access/caller';
import type { ApprovalRequester } from '../../approvals/action';
import type { Decider } from '../../approvals/authority';
import { decideApproval } from '../../approvals/decide';
import { getApproval, listApprovals, requestApproval, withdrawApproval } from '../../approvals/requests';
import type { LiveFeed } from '../../sync/mutations/handler';
import { type Endpoint, endpoint } from '../endpoint';

const ApprovalParams = z.object({ id: z.string().min(1).max(64) });
const UserParams = z.object({ userId: EntityId });

export const requesterOf = (caller: Caller): ApprovalRequester => ({ userId: caller.principal.userId, actor: caller.actor, profile: caller.profile });
const deciderOf = (caller: Caller): Decider => ({ kind: 'user', userId: caller.principal.userId, actor: caller.actor, profile: caller.profile });

/** The 202 body of an endpoint whose change now waits for a second person (docs/api.md). */
export const approvalRequired = (approval: ApprovalRequest): ApprovalRequired => ({ approvalRequired: true, approval });

/**
 * Four-eyes approvals (docs/api.md, "Approvals"). Who may see, decide or withdraw a request is
 * decided per request inside approvals/ (the locations it touches, what it hands out), so no
 * single permission check stands on these endpoints.
 */
export function approvalEndpoints(live: LiveFeed | null = null): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/approvals',
      query: ApprovalListQuery,
      handle: ({ ctx, caller, input }) => listApprovals(ctx, deciderOf(caller), input.query),
      present: (approvals) => ({ approvals }),
    }),
    endpoint({
      method: 'get',
      path: '/approvals/:id',
      params: ApprovalParams,
      handle: ({ ctx, caller, input }) => getApproval(ctx, deciderOf(caller), input.params.id),
      present: (approval) => ({ approval }),
    }),
    endpoint({
      method: 'post',
      path: '/approvals',
      body: ApprovalCreate,
      status: 202,
      handle: ({ ctx, caller, input: { body } }) => requestApproval(ctx, requesterOf(caller), body),
      present: approvalRequired,
    }),
    endpoint({
      method: 'post',
      path: '/approvals/:id/approve',
      params: ApprovalParams,
      body: ApprovalDecision,
      handle: ({ ctx, caller, input }) => decideApproval(ctx, deciderOf(caller), input.params.id, { approve: true, note: input.body.note }, live),
      present: (approval) => ({ approval }),
    }),
    endpoint({
      method: 'post',
      path: '/approvals/:id/deny',
      params: ApprovalParams,
      body: ApprovalDecision,
      handle: ({ ctx, caller, input }) => decideApproval(ctx, deciderOf(caller), input.params.id, { approve: false, note: input.body.note }),
      present: (approval) => ({ approval }),
    }),
    endpoint({
      method: 'post',
      path: '/approvals/:id/withdraw',
      params: ApprovalParams,
      handle: ({ ctx, caller, input }) => withdrawApproval(ctx, requesterOf(caller), input.params.id),
      present: (approval) => ({ approval }),
    }),
    /** Removing someone's authenticator always needs a second person: the answer is the request. */
    endpoint({
      method: 'post',
      path: '/users/:userId/mfa/disable',
      params: UserParams,
      body: MfaDisableRequest,
      status: 202,
      handle: ({ ctx, caller, input }) => requestApproval(ctx, requesterOf(caller), { kind: 'user.mfaDisable', change: { userId: input.params.userId }, reason: input.body.reason }),
      present: approvalRequired,
    }),
    endpoint({
      method: 'post',
      path: '/users/:userId/factors/reset',
      params: UserParams,
      body: FactorResetRequest,
      status: 202,
      handle: ({ ctx, caller, input }) => requestApproval(ctx, requesterOf(caller), {
        kind: 'user.factorsReset', change: { userId: input.params.userId, factors: input.body.factors }, reason: input.body.reason,
      }),
      present: approvalRequired,
    }),
  ];
}
