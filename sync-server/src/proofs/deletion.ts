import { appendAuditEntries, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { type ProofRow, loadProof } from './records';
import { proofFileStore } from './storage';

/**
 * Deleting proof of delivery (docs/security-model.md, "Proof of delivery"): only ever through an
 * approved `pod.delete` request (approvals/actions/proof-delete.ts). Deleting destroys the proof's
 * wrapped data key, so its sealed file can never be opened again, wherever a copy of the bytes lies
 * (a backup, a copied data directory); the file itself is removed from the store as well. The row
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
  return { proofId, destroyed: alive.map((r) => r.id) };
}
