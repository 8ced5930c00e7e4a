import type { Kysely } from 'kysely';
import type { ServerContext } from '../context';
import { type NoteSigner, signNote } from '../crypto/signed-note';
import { startLeasedJob } from '../db/job-leases';
import type { Database } from '../db/schema';
import { hashAtSize, readAuditAnchor } from './anchor';
import { appendAudit, type AuditActor, type ChainedFields, genesisHash, hashEntry, systemActor } from './audit-log';
import { type Checkpoint, checkpointFileName, checkpointText, writeOnce } from './checkpoint-files';
import { checkpointsToExtend, recordUnrecorded } from './checkpoint-guard';

/**
 * Signing audit checkpoints (the format and files: checkpoint-files.ts). A checkpoint only ever
 * extends every checkpoint before it, whichever trusted key signed it and whether the database's
 * register or the directory still lists it (checkpoint-guard.ts): a rewrite made after any of
 * them is refused here and reported by `audit verify`, never signed over.
 */

export type CheckpointResult =
  | { status: 'signed' | 'unchanged'; checkpoint: Checkpoint; file: string }
  /**
   * Not signed: the log no longer extends a checkpoint signed before (`detail` says which and
   * where), or the directory and the database's register of checkpoints disagree. Either means
   * the log or its checkpoints were tampered with; signing the current head could vouch for a
   * rewrite.
   */
  | { status: 'refused'; checkpoint: Checkpoint; detail: string };

/**
 * Signs the current head, unless this key already signed it.
 *
 * Before signing, the newest checkpoint known (from the directory, by any trusted key, or from
 * the register) is checked against the log's hash at its size, and the entries after it are
 * re-hashed from that hash up to the head.
 */
export async function signCheckpoint(ctx: Pick<ServerContext, 'db' | 'config' | 'checkpointKeys' | 'now' | 'log'>): Promise<CheckpointResult> {
  const { db } = ctx;
  const { signer, trusted } = ctx.checkpointKeys;
  const dir = ctx.config.checkpoints.dir;
  const guard = await checkpointsToExtend(db, dir, [signer, ...trusted]);
  // Read after the checkpoints: the head only moves forward, so it is never behind one signed meanwhile.
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
  const checkpoint: Checkpoint = { origin: signer.name, size: Number(head.seq), rootHash: head.hash };
  const file = checkpointFileName(checkpoint.size, signer.keyId);
  if (!guard.ok) return { status: 'refused', checkpoint, detail: guard.detail };
  const from = guard.newest ?? { size: 0, rootHash: genesisHash };
  const problem = await extendsFrom(db, { size: from.size, hash: from.rootHash }, checkpoint);
  if (problem) return { status: 'refused', checkpoint, detail: problem };
  if (guard.unrecorded.length > 0) {
    await recordUnrecorded(db, guard.unrecorded, dir);
    ctx.log.info('audit checkpoints recorded again: their files were valid but missing from the register', { files: guard.unrecorded.map((c) => c.file) });
  }
  if (guard.known.some((c) => c.keyId === signer.keyId && c.size === checkpoint.size)) return { status: 'unchanged', checkpoint, file };

  const note = signNote(checkpointText(checkpoint), signer);
  const outcome = writeOnce(dir, file, note);
  if (outcome === 'conflict') {
    return { status: 'refused', checkpoint, detail: `${file} already exists with another hash for size ${checkpoint.size}: the log was rewritten since it was signed.` };
  }
  await recordCheckpoint(db, checkpoint, signer, file, ctx.now());
  return { status: outcome === 'written' ? 'signed' : 'unchanged', checkpoint, file };
}

/**
 * Records a refusal in the audit log (`audit.checkpoint`, outcome `failed`): who asked, at what
 * size, why. Best effort: the refusal stands whether or not it could be recorded.
 */
export async function recordRefusal(ctx: Pick<ServerContext, 'db' | 'now'>, actor: AuditActor, result: CheckpointResult & { status: 'refused' }): Promise<boolean> {
  try {
    await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, {
      action: 'audit.checkpoint', outcome: 'failed', targetType: 'audit_log',
      details: { size: result.checkpoint.size, detail: result.detail },
    }, ctx.now()));
    return true;
  } catch {
    return false;
  }
}

async function recordCheckpoint(db: Kysely<Database>, c: Checkpoint, signer: NoteSigner, file: string, now: number): Promise<void> {
  await db.insertInto('audit_checkpoints')
    .values({ size: c.size, key_id: signer.keyId, key_name: signer.name, root_hash: c.rootHash, file, signed_at: now })
    .onConflict((oc) => oc.columns(['size', 'key_id']).doNothing())
    .execute();
}

const extendBatch = 5000;

/**
 * Re-hashes entries `from.size + 1` to `to.size`, starting from `from.hash`, and checks they end
 * at `to.rootHash`. Returns what is wrong, or null. Reads only what was appended since the newest
 * checkpoint (the whole log only when there is none at all).
 */
async function extendsFrom(db: Kysely<Database>, from: { size: number; hash: string }, to: Checkpoint): Promise<string | null> {
  if (to.size < from.size) return `The head (seq ${to.size}) is behind the newest checkpoint (size ${from.size}): entries were removed.`;
  let prev = from.hash;
  if (from.size > 0) {
    const at = await hashAtSize(db, from.size, await readAuditAnchor(db));
    if (at !== from.hash) return `Entry ${from.size} no longer has the hash signed in the checkpoint at that size: the log was rewritten.`;
  }
  for (let start = from.size + 1; start <= to.size; start += extendBatch) {
    const rows: (ChainedFields & { hash: string })[] = await db.selectFrom('audit_log')
      .select(['seq', 'at', 'actor_user_id', 'actor', 'action', 'outcome', 'target_type', 'target_id', 'location_id', 'details', 'device_id', 'ip', 'prev_hash', 'hash'])
      .where('seq', '>=', start).where('seq', '<=', Math.min(to.size, start + extendBatch - 1)).orderBy('seq').execute();
    let expected = start;
    for (const row of rows) {
      if (Number(row.seq) !== expected) return `Entry ${expected} is missing.`;
      if (row.prev_hash !== prev || hashEntry(row) !== row.hash) return `Entry ${expected} does not extend the chain: it was changed after it was written.`;
      prev = row.hash;
      expected++;
    }
    if (expected <= Math.min(to.size, start + extendBatch - 1)) return `Entry ${expected} is missing.`;
  }
  return prev === to.rootHash ? null : `The head hash does not match entry ${to.size}.`;
}

export const checkpointJob = 'audit-checkpoint';

/**
 * Signs a checkpoint every `intervalS` seconds when the head moved, by the schedule all server
 * processes share, in the process holding the `audit-checkpoint` lease while it signs
 * (db/job-leases.ts). Every process must see the same checkpoint directory: the next signer
 * refuses when the register lists a checkpoint whose file it cannot find. `tick` signs now (under
 * the lease when scheduled). Failures are logged, never thrown: the audit log keeps working, and
 * a refusal (a rewritten log, or checkpoints deleted or altered) is logged as an error and
 * recorded in the audit log, once per reason in each process.
 */
export function startCheckpointSchedule(ctx: ServerContext): { stop(): Promise<void>; tick(): Promise<CheckpointResult | null> } {
  let lastRefusal: string | null = null;
  const signAndReport = async (): Promise<CheckpointResult | null> => {
    try {
      const result = await signCheckpoint(ctx);
      if (result.status === 'refused') {
        ctx.log.error('audit checkpoint refused: the audit log or its checkpoints were tampered with', { size: result.checkpoint.size, detail: result.detail });
        // Recorded once per reason, not on every tick while the reason stands.
        if (result.detail !== lastRefusal) lastRefusal = (await recordRefusal(ctx, systemActor, result)) ? result.detail : null;
      } else {
        lastRefusal = null;
        if (result.status === 'signed') ctx.log.debug('audit checkpoint signed', { size: result.checkpoint.size, file: result.file });
      }
      return result;
    } catch (err) {
      ctx.log.error('audit checkpoint failed', { err: err instanceof Error ? err.message : String(err) });
      return null;
    }
  };
  const intervalS = ctx.config.checkpoints.intervalS;
  if (intervalS <= 0) {
    // On demand only: nothing scheduled, no lease.
    let running: Promise<CheckpointResult | null> | null = null;
    const tick = () => (running ??= signAndReport().finally(() => { running = null; }));
    return { tick, stop: async () => { await running; } };
  }
  const job = startLeasedJob(ctx, { name: checkpointJob, everyMs: intervalS * 1000, failure: 'audit checkpoint failed' }, signAndReport);
  return { tick: () => job.runOnce(), stop: () => job.stop() };
}
