import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { type NoteVerifier, NoteError, parseSignedNote, verifyNoteSignature } from '../crypto/signed-note';
import type { Database } from '../db/schema';
import { genesisHash } from './audit-log';

/**
 * The anchor of a pruned audit log (audit/retention.ts, migration 0025). The log's tree hashing
 * is a hash chain: the hash of entry n covers entry n and the hash of entry n - 1, so the compact
 * range of a pruned prefix 1..n is one hash, the hash of entry n, which is also the root signed
 * in the checkpoint at size n. An anchor keeps that hash and the first seq kept after it; the
 * chain verification starts there, and checkpoints of any later size still compare with the
 * log exactly as before (their root is the hash of the entry at their size).
 *
 * Several prunes leave several rows; the one with the largest `first_seq` is the anchor in force.
 * Each is signed with the checkpoint key into the checkpoint directory (`anchorNoteText`), so
 * whoever can write the database but does not hold the key cannot make up an anchor that
 * `audit verify` accepts.
 */
export interface AuditAnchor {
  /** The first seq kept: every entry below it was pruned. */
  firstSeq: number;
  /** The hash of entry firstSeq - 1 (the compact range of the pruned prefix), = prev_hash of entry firstSeq. */
  prevHash: string;
  /** Entries pruned by all prunes so far (firstSeq - 1 when the log was never restored). */
  pruned: number;
  /** Seq of the `audit.prune` entry that records this prune. */
  pruneSeq: number;
  prunedAt: number;
  /** The checkpoint file signed at size firstSeq - 1. */
  checkpointFile: string;
  /** The signed anchor note in the checkpoint directory. */
  noteFile: string;
}

/** The anchor in force, or null when the log was never pruned. */
export async function readAuditAnchor(db: Kysely<Database>): Promise<AuditAnchor | null> {
  const row = await db.selectFrom('audit_anchors').selectAll().orderBy('first_seq', 'desc').limit(1).executeTakeFirst();
  if (!row) return null;
  return {
    firstSeq: Number(row.first_seq),
    prevHash: row.prev_hash,
    pruned: Number(row.first_seq) - 1,
    pruneSeq: Number(row.prune_seq),
    prunedAt: Number(row.pruned_at),
    checkpointFile: row.checkpoint_file,
    noteFile: row.note_file,
  };
}

/**
 * The log's hash at `size` for comparing with a checkpoint: the entry's hash, the anchor's hash
 * at its boundary, null below it (pruned), undefined when the entry is missing.
 */
export async function hashAtSize(db: Kysely<Database>, size: number, anchor: AuditAnchor | null): Promise<string | null | undefined> {
  if (size === 0 && !anchor) return genesisHash;
  if (anchor && size === anchor.firstSeq - 1) return anchor.prevHash;
  if (anchor && size < anchor.firstSeq - 1) return null;
  return (await db.selectFrom('audit_log').select('hash').where('seq', '=', size).executeTakeFirst())?.hash;
}

/** `000000000101-000000000102-c74f20a3.anchor`: first seq kept, seq of the prune entry, key id. */
export function anchorNoteFileName(firstSeq: number, pruneSeq: number, keyId: string): string {
  return `${String(firstSeq).padStart(12, '0')}-${String(pruneSeq).padStart(12, '0')}-${keyId}.anchor`;
}

const noteTitle = 'depotline audit anchor';

/** The signed statement: origin, title, first seq kept, base64 hash before it, seq of the prune entry. */
export function anchorNoteText(origin: string, a: Pick<AuditAnchor, 'firstSeq' | 'prevHash' | 'pruneSeq'>): string {
  return `${origin}\n${noteTitle}\n${a.firstSeq}\n${Buffer.from(a.prevHash, 'hex').toString('base64')}\n${a.pruneSeq}\n`;
}

/** Null when `message` is a note signed by one of `verifiers` stating exactly this anchor; else what is wrong. */
function checkAnchorNote(message: string, anchor: AuditAnchor, verifiers: readonly NoteVerifier[]): string | null {
  try {
    const note = parseSignedNote(message);
    const signed = note.signatures.find((s) => verifiers.some((v) => v.name === s.name && v.keyId === s.keyId && verifyNoteSignature(note.text, s, v)));
    if (!signed) return 'it is not signed by a trusted checkpoint key';
    if (note.text !== anchorNoteText(signed.name, anchor)) return 'it states another anchor than the database holds';
    return null;
  } catch (err) {
    if (err instanceof NoteError) return `it is not a signed note (${err.message})`;
    throw err;
  }
}

/** Null when the anchor's note in `dir` vouches for it; else what is wrong. */
export function anchorNoteProblem(dir: string, anchor: AuditAnchor, verifiers: readonly NoteVerifier[]): string | null {
  let message: string;
  try {
    message = fs.readFileSync(path.join(dir, path.basename(anchor.noteFile)), 'utf8');
  } catch {
    return `${anchor.noteFile} is missing from ${dir}`;
  }
  return checkAnchorNote(message, anchor, verifiers);
}
