import type { SessionInfo } from '@depotline/shared';
import { z } from 'zod';
import { mayRevokeSessionsOf } from '../../access/authorize';
import { findSession, listSessions, revokeSession } from '../../auth/sessions';
import { notFound } from '../../errors';
import { type Endpoint, endpoint } from '../endpoint';

/** The caller's own sessions, and other users' for holders of `session.revokeAny` (ASVS 3.3.4). */
export function sessionEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/sessions',
      handle: ({ ctx, caller: { principal } }): Promise<SessionInfo[]> => listSessions(ctx, principal.userId, principal.sessionId),
      present: (sessions) => ({ sessions }),
    }),
    /**
     * Ends one of the caller's sessions, or anyone's within the caller's reach. For others, a
     * session that exists and one that does not get the same 404 (OWASP API1), and the attempt
     * is audited as denied.
     */
    endpoint({
      method: 'delete',
      path: '/sessions/:sessionId',
      params: z.object({ sessionId: z.string().min(1).max(64) }),
      status: 204,
      handle: async ({ ctx, caller, input: { params }, now, audit }) => {
        const session = await findSession(ctx, params.sessionId);
        const own = session?.userId === caller.principal.userId;
        const allowed = own || (session !== null && await mayRevokeSessionsOf(ctx.db, caller.profile, session.userId, now));
        if (!allowed || !session) {
          if (!allowed) audit({ action: 'session.revoke', outcome: 'denied', targetType: 'session', targetId: params.sessionId, details: { permission: 'session.revokeAny' } });
          throw notFound('The session');
        }
        await revokeSession(ctx, caller.actor, params.sessionId, own ? 'revoked_by_user' : 'revoked_by_admin');
      },
    }),
  ];
}
