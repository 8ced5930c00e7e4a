import { type ApprovalRequired, type Grant, GrantCreate, WithApprovalReason } from '@depotline/shared';
import { z } from 'zod';
import { createGrant, revokeGrant } from '../../access/grants';
import { requestApproval } from '../../approvals/requests';
import { type Endpoint, endpoint } from '../endpoint';
import { approvalRequired, requesterOf } from './approvals';

/**
 * Grants, for managers and admins. Whether the caller may grant a role is decided per
 * location inside `createGrant` (nobody grants more than they hold), so no single permission
 * check stands on these endpoints. A grant of admin or manager is a sensitive change: it is not
 * made but requested (`grant.privileged`), and the answer is 202 with the approval request.
 */
export function grantEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'post',
      path: '/grants',
      body: z.intersection(GrantCreate, WithApprovalReason),
      status: (result: { grant: Grant } | ApprovalRequired) => ('approvalRequired' in result ? 202 : 201),
      handle: async ({ ctx, caller, input: { body } }) => {
        const { reason, ...grant } = body;
        if (grant.role === 'admin' || grant.role === 'manager') {
          return approvalRequired(await requestApproval(ctx, requesterOf(caller), { kind: 'grant.privileged', change: grant, reason }));
        }
        return { grant: await createGrant(ctx, { kind: 'user', actor: caller.actor, profile: caller.profile }, grant) };
      },
    }),
    endpoint({
      method: 'delete',
      path: '/grants/:grantId',
      params: z.object({ grantId: z.string().min(1).max(64) }),
      status: 204,
      handle: ({ ctx, caller, input }) => revokeGrant(ctx, { kind: 'user', actor: caller.actor, profile: caller.profile }, input.params.grantId),
    }),
  ];
}
