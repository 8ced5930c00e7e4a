import type { ServerContext } from '../context';

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
