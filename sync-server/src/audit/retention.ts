import type { Kysely, Transaction } from 'kysely';
import type { ServerContext } from '../context';
import type { Database } from '../db/schema';

/**
 * Audit-log retention (docs/security-model.md, "Audit retention"): the oldest entries past the
 * audit period are deleted only as a prefix that ends at a signed checkpoint and was verified,
 * and an anchor keeps what verification needs to start after it.
 */

export interface AuditPruneResult {
  /** Entries deleted by this call (0 when nothing was old enough or no checkpoint covers it). */
  deleted: number;
  /** The first seq kept after this prune (the anchor), or null when nothing was pruned. */
  anchorSeq: number | null;
}

export type AuditPruneContext = Pick<ServerContext, 'db' | 'dbKind' | 'config' | 'checkpointKeys' | 'now' | 'log'>;

/**
 * Deletes the audit entries written before `cutoff` (epoch ms) that form a verified prefix ending
 * at a signed checkpoint, leaving an anchor and an `audit.prune` entry. Contract published first;
 * the body follows.
 */
export function pruneAuditLog(_ctx: AuditPruneContext, _cutoff: number): Promise<AuditPruneResult> {
  return Promise.resolve({ deleted: 0, anchorSeq: null });
}

export interface SessionPurgeResult {
  /** Ids of the sessions deleted (for the caller's evidence entry: hash them, never log them). */
  sessionIds: string[];
  /** Refresh tokens deleted with them. */
  refreshTokens: number;
}

/** Sessions per call: the caller loops until fewer come back. */
export const sessionPurgeBatch = 5000;

/**
 * Deletes up to `limit` sessions that ended before `before` (epoch ms; ended = revoked or
 * expired) and their refresh tokens. Run it inside the caller's transaction together with the
 * evidence entry. Contract published first; the body follows.
 */
export function purgeEndedSessions(
  _db: Kysely<Database> | Transaction<Database>, _before: number, _limit = sessionPurgeBatch,
): Promise<SessionPurgeResult> {
  return Promise.resolve({ sessionIds: [], refreshTokens: 0 });
}
