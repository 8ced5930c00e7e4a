import { sql } from 'kysely';
import { appendAuditEntries, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { type Db, rawDatabaseOf } from '../db/database';
import { type ProofRow, loadProof } from './records';
import { proofFileStore } from './storage';

/**
 * Deleting proof of delivery (docs/security-model.md, "Proof of delivery"): only ever through an
 * approved `pod.delete` request (approvals/actions/proof-delete.ts). Deleting destroys the proof's
 * wrapped data key, so its sealed file no longer opens from the live database, wherever a copy of
 * the bytes lies; the file itself is removed from the store as well. A database backup taken
 * before the deletion still holds the wrapped key (docs/security-model.md, "Known gaps"). The row
 * stays as the record that a proof existed and who destroyed it, and when.
 *
 * A redacted copy (`derived_from`) shows what its original showed, less the blurred regions: it goes
 * with its original unless the request keeps copies (the original goes, the blurred copy stays).
 * Deleting a copy alone leaves the original.
 */

/** The proof and every copy made from it (and copies of copies), oldest first; destroyed ones included. */
export async function proofWithCopies(db: Db, proof: ProofRow): Promise<ProofRow[]> {
  const out = [proof];
  let frontier = [proof.id];
  while (frontier.length > 0 && out.length < 1000) {
    const next = await db.selectFrom('proofs').selectAll().where('derived_from', 'in', frontier).orderBy('server_time').orderBy('id').execute();
    out.push(...next);
    frontier = next.map((r) => r.id);
  }
  return out;
}

export interface DestroyedProofs {
  proofId: string;
  /** Every proof whose key was destroyed now: the proof and its copies still alive. */
  destroyed: string[];
}

/**
 * Destroys a proof (and its copies, unless kept) in the caller's transaction, one `pod.delete` audit entry each.
 * The stored files are removed last; a file left behind by a crash is sealed under a key that no
 * longer exists, so it is noise, not data.
 */
export async function destroyProof(
  ctx: ServerContext, trx: Db, actor: AuditActor, target: { proofId: string; keepCopies?: boolean | undefined }, now: number, approvalId: string,
): Promise<DestroyedProofs> {
  const { proofId } = target;
  const proof = await loadProof(trx, proofId);
  if (!proof) return { proofId, destroyed: [] };
  const alive = (target.keepCopies ? [proof] : await proofWithCopies(trx, proof)).filter((r) => r.deleted_at === null);
  for (const row of alive) {
    await trx.updateTable('proofs').set({ wrapped_key: null, deleted_at: now, deleted_by: actor.label })
      .where('id', '=', row.id).where('deleted_at', 'is', null).execute();
  }
  await appendAuditEntries(trx, alive.map((row) => ({
    actor,
    event: {
      action: 'pod.delete', outcome: 'ok', targetType: 'proof', targetId: row.id, locationId: row.location_id,
      details: {
        stopId: row.stop_id, kind: row.kind, approvalId, sha256: row.sha256,
        ...(row.id === proofId ? {} : { copyOf: row.derived_from }),
      },
    },
  })), now);
  const store = proofFileStore(ctx);
  for (const row of alive) if (row.storage_key !== null) await store.delete(row.storage_key);
  if (alive.length > 0) checkpointAfterCommit(ctx);
  return { proofId, destroyed: alive.map((r) => r.id) };
}

/**
 * SQLite keeps the page that held a destroyed wrapped key in its -wal file until a checkpoint; a
 * truncating checkpoint once the deletion has committed leaves no copy of it in the live files.
 * Queued on the server's own connection, it runs when the caller's transaction has let go of it.
 * Best effort: a busy or failed checkpoint is logged (the next automatic one copies the page over).
 * PostgreSQL keeps the old row version until VACUUM, and its WAL archives and backups keep it
 * longer: docs/security-model.md, "Known gaps".
 */
export function checkpointAfterCommit(ctx: ServerContext): void {
  const raw = rawDatabaseOf(ctx.db);
  if (raw?.kind !== 'sqlite' || raw.file === ':memory:') return;
  void sql<{ busy: number; log: number; checkpointed: number }>`PRAGMA wal_checkpoint(TRUNCATE)`.execute(ctx.db).then(
    (result) => {
      const row = result.rows[0];
      if (row && Number(row.busy) !== 0) ctx.log.info('WAL checkpoint after a proof deletion was busy: the destroyed key stays in the -wal file until the next one');
      else ctx.log.debug('WAL checkpointed after a proof deletion');
    },
    (err: unknown) => ctx.log.error('WAL checkpoint after a proof deletion failed', { error: err instanceof Error ? err.message : String(err) }),
  );
}
