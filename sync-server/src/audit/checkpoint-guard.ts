import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { NoteVerifier } from '../crypto/signed-note';
import type { Database } from '../db/schema';
import { anchorNoteProblem, hashAtSize, readAuditAnchor } from './anchor';
import { checkpointFileKeyId, listCheckpointFiles, readCheckpoint } from './checkpoint-files';

/**
 * What a new checkpoint must extend (docs/security-model.md, "An insider with database access").
 * The signer never trusts one place alone: the register (`audit_checkpoints`) can be emptied by
 * whoever owns the database, and files can be deleted from the directory. So every checkpoint
 * either place holds counts, whichever trusted key signed it (the current one or an earlier one
 * still listed in DEPOTLINE_CHECKPOINT_TRUSTED_KEYS), and the two must agree:
 *
 * - a row whose file is gone: refused (the signed evidence was removed);
 * - a file with no row: read and checked like any other; if it is validly signed and the log
 *   still has its hash, the row is recorded again (a crash between writing the file and the
 *   row leaves exactly this); otherwise refused;
 * - the newest file in the directory, by size, must be a valid checkpoint of a trusted key;
 * - every row and every file read must match the log's hash at its size.
 *
 * Only the newest files and those missing a row are read and verified, and the rows are compared
 * with the log in one query, so a long history costs a directory listing and one scan of the
 * register, not a signature check per file.
 */

/** A checkpoint the next one must extend: from a signed file or from a row of the register. */
export interface KnownCheckpoint {
  size: number;
  rootHash: string;
  file: string;
  keyId: string;
}

export type CheckpointGuard =
  | { ok: true; known: KnownCheckpoint[]; newest: KnownCheckpoint | null; unrecorded: (KnownCheckpoint & { origin: string })[] }
  | { ok: false; detail: string };

function sizeOfFile(name: string): number {
  return Number(name.slice(0, name.indexOf('-')));
}

export async function checkpointsToExtend(db: Kysely<Database>, dir: string, verifiers: readonly NoteVerifier[]): Promise<CheckpointGuard> {
  // The register first, then the directory: a checkpoint signed meanwhile (file first, row
  // second) then shows up as a file without a row, which is checked, never as a row without a file.
  const rows = await db.selectFrom('audit_checkpoints').select(['size', 'key_id', 'root_hash', 'file']).execute();
  const names = listCheckpointFiles(dir);
  const present = new Set(names);
  const lost = rows.find((r) => !present.has(r.file));
  if (lost) {
    return {
      ok: false,
      detail: `The checkpoint signed at size ${Number(lost.size)} (${lost.file}) is in the database's register but missing from ${dir}: it was deleted or moved. Restore it from a copy; signing resumes once it is back.`,
    };
  }
  const recorded = new Set(rows.map((r) => r.file));
  const known: KnownCheckpoint[] = rows.map((r) => ({ size: Number(r.size), rootHash: r.root_hash, file: r.file, keyId: r.key_id }));
  const largest = names.reduce((max, n) => Math.max(max, sizeOfFile(n)), -1);
  const unrecorded: (KnownCheckpoint & { origin: string })[] = [];
  // Checkpoints below a prune's anchor signed entries that are gone: their signatures are still
  // checked, their hashes no longer can be (the one at the anchor's boundary is the anchor's).
  const anchor = await readAuditAnchor(db);
  const unvouched = anchor && anchorNoteProblem(dir, anchor, verifiers);
  if (unvouched) {
    return { ok: false, detail: `The audit log was pruned up to seq ${anchor.firstSeq - 1}, but its anchor is not vouched for by a note signed with the checkpoint key (${unvouched}): the prefix was deleted outside an anchored prune.` };
  }

  for (const name of names.filter((n) => !recorded.has(n) || sizeOfFile(n) === largest)) {
    const read = readCheckpoint(path.join(dir, name), verifiers);
    if ('problem' in read) {
      const hint = read.problem === 'unknown_key'
        ? ' If it is an earlier key of this server, add its verifier key to DEPOTLINE_CHECKPOINT_TRUSTED_KEYS; otherwise the directory was tampered with.'
        : ' The checkpoint directory was tampered with.';
      return { ok: false, detail: `${name} (${recorded.has(name) ? 'the newest checkpoint' : 'not in the database\'s register'}) is not a valid checkpoint: ${read.problem}. ${read.detail}${hint}` };
    }
    const checkpoint: KnownCheckpoint = { size: read.checkpoint.size, rootHash: read.checkpoint.rootHash, file: name, keyId: checkpointFileKeyId(name) };
    const hash = await hashAtSize(db, checkpoint.size, anchor);
    if (hash !== checkpoint.rootHash && hash !== null) {
      return {
        ok: false,
        detail: hash === undefined
          ? `${name} was signed at size ${checkpoint.size}, but the log has no entry ${checkpoint.size}: entries were removed.`
          : `Entry ${checkpoint.size} no longer has the hash signed in ${name}: the log was rewritten after that checkpoint.`,
      };
    }
    known.push(checkpoint);
    if (!recorded.has(name)) unrecorded.push({ ...checkpoint, origin: read.checkpoint.origin });
  }

  const mismatch = await db.selectFrom('audit_checkpoints as c')
    .leftJoin('audit_log as l', 'l.seq', 'c.size')
    .select(['c.size', 'c.file', 'l.hash'])
    .where('c.size', '>', 0)
    .where('c.size', '>=', anchor?.firstSeq ?? 0)
    .where((eb) => eb.or([eb('l.hash', 'is', null), eb('l.hash', '!=', eb.ref('c.root_hash'))]))
    .orderBy('c.size').limit(1).executeTakeFirst();
  if (mismatch) {
    return {
      ok: false,
      detail: mismatch.hash === null
        ? `The checkpoint at size ${Number(mismatch.size)} (${mismatch.file}) is beyond the log: entries were removed.`
        : `Entry ${Number(mismatch.size)} no longer has the hash recorded for the checkpoint at that size (${mismatch.file}): the log was rewritten after that checkpoint.`,
    };
  }
  const boundary = anchor ? rows.find((r) => Number(r.size) === anchor.firstSeq - 1 && r.root_hash !== anchor.prevHash) : undefined;
  if (boundary) {
    return { ok: false, detail: `The checkpoint at size ${Number(boundary.size)} (${boundary.file}) does not hold the hash the prune's anchor keeps: the anchor or the register was altered.` };
  }
  const newest = known.reduce<KnownCheckpoint | null>((max, c) => (!max || c.size > max.size ? c : max), null);
  return { ok: true, known, newest, unrecorded };
}

/** Records the rows of checked files that had none (written, then the row lost to a crash or deleted). */
export async function recordUnrecorded(db: Kysely<Database>, unrecorded: readonly (KnownCheckpoint & { origin: string })[], dir: string): Promise<void> {
  for (const c of unrecorded) {
    const signedAt = Math.round(fs.statSync(path.join(dir, c.file)).mtimeMs);
    await db.insertInto('audit_checkpoints')
      .values({ size: c.size, key_id: c.keyId, key_name: c.origin, root_hash: c.rootHash, file: c.file, signed_at: signedAt })
      .onConflict((oc) => oc.columns(['size', 'key_id']).doNothing())
      .execute();
  }
}
