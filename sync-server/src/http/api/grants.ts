import { GrantCreate } from '@depotline/shared';
import { z } from 'zod';
import { createGrant, revokeGrant } from '../../access/grants';
import { type Endpoint, endpoint } from '../endpoint';

/**
 * Grants, for managers and admins. Whether the caller may grant a role is decided per
 * location inside `createGrant` (nobody grants more than they hold), so no single permission
 * check stands on these endpoints.
 */
export function grantEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'post',
      path: '/grants',
      body: GrantCreate,
      status: 201,
      handle: ({ ctx, caller, input }) => createGrant(ctx, { kind: 'user', actor: caller.actor, profile: caller.profile }, input.body),
      present: (grant) => ({ grant }),
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
