import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { type AuditAnchor, readAuditAnchor } from './anchor';
import { type ChainedFields, genesisHash, hashEntry } from './audit-log';
import type { ChunkResult } from './verify-chunk';
import { type ChunkPoolOptions, type VerifyStats, startChunkChecks } from './verify-pool';

export { parallelVerifyThreshold, type VerifyStats } from './verify-pool';

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
 * - `bad_anchor`: the log was pruned (audit/anchor.ts) but its anchor is not the one its
 *   `audit.prune` entry records.
 */
export type AuditBreakReason = 'altered' | 'missing' | 'reordered' | 'truncated' | 'chain_broken' | 'bad_anchor';

export interface AuditBreak {
  seq: number;
  reason: AuditBreakReason;
  detail: string;
}

/**
 * `entries`: the last seq proven intact, from seq 1 or, when the log was pruned, from `anchor`
 * (the entries before `anchor.firstSeq` were deleted by an anchored prune, audit/retention.ts).
 */
export type AuditVerifyResult =
  | { ok: true; entries: number; headHash: string; anchor?: AuditAnchor | null }
  | { ok: false; entries: number; firstBroken: AuditBreak; anchor?: AuditAnchor | null };

export interface VerifyOptions extends ChunkPoolOptions {
  /**
   * Entries per chunk, the unit read in one query and checked by one thread: large enough that
   * per-query cost vanishes, small enough to bound memory.
   */
  batchSize?: number;
  /** Called after each chunk with the number of entries proven intact so far, in order. */
  onProgress?: (checked: number) => void;
  /** Called once at the end with who checked what (benchmarks and tests). */
  onStats?: (stats: VerifyStats) => void;
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
 * cut-off tail are all caught.
 *
 * The seqs up to the head are cut into chunks of `batchSize`. A chunk can be checked on its own
 * (every entry present, hashing to its stored hash, linked to the entry before it), except for
 * its first entry's link, so chunks are checked in parallel, by worker threads with their own
 * connections and by this thread (verify-pool.ts), and their results are linked here
 * strictly in seq order: the first problem reported is the one a walk from seq 1 meets first,
 * and nothing after it is looked at. Chunks are read as arrays with the hash input built by
 * the database (verify-chunk.ts); a chunk where that does not reproduce a stored hash is
 * checked again exactly, with `hashEntry` over the row as the driver returns it, which decides.
 *
 * The head is read first and only entries up to it are checked: entries appended while the
 * verification runs commit together with a newer head and are left for the next run.
 *
 * Limits: an attacker who rewrites every entry from some point on *and* the head row defeats
 * any check that trusts the same database; the signed checkpoints kept outside it catch that
 * (verify-checkpoints.ts, which `audit verify` runs after this).
 */
export async function verifyAuditChain(db: Kysely<Database>, options: VerifyOptions = {}): Promise<AuditVerifyResult> {
  const anchor = await readAuditAnchor(db);
  const result = await walkChain(db, options, anchor);
  if (result.ok && anchor) {
    const problem = await checkPruneEntry(db, anchor);
    if (problem) return { ...broken(anchor.firstSeq - 1, { seq: anchor.firstSeq, reason: 'bad_anchor', detail: problem }), anchor };
  }
  return anchor ? { ...result, anchor } : result;
}

async function walkChain(db: Kysely<Database>, options: VerifyOptions, anchor: AuditAnchor | null): Promise<AuditVerifyResult> {
  const chunkSize = Math.max(1, Math.floor(options.batchSize ?? defaultVerifyBatchSize));
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  // Without a head, every entry there is is checked (and the result says the end is unconfirmed).
  const headSeq = head ? Number(head.seq) : Number((await db.selectFrom('audit_log').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst())?.seq ?? 0);
  // The seqs a walk covers: 1 to the head (a head edited to a fraction or a negative number
  // covers the whole numbers below it, and is then reported as not matching the log).
  const walkTo = Number.isFinite(headSeq) ? Math.max(0, Math.floor(headSeq)) : 0;
  // A pruned log is walked from its anchor, from the hash the anchor keeps.
  const start = anchor?.firstSeq ?? 1;
  const chunkCount = Math.max(0, Math.ceil((walkTo - start + 1) / chunkSize));
  const chunkRange = (i: number): [number, number] => [start + i * chunkSize, Math.min(walkTo, start + (i + 1) * chunkSize - 1)];

  const endOfLog = (last: number): AuditVerifyResult => {
    if (!head) {
      return broken(last, { seq: last + 1, reason: 'truncated', detail: 'The audit_head row is missing, so the end of the log cannot be confirmed.' });
    }
    return broken(last, {
      seq: last + 1,
      reason: 'truncated',
      detail: `The log ends at seq ${last} but the head records ${headSeq} entries: the entries from ${last + 1} on were removed.`,
    });
  };
  /** No entry at `seq`: a gap if a later one exists up to the head, else the log ends there. */
  const missingAt = async (seq: number, found: number | null): Promise<AuditVerifyResult> => {
    const next = found ?? (await db.selectFrom('audit_log').select('seq').where('seq', '>', seq).where('seq', '<=', walkTo)
      .orderBy('seq').limit(1).executeTakeFirst())?.seq;
    if (next === undefined || next === null) return endOfLog(seq - 1);
    return broken(seq - 1, { seq, reason: 'missing', detail: gapDetail(seq, Number(next)) });
  };
  const alteredAt = async (seq: number, prevHash: string): Promise<AuditVerifyResult> => {
    const row = await db.selectFrom('audit_log').select(entryColumns).where('seq', '=', seq).executeTakeFirstOrThrow();
    return broken(seq - 1, await classifyMismatch(db, row, prevHash));
  };

  const chunks = startChunkChecks(db, chunkCount, chunkRange, (from, to) => checkChunkExactly(db, from, to), options);
  let prevHash = anchor?.prevHash ?? genesisHash;
  try {
    for (let i = 0; i < chunkCount; i++) {
      const [from, to] = chunkRange(i);
      let result = await chunks.result(i);
      if (result.recheck) {
        chunks.stats.rechecked++;
        result = await checkChunkExactly(db, from, to);
      }
      const problem = result.problem;
      // In the order a walk from seq 1 meets them: the first entry's presence, its hash, its
      // link to the previous chunk, then whatever the chunk found after it.
      if (problem?.kind === 'missing' && problem.seq === from) return await missingAt(from, problem.found);
      if (problem?.kind === 'altered' && problem.seq === from) return await alteredAt(from, prevHash);
      // This entry is intact, so its predecessor is not the one it was chained to.
      if (result.firstPrevHash !== prevHash) return broken(from - 2, from === start && anchor ? unanchored(anchor) : rewrittenLink(from));
      if (problem?.kind === 'missing') return await missingAt(problem.seq, problem.found);
      if (problem?.kind === 'altered') return await alteredAt(problem.seq, problem.prevHash!);
      if (problem?.kind === 'link') return broken(problem.seq - 2, rewrittenLink(problem.seq));
      prevHash = result.lastHash!;
      options.onProgress?.(to);
    }
  } finally {
    await chunks.close();
    options.onStats?.({ ...chunks.stats });
  }

  const last = Math.max(walkTo, start - 1);
  if (!head || last < headSeq) return endOfLog(last);
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

/**
 * The exact check of one chunk, and the authority on it: rows as the driver returns them,
 * each hashed with `hashEntry`, as the audit writer hashed it.
 */
async function checkChunkExactly(db: Kysely<Database>, from: number, to: number): Promise<ChunkResult> {
  const rows = await db.selectFrom('audit_log').select(entryColumns)
    .where('seq', '>=', from).where('seq', '<=', to).orderBy('seq').execute();
  let expected = from;
  let firstPrevHash: string | null = null;
  let prev: string | null = null;
  for (const row of rows) {
    const seq = Number(row.seq);
    if (seq !== expected) return { firstPrevHash, lastHash: prev, problem: { kind: 'missing', seq: expected, found: seq }, recheck: false };
    if (hashEntry(row) !== row.hash) return { firstPrevHash, lastHash: prev, problem: { kind: 'altered', seq, prevHash: prev }, recheck: false };
    if (prev === null) firstPrevHash = row.prev_hash;
    else if (row.prev_hash !== prev) return { firstPrevHash, lastHash: prev, problem: { kind: 'link', seq }, recheck: false };
    prev = row.hash;
    expected++;
  }
  if (expected <= to) return { firstPrevHash, lastHash: prev, problem: { kind: 'missing', seq: expected, found: null }, recheck: false };
  return { firstPrevHash, lastHash: prev, problem: null, recheck: false };
}

function unanchored(anchor: AuditAnchor): AuditBreak {
  return {
    seq: anchor.firstSeq,
    reason: 'chain_broken',
    detail: `Entry ${anchor.firstSeq}, the first kept after the prune, does not chain from the hash the anchor keeps: it (or the anchor) was rewritten.`,
  };
}

/** The `audit.prune` entry the anchor names must record exactly this anchor (it lies in the verified chain). */
async function checkPruneEntry(db: Kysely<Database>, anchor: AuditAnchor): Promise<string | null> {
  const row = anchor.pruneSeq >= anchor.firstSeq
    ? await db.selectFrom('audit_log').select(['action', 'outcome', 'details']).where('seq', '=', anchor.pruneSeq).executeTakeFirst()
    : undefined;
  let details: { firstKeptSeq?: unknown; prevHash?: unknown } = {};
  try {
    details = row ? (JSON.parse(row.details) as typeof details) : {};
  } catch {
    // Not JSON: the comparison below fails.
  }
  if (row?.action === 'audit.prune' && row.outcome === 'ok' && details.firstKeptSeq === anchor.firstSeq && details.prevHash === anchor.prevHash) return null;
  return `The log was pruned up to seq ${anchor.firstSeq - 1}, but entry ${anchor.pruneSeq} is not the audit.prune entry recording that anchor: the anchor was made up or altered.`;
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
