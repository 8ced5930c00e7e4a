import { type ClientToServerEvents, clientEventSchemas } from '@depotline/shared';
import type { z } from 'zod';
import { listLocationAccess } from '../access/access-profile';
import { withRetention } from '../retention/policy';
import type { AuthorizationRequest } from '../access/authorize';
import type { Caller } from '../access/caller';
import { authenticateAccessToken } from '../auth/access-tokens';
import type { Principal } from '../auth/principal';
import type { ServerContext } from '../context';
import { unauthenticated } from '../errors';
import type { LiveFeed } from '../sync/mutations/handler';
import { pullChanges } from '../sync/pull';
import { pushMutations } from '../sync/push';
import { loadViewerScope } from '../sync/visibility';

/**
 * Client events, one entry each: the schema its payload is parsed with, the permission check
 * (audited when it refuses), and the handler. The socket server runs every event through the
 * same steps as a REST endpoint: session re-check and rate limit, parse, authorize, handle
 * (docs/architecture.md, docs/sync-protocol.md).
 */

export type ClientEvent = keyof ClientToServerEvents;
type AckData<E extends ClientEvent> = Extract<Parameters<Parameters<ClientToServerEvents[E]>[1]>[0], { ok: true }>['data'];
type Payload<E extends ClientEvent> = z.output<(typeof clientEventSchemas)[E]>;

export interface EventCall {
  ctx: ServerContext;
  caller: Caller;
  now: number;
  /** Swaps in a renewed principal and token for the socket (auth:renew). */
  renew: (principal: Principal, token: string) => void;
}

export interface EventHandler<E extends ClientEvent> {
  schema: (typeof clientEventSchemas)[E];
  authorize?: (payload: Payload<E>) => AuthorizationRequest;
  handle(call: EventCall, payload: Payload<E>): Promise<AckData<E>>;
}

export type EventTable = { readonly [E in ClientEvent]: EventHandler<E> };

export function syncEvents(live: LiveFeed): EventTable {
  return {
    'sync:locations': {
      schema: clientEventSchemas['sync:locations'],
      handle: async ({ ctx, caller, now }) => withRetention(ctx, await listLocationAccess(ctx.db, caller.profile, now)),
    },
    'sync:pull': {
      schema: clientEventSchemas['sync:pull'],
      authorize: (req) => ({ permission: 'location.read', locationId: req.locationId, action: 'sync.pull', assignedToCaller: true }),
      handle: async ({ ctx, caller, now }, req) => pullChanges(ctx, await loadViewerScope(ctx.db, caller.profile, req.locationId, now), req),
    },
    'sync:push': {
      schema: clientEventSchemas['sync:push'],
      // Each mutation is authorized on its own inside the push: a refusal affects only it.
      handle: ({ ctx, caller }, req) => pushMutations(ctx, live, caller, req.mutations),
    },
    'auth:renew': {
      schema: clientEventSchemas['auth:renew'],
      async handle({ ctx, caller: { principal }, renew }, req) {
        const renewed = await authenticateAccessToken(ctx, req.accessToken);
        if (renewed.sessionId !== principal.sessionId || renewed.userId !== principal.userId) throw unauthenticated('The new token belongs to another session.');
        renew(renewed, req.accessToken);
        return { expiresAt: renewed.accessExpiresAt };
      },
    },
  };
}
