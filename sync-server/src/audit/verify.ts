import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { type ChainedFields, genesisHash, hashEntry } from './audit-log';

/**
 * Why an entry fails verification. The reported seq is always the earliest entry that can no
 * longer be trusted; every entry before it was proven intact.
 *
 * - `altered`: the entry's content no longer hashes to its stored hash.
 * - `missing`: the entry with this seq is gone (a gap in the sequence).
 * - `reordered`: this position holds an intact entry that was written at another seq.
 * - `truncated`: the log ends before the head row says it does.
 * - `chain_broken`: each entry hashes correctly but the links do not: an entry was rewritten
 *   together with its hash, or entries exist that the head does not cover.
 */
export type AuditBreakReason = 'altered' | 'missing' | 'reordered' | 'truncated' | 'chain_broken';

export interface AuditBreak {
  seq: number;
  reason: AuditBreakReason;
  detail: string;
}

/** `entries`: how many entries, from seq 1, were proven intact. */
export type AuditVerifyResult =
  | { ok: true; entries: number; headHash: string }
  | { ok: false; entries: number; firstBroken: AuditBreak };

export interface VerifyOptions {
  /** Rows per query: large enough that per-query cost vanishes, small enough to bound memory. */
  batchSize?: number;
  /** Called after each batch with the number of entries checked so far. */
  onProgress?: (checked: number) => void;
}

export const defaultVerifyBatchSize = 5000;

type StoredEntry = ChainedFields & { hash: string };

const entryColumns = [
  'seq', 'at', 'actor_user_id', 'actor', 'action', 'outcome', 'target_type', 'target_id', 'location_id',
  'details', 'device_id', 'ip', 'prev_hash', 'hash',
] as const;

/**
 * Recomputes the whole hash chain from seq 1 (RFC 9162 style: the verifier trusts nothing but
 * the hash function) and checks it against the head row, so edits, deletions, reordering and a
 * cut-off tail are all caught. It reads in keyset-paged batches, so memory stays flat for any
 * log size, and does one query per batch rather than one await per row.
 *
 * The head is read first and only entries up to it are checked: entries appended while the
 * verification runs commit together with a newer head and are left for the next run.
 *
 * Limits: an attacker who rewrites every entry from some point on *and* the head row defeats
 * any check that trusts the same database; signed checkpoints kept elsewhere close that gap
 * (DESIGN.md section 7).
 */
export async function verifyAuditChain(db: Kysely<Database>, options: VerifyOptions = {}): Promise<AuditVerifyResult> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? defaultVerifyBatchSize));
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  const headSeq = head ? Number(head.seq) : Number.MAX_SAFE_INTEGER;

  const fetchBatch = (fromSeq: number): Promise<StoredEntry[]> =>
    db.selectFrom('audit_log').select(entryColumns)
      .where('seq', '>=', fromSeq).where('seq', '<=', headSeq)
      .orderBy('seq').limit(batchSize).execute();

  let expected = 1;
  let prevHash = genesisHash;
  let pending = fetchBatch(1);
  for (;;) {
    const rows = await pending;
    const full = rows.length === batchSize;
    // Ask for the next batch before hashing this one: PostgreSQL prepares it meanwhile.
    if (full) pending = fetchBatch(Number(rows[rows.length - 1]!.seq) + 1);
    // The hot loop: no awaits, no per-row objects beyond what hashing needs.
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const seq = Number(row.seq);
      if (seq !== expected) {
        if (full) await pending.catch(() => undefined);
        return broken(expected - 1, { seq: expected, reason: 'missing', detail: gapDetail(expected, seq) });
      }
      if (hashEntry(row) !== row.hash) {
        if (full) await pending.catch(() => undefined);
        return broken(expected - 1, await classifyMismatch(db, row, prevHash));
      }
      if (row.prev_hash !== prevHash) {
        if (full) await pending.catch(() => undefined);
        // This entry is intact, so its predecessor is not the one it was chained to.
        return broken(expected - 2, rewrittenLink(seq));
      }
      prevHash = row.hash;
      expected++;
    }
    options.onProgress?.(expected - 1);
    if (!full) break;
  }

  const last = expected - 1;
  if (!head) {
    return broken(last, { seq: last + 1, reason: 'truncated', detail: 'The audit_head row is missing, so the end of the log cannot be confirmed.' });
  }
  if (last < headSeq) {
    return broken(last, {
      seq: last + 1,
      reason: 'truncated',
      detail: `The log ends at seq ${last} but the head records ${headSeq} entries: the entries from ${last + 1} on were removed.`,
    });
  }
  if (head.hash !== prevHash) {
    return broken(last - 1, {
      seq: last,
      reason: 'chain_broken',
      detail: `Entry ${last} hashes correctly but the head recorded a different hash for it: it was rewritten with a recomputed hash (or the head was edited).`,
    });
  }
  // Read after the head (not before), so a concurrent append can only raise the head past it.
  const beyond = await db.selectFrom('audit_log').select('seq').where('seq', '>', headSeq).orderBy('seq').limit(1).executeTakeFirst();
  if (beyond) {
    const now = await db.selectFrom('audit_head').select('seq').where('id', '=', 1).executeTakeFirst();
    if (!now || Number(beyond.seq) > Number(now.seq)) {
      return broken(last, {
        seq: Number(beyond.seq),
        reason: 'chain_broken',
        detail: `Entry ${Number(beyond.seq)} lies beyond the head (seq ${now ? Number(now.seq) : headSeq}): it was inserted outside the audit writer.`,
      });
    }
  }
  return { ok: true, entries: last, headHash: prevHash };
}

function broken(entries: number, firstBroken: AuditBreak): AuditVerifyResult {
  return { ok: false, entries: Math.max(0, entries), firstBroken };
}

function gapDetail(expected: number, found: number): string {
  return found === expected + 1
    ? `Entry ${expected} is missing (the log jumps from ${expected - 1} to ${found}).`
    : `Entries ${expected} to ${found - 1} are missing (the log jumps from ${expected - 1} to ${found}).`;
}

function rewrittenLink(seq: number): AuditBreak {
  if (seq === 1) {
    return { seq, reason: 'chain_broken', detail: 'Entry 1 does not start from the genesis hash: it was rewritten with a recomputed hash.' };
  }
  return {
    seq: seq - 1,
    reason: 'chain_broken',
    detail: `Entry ${seq} was chained to a different entry ${seq - 1}: entry ${seq - 1} (or entry ${seq}) was rewritten with a recomputed hash.`,
  };
}

/** How far either side of its position a moved entry is searched for when nothing points at it. */
const nearbySeqWindow = 1000;

/**
 * An entry that does not hash to its stored hash was either edited, or is an intact entry
 * sitting at the wrong seq (rows swapped or renumbered). An intact entry hashes correctly
 * under the seq it was written at, so find that seq: from its neighbours in the original
 * chain (the entry that links to it, the entry it links to), else by trying nearby seqs.
 * Runs once, on failure only, so full scans here are acceptable.
 */
async function classifyMismatch(db: Kysely<Database>, row: StoredEntry, prevHash: string): Promise<AuditBreak> {
  const seq = Number(row.seq);
  const candidates = new Set<number>();
  const successor = await db.selectFrom('audit_log').select('seq').where('prev_hash', '=', row.hash).limit(1).executeTakeFirst();
  if (successor) candidates.add(Number(successor.seq) - 1);
  const predecessor = await db.selectFrom('audit_log').select('seq').where('hash', '=', row.prev_hash).limit(1).executeTakeFirst();
  if (predecessor) candidates.add(Number(predecessor.seq) + 1);
  for (let d = 1; d <= nearbySeqWindow; d++) {
    candidates.add(seq + d);
    if (seq - d >= 1) candidates.add(seq - d);
  }
  candidates.delete(seq);
  for (const original of candidates) {
    if (original >= 1 && hashEntry({ ...row, seq: original }) === row.hash) {
      return {
        seq,
        reason: 'reordered',
        detail: `Seq ${seq} holds the entry written as seq ${original}: entries were moved, swapped or renumbered.`,
      };
    }
  }
  const fields = row.prev_hash !== prevHash ? 'its content and its link to the previous entry' : 'its content';
  return { seq, reason: 'altered', detail: `Entry ${seq} no longer matches its hash: ${fields} changed after it was written.` };
}
