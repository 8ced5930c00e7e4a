import { type ApprovalRequired, type Grant, GrantCreate, WithApprovalReason } from '@depotline/shared';
import { z } from 'zod';
import { findGroup } from '../../access/group-records';
import { createGrant, groupGrantNeedsSecondPerson, revokeGrant } from '../../access/grants';
import { requestApproval } from '../../approvals/requests';
import { type Endpoint, endpoint } from '../endpoint';
import { approvalRequired, requesterOf } from './approvals';

/**
 * Grants, for managers and admins. Whether the caller may grant a role is decided per
 * location inside `createGrant` (nobody grants more than they hold), so no single permission
 * check stands on these endpoints. A grant of admin or manager, or of a group holding a sensitive
 * permission or denying one the grantee holds (`groupGrantNeedsSecondPerson`), is a sensitive change: it is not made but requested
 * (`grant.privileged`), and the answer is 202 with the approval request. A group judged not to
 * need approval is granted only at the version judged (a group widened meanwhile: 409).
 */
export function grantEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'post',
      path: '/grants',
      body: z.intersection(GrantCreate, WithApprovalReason),
      status: (result: { grant: Grant } | ApprovalRequired) => ('approvalRequired' in result ? 202 : 201),
      handle: async ({ ctx, caller, input: { body }, now }) => {
        const { reason, ...grant } = body;
        if (grant.role === 'admin' || grant.role === 'manager') {
          return approvalRequired(await requestApproval(ctx, requesterOf(caller), { kind: 'grant.privileged', change: grant, reason }));
        }
        const group = grant.groupId === undefined ? null : await findGroup(ctx.db, { id: grant.groupId });
        if (group && await groupGrantNeedsSecondPerson(ctx.db, group, { userId: grant.userId, locationIds: [...new Set(grant.locationIds)] }, now)) {
          const change = { userId: grant.userId, groupId: group.id, groupVersion: group.version, locationIds: grant.locationIds, expiresAt: grant.expiresAt };
          return approvalRequired(await requestApproval(ctx, requesterOf(caller), { kind: 'grant.privileged', change, reason }));
        }
        const granter = { kind: 'user' as const, actor: caller.actor, profile: caller.profile };
        return { grant: await createGrant(ctx, granter, grant, group ? { groupVersion: group.version, judgedDirect: true } : {}) };
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
