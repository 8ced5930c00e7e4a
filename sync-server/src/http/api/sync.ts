import { EntityId, maxPullLimit, PushRequest } from '@depotline/shared';
import { z } from 'zod';
import { listLocationAccess } from '../../access/access-profile';
import { withRetention } from '../../retention/policy';
import type { LiveFeed } from '../../sync/mutations/handler';
import { pullChanges } from '../../sync/pull';
import { pushMutations } from '../../sync/push';
import { loadViewerScope } from '../../sync/visibility';
import { type Endpoint, endpoint } from '../endpoint';

const PullQuery = z.object({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(maxPullLimit).optional(),
});

/**
 * The sync protocol over REST, for integrations and clients without a socket. Same checks,
 * same answers as the socket events (docs/api.md, docs/sync-protocol.md).
 */
export function syncEndpoints(live: LiveFeed): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/locations',
      handle: async ({ ctx, caller, now }) => withRetention(ctx, await listLocationAccess(ctx.db, caller.profile, now)),
      present: (locations) => ({ locations }),
    }),
    endpoint({
      method: 'get',
      path: '/locations/:locationId/changes',
      params: z.object({ locationId: EntityId }),
      query: PullQuery,
      authorize: ({ params }) => ({ permission: 'location.read', locationId: params.locationId, action: 'sync.pull', assignedToCaller: true }),
      handle: async ({ ctx, caller, input: { params, query }, now }) =>
        pullChanges(ctx, await loadViewerScope(ctx.db, caller.profile, params.locationId, now), { locationId: params.locationId, ...query }),
    }),
    endpoint({
      method: 'post',
      path: '/sync/push',
      body: PushRequest,
      // Each mutation is authorized on its own inside the push: a refusal affects only it.
      handle: ({ ctx, caller, input }) => pushMutations(ctx, live, caller, input.body.mutations),
    }),
  ];
}
