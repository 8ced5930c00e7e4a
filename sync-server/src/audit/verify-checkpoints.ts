import path from 'node:path';
import type { Kysely } from 'kysely';
import type { NoteVerifier } from '../crypto/signed-note';
import type { Database } from '../db/schema';
import { anchorNoteProblem, type AuditAnchor, hashAtSize } from './anchor';
import { type Checkpoint, type CheckpointFileProblem, listCheckpointFiles, readCheckpoint } from './checkpoint-files';
import { type AuditVerifyResult, verifyAuditChain, type VerifyOptions } from './verify';

/**
 * What can be wrong with the checkpoints, each reported on its own:
 *
 * - `mismatch`: a valid checkpoint's signed hash differs from the log's hash at its size: the
 *   log was rewritten after it was signed (the whole table and head re-hashed included).
 * - `beyond_log`: a valid checkpoint is larger than the log: entries were removed, or the
 *   database was restored from an older backup.
 * - `unverifiable`: the chain is already broken before this checkpoint's size.
 * - `unknown_key`: signed by a key that is not a trusted checkpoint key (not ours, or an old
 *   key missing from DEPOTLINE_CHECKPOINT_TRUSTED_KEYS).
 * - `bad_signature`: signed in the name of a trusted key, but the signature does not verify:
 *   the file was edited.
 * - `wrong_origin`: validly signed, but for another log.
 * - `malformed`: not a signed checkpoint at all (cut short, edited, another format).
 * - `missing_file`: the database records a checkpoint whose file is gone from the directory.
 * - `unsigned_anchor`: the log was pruned, but no valid checkpoint signed at the anchor's
 *   boundary holds its hash, or the anchor's signed note is missing or states another anchor:
 *   the prefix was deleted by someone who does not hold the checkpoint key.
 */
export type CheckpointProblemKind = CheckpointFileProblem | 'mismatch' | 'beyond_log' | 'unverifiable' | 'missing_file' | 'unsigned_anchor';

export interface CheckpointProblem {
  kind: CheckpointProblemKind;
  file: string;
  size: number | null;
  detail: string;
}

export interface CheckpointReport {
  dir: string;
  /** Checkpoints whose signature verified and whose hash matches the log. */
  matched: number;
  /** The largest matching checkpoint; entries after it are covered by no checkpoint yet. */
  latest: { size: number; file: string } | null;
  /** Entries the latest checkpoint does not cover. */
  uncovered: number;
  /** Valid checkpoints of a pruned prefix (below the anchor): signatures checked, hashes gone with the entries. */
  pruned: number;
  problems: CheckpointProblem[];
}

export interface AuditLogVerifyResult {
  ok: boolean;
  chain: AuditVerifyResult;
  checkpoints: CheckpointReport;
}

export interface CheckpointSource {
  dir: string;
  /** The keys whose checkpoints count; a checkpoint signed by any other key is `unknown_key`. */
  verifiers: readonly NoteVerifier[];
}

/** The hash chain, then every checkpoint against it: a rewrite of table and head together fails the second. */
export async function verifyAuditLog(db: Kysely<Database>, source: CheckpointSource, options: VerifyOptions = {}): Promise<AuditLogVerifyResult> {
  const chain = await verifyAuditChain(db, options);
  const checkpoints = await verifyCheckpoints(db, chain, source);
  return { ok: chain.ok && checkpoints.problems.length === 0, chain, checkpoints };
}

export async function verifyCheckpoints(db: Kysely<Database>, chain: AuditVerifyResult, source: CheckpointSource): Promise<CheckpointReport> {
  const problems: CheckpointProblem[] = [];
  const head = await db.selectFrom('audit_head').select('seq').where('id', '=', 1).executeTakeFirst();
  const logSize = chain.ok ? chain.entries : Number(head?.seq ?? chain.entries);
  const files = listCheckpointFiles(source.dir);
  const valid: (Checkpoint & { file: string })[] = [];

  for (const file of files) {
    const read = readCheckpoint(path.join(source.dir, file), source.verifiers);
    if ('problem' in read) problems.push({ file, size: read.size, kind: read.problem, detail: read.detail });
    else valid.push({ ...read.checkpoint, file });
  }

  let latest: CheckpointReport['latest'] = null;
  let matched = 0;
  let pruned = 0;
  const anchor = chain.anchor ?? null;
  for (const c of valid) {
    if (anchor && c.size < anchor.firstSeq - 1) {
      pruned++;
      continue;
    }
    const problem = await compareWithLog(db, c, chain, logSize, anchor);
    if (problem) {
      problems.push({ file: c.file, size: c.size, ...problem });
      continue;
    }
    matched++;
    if (!latest || c.size > latest.size) latest = { size: c.size, file: c.file };
  }

  const present = new Set(files);
  const recorded = await db.selectFrom('audit_checkpoints').select(['size', 'file', 'signed_at']).orderBy('size').execute();
  for (const r of recorded) {
    if (!present.has(r.file)) {
      problems.push({
        kind: 'missing_file',
        file: r.file,
        size: Number(r.size),
        detail: `The checkpoint signed at size ${Number(r.size)} on ${new Date(Number(r.signed_at)).toISOString()} is missing from ${source.dir}: it was deleted or moved.`,
      });
    }
  }
  if (anchor) problems.push(...anchorProblems(anchor, valid, source));
  return { dir: source.dir, matched, latest, uncovered: Math.max(0, logSize - (latest?.size ?? 0)), pruned, problems };
}

/** A prune's anchor stands only on what the checkpoint key signed: the checkpoint at its boundary and its own note. */
function anchorProblems(anchor: AuditAnchor, valid: readonly (Checkpoint & { file: string })[], source: CheckpointSource): CheckpointProblem[] {
  const size = anchor.firstSeq - 1;
  const out: CheckpointProblem[] = [];
  if (!valid.some((c) => c.size === size && c.rootHash === anchor.prevHash)) {
    out.push({ kind: 'unsigned_anchor', file: anchor.checkpointFile, size, detail: `The log was pruned up to seq ${size}, but no valid checkpoint signed at that size holds the anchor's hash.` });
  }
  const problem = anchorNoteProblem(source.dir, anchor, source.verifiers);
  if (problem) {
    out.push({ kind: 'unsigned_anchor', file: anchor.noteFile, size, detail: `The signed note of the anchor at seq ${anchor.firstSeq} does not vouch for it: ${problem}.` });
  }
  return out;
}

async function compareWithLog(
  db: Kysely<Database>, c: Checkpoint, chain: AuditVerifyResult, logSize: number, anchor: AuditAnchor | null,
): Promise<Omit<CheckpointProblem, 'file' | 'size'> | null> {
  if (c.size > logSize) {
    return {
      kind: 'beyond_log',
      detail: `Signed at size ${c.size}, but the log's head is at ${logSize}: entries after ${logSize} were removed (or the database was restored from an older backup).`,
    };
  }
  if (!chain.ok && c.size > chain.entries) {
    return { kind: 'unverifiable', detail: `Cannot be compared: the chain is already broken at seq ${chain.firstBroken.seq}.` };
  }
  const hash = await hashAtSize(db, c.size, anchor);
  if (hash !== c.rootHash) {
    return {
      kind: 'mismatch',
      detail: `The log's hash at seq ${c.size} is not the one signed at that size: the log was rewritten after the checkpoint (the table and its head re-hashed together).`,
    };
  }
  return null;
}
