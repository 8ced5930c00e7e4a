import type { RequestHandler } from 'express';
import type { ServerContext } from '../context';
import { unauthenticated } from '../errors';
import { setPrincipal } from '../http/pipeline';
import { authenticateAccessToken } from './access-tokens';

/** `last_seen_at` (the idle clock) is written at most this often per session. */
export const lastSeenResolutionMs = 60_000;

/**
 * What this process last knew of each session's `last_seen_at`, so most requests need no
 * write. Keyed by context (no module-level state shared between servers in one process).
 */
const knownLastSeen = new WeakMap<ServerContext, Map<string, number>>();

/**
 * Records activity on a session for the idle timeout. At most one write per minute per session:
 * the update is conditional in the database too, so several server processes agree.
 */
export async function touchSession(ctx: ServerContext, sessionId: string): Promise<void> {
  let known = knownLastSeen.get(ctx);
  if (!known) {
    known = new Map();
    knownLastSeen.set(ctx, known);
  }
  const now = ctx.now();
  const last = known.get(sessionId);
  if (last !== undefined && last <= now && now - last < lastSeenResolutionMs) return;
  const updated = await ctx.db.updateTable('sessions')
    .set({ last_seen_at: now })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .where('last_seen_at', '<=', now - lastSeenResolutionMs)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) > 0) {
    known.set(sessionId, now);
  } else {
    const row = await ctx.db.selectFrom('sessions').select('last_seen_at').where('id', '=', sessionId).executeTakeFirst();
    if (row) known.set(sessionId, row.last_seen_at);
  }
  if (known.size > 50_000) {
    const horizon = now - ctx.config.sessionIdleTimeoutS * 1000;
    for (const [id, seen] of known) if (seen < horizon) known.delete(id);
  }
}

// RFC 7235: the scheme name is case-insensitive; the token is RFC 6750's b64token.
const bearer = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;

/**
 * REST authentication: `Authorization: Bearer <access token>` only. A token in the query
 * string or body is never read: URLs land in proxy and server logs (RFC 6750 section 5.3).
 * The idle check happens in `authenticateAccessToken` before the touch, so an idle session
 * cannot be revived by using it.
 */
export function requireAuth(ctx: ServerContext): RequestHandler {
  return (req, _res, next) => {
    const match = req.headers.authorization ? bearer.exec(req.headers.authorization) : null;
    if (!match) {
      next(unauthenticated());
      return;
    }
    authenticateAccessToken(ctx, match[1]!)
      .then(async (principal) => {
        setPrincipal(req, principal);
        await touchSession(ctx, principal.sessionId);
      })
      .then(() => next(), next);
  };
}
