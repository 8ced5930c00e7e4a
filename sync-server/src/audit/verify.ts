import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Kysely } from 'kysely';
import { rawDatabaseOf } from '../db/database';
import type { Database } from '../db/schema';
import { type ChainedFields, genesisHash, hashEntry } from './audit-log';
import {
  type ChunkResult, type ChunkSource, type FastChunkReader, checkChunk, pgChunkReader, sqliteChunkReader,
} from './verify-chunk';
import type { WorkerReply, WorkerRequest } from './verify-worker';

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
  /**
   * Entries per chunk, the unit read in one query and checked by one thread: large enough that
   * per-query cost vanishes, small enough to bound memory.
   */
  batchSize?: number;
  /** Called after each chunk with the number of entries proven intact so far, in order. */
  onProgress?: (checked: number) => void;
  /**
   * Worker threads that check chunks besides this thread, each on its own connection (an
   * SQLite file or PostgreSQL database opened by `openDatabase`). Default: one per core but
   * this thread's, for a log of at least `parallelVerifyThreshold` entries, else none. When
   * they cannot start, this thread checks every chunk.
   */
  workers?: number;
  /** Whether this thread checks chunks too (default true; tests turn it off to put every chunk in a worker). */
  checkInThisThread?: boolean;
  /** Called once at the end with who checked what (benchmarks and tests). */
  onStats?: (stats: VerifyStats) => void;
}

export interface VerifyStats {
  /** Worker threads that started. */
  workers: number;
  /** Chunks checked by worker threads, and by this thread. */
  chunksInWorkers: number;
  chunksHere: number;
  /** Chunks whose fast check could not decide and were checked again exactly (verify-chunk.ts). */
  rechecked: number;
}

export const defaultVerifyBatchSize = 5000;
/** Below this many entries, starting worker threads (~0.1 s each under tsx) costs more than it saves. */
export const parallelVerifyThreshold = 100_000;

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
 * connections and by this thread, and their results are linked here strictly in seq order:
 * the first problem reported is the one a walk from seq 1 meets first, and nothing after it
 * is looked at. Chunks are read as arrays with the hash input built by the database
 * (verify-chunk.ts); a chunk where that does not reproduce a stored hash is checked again
 * exactly, with `hashEntry` over the row as the driver returns it, which decides.
 *
 * The head is read first and only entries up to it are checked: entries appended while the
 * verification runs commit together with a newer head and are left for the next run.
 *
 * Limits: an attacker who rewrites every entry from some point on *and* the head row defeats
 * any check that trusts the same database; signed checkpoints kept elsewhere close that gap
 * (DESIGN.md section 7).
 */
export async function verifyAuditChain(db: Kysely<Database>, options: VerifyOptions = {}): Promise<AuditVerifyResult> {
  const chunkSize = Math.max(1, Math.floor(options.batchSize ?? defaultVerifyBatchSize));
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  // Without a head, every entry there is is checked (and the result says the end is unconfirmed).
  const headSeq = head ? Number(head.seq) : Number((await db.selectFrom('audit_log').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst())?.seq ?? 0);
  // The seqs a walk covers: 1 to the head (a head edited to a fraction or a negative number
  // covers the whole numbers below it, and is then reported as not matching the log).
  const walkTo = Number.isFinite(headSeq) ? Math.max(0, Math.floor(headSeq)) : 0;
  const chunkCount = Math.ceil(walkTo / chunkSize);
  const chunkRange = (i: number): [number, number] => [i * chunkSize + 1, Math.min(walkTo, (i + 1) * chunkSize)];

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

  const chunks = startChunkChecks(db, chunkCount, chunkRange, options);
  let prevHash = genesisHash;
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
      if (result.firstPrevHash !== prevHash) return broken(from - 2, rewrittenLink(from));
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

  const last = walkTo;
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

interface ChunkChecks {
  /** Chunk `i`'s result (asked for in order). */
  result(i: number): Promise<ChunkResult>;
  /** Stops handing out chunks and ends the workers; call once the walk is over. */
  close(): Promise<void>;
  readonly stats: VerifyStats;
}

/** Chunks a worker has in flight, so it never waits on a round trip through this thread. */
const workerInFlight = 3;

/**
 * Hands chunks out in seq order to whoever is free: this thread and the worker threads. A
 * worker that fails to start or dies is replaced by this thread, so every chunk gets checked.
 */
function startChunkChecks(db: Kysely<Database>, count: number, range: (i: number) => [number, number], options: VerifyOptions): ChunkChecks {
  const slots = new Map<number, { promise: Promise<ChunkResult>; resolve: (r: ChunkResult) => void; reject: (e: unknown) => void }>();
  const slot = (i: number) => {
    let s = slots.get(i);
    if (!s) {
      let resolve!: (r: ChunkResult) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<ChunkResult>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A chunk checked after the walk stopped is never awaited; its failure is nobody's error.
      promise.catch(() => {});
      s = { promise, resolve, reject };
      slots.set(i, s);
    }
    return s;
  };
  let next = 0;
  let stopped = false;
  const take = (): number => (stopped || next >= count ? -1 : next++);

  const raw = rawDatabaseOf(db);
  const reader: FastChunkReader | null = raw?.kind === 'sqlite' ? sqliteChunkReader(raw.sqlite)
    : raw?.kind === 'postgres' ? pgChunkReader((config) => raw.pool.query(config), false) : null;
  // Without a raw handle (a Kysely instance not from openDatabase), every chunk is checked exactly.
  const stats: VerifyStats = { workers: 0, chunksInWorkers: 0, chunksHere: 0, rechecked: 0 };
  const checkHere = (i: number): Promise<void> => {
    stats.chunksHere++;
    const [from, to] = range(i);
    return (reader ? checkChunk(reader, from, to) : checkChunkExactly(db, from, to)).then(slot(i).resolve, slot(i).reject);
  };

  const source: ChunkSource | null = raw?.kind === 'sqlite' ? (raw.file === ':memory:' ? null : { kind: 'sqlite', file: raw.file })
    : raw?.kind === 'postgres' ? { kind: 'postgres', url: raw.url } : null;
  const entries = count > 0 ? range(count - 1)[1] : 0;
  const workerCount = source === null ? 0
    : Math.max(0, Math.floor(options.workers ?? (entries >= parallelVerifyThreshold ? os.availableParallelism() - 1 : 0)));
  const checkInThisThread = workerCount === 0 || options.checkInThisThread !== false;

  const lanes: Promise<void>[] = [];
  let workersFailed = 0;
  // This thread's lane; an SQLite read is synchronous, so it yields between chunks to let
  // worker results and other I/O through.
  const threadLane = async (): Promise<void> => {
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const i = take();
      if (i < 0) return;
      await checkHere(i);
    }
  };
  const workerLane = async (worker: ChunkWorker): Promise<void> => {
    for (let i = take(); i >= 0; i = take()) {
      if (worker.failed) {
        // It died: this thread takes over its share.
        await checkHere(i);
        continue;
      }
      const [from, to] = range(i);
      await worker.check(from, to).then((result) => {
        stats.chunksInWorkers++;
        slot(i).resolve(result);
      }, () => (stopped ? undefined : checkHere(i)));
    }
  };

  const workers: ChunkWorker[] = [];
  for (let w = 0; w < workerCount; w++) {
    const worker = new ChunkWorker(source!);
    workers.push(worker);
    lanes.push(worker.ready.then((ok) => {
      if (ok) {
        stats.workers++;
        return Promise.all(Array.from({ length: workerInFlight }, () => workerLane(worker))).then(() => {});
      }
      // None started and this thread was told not to check: it checks everything after all.
      if (++workersFailed === workerCount && !checkInThisThread) return threadLane();
      return undefined;
    }));
  }
  // PostgreSQL (and Kysely) reads are asynchronous: a second lane has the next chunk read while
  // this one is hashed. SQLite reads block this thread, so one lane.
  const threadLanes = raw?.kind === 'sqlite' ? 1 : 2;
  if (checkInThisThread) for (let k = 0; k < threadLanes; k++) lanes.push(threadLane());

  return {
    stats,
    result: async (i) => {
      const result = await slot(i).promise;
      slots.delete(i);
      return result;
    },
    close: async () => {
      stopped = true;
      await Promise.all(workers.map((w) => w.close()));
      await Promise.allSettled(lanes);
    },
  };
}

/**
 * How a worker thread is started. TypeScript sources (tsx, vitest) need a loader in the thread:
 * tsx registers itself in the main thread only (on Node 20), and vitest's transform does not
 * reach worker threads. tsx's CommonJS hook starts in ~0.1 s where its ESM loader (a hooks
 * thread per worker) takes ~0.25 s, so the worker is compiled to and loaded as CommonJS.
 */
function workerBootstrap(): { entry: string; tsx: string | null } | null {
  const typescript = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(typescript ? './verify-worker.ts' : './verify-worker.js', import.meta.url));
  if (!typescript) return { entry, tsx: null };
  try {
    const require = createRequire(import.meta.url);
    return { entry, tsx: path.join(path.dirname(require.resolve('tsx/package.json')), 'dist/cjs/api/index.cjs') };
  } catch {
    return null;
  }
}

// Valid as a script and as a module (an inherited --input-type=module makes it one), so it
// reaches everything through import().
const bootstrapCode = `
Promise.all([import('node:worker_threads'), import('node:module'), import('node:url')]).then(([threads, module, url]) => {
  const { entry, tsx } = threads.workerData.bootstrap;
  if (!tsx) return import(url.pathToFileURL(entry).href);
  const require = module.createRequire(entry);
  require(tsx).register();
  require(entry);
});
`;

/** One worker thread (verify-worker.ts) and the chunks it has been asked to check. */
class ChunkWorker {
  readonly ready: Promise<boolean>;
  failed = false;
  private started = false;
  private readonly thread: Worker | null = null;
  private readonly pending = new Map<number, { resolve(r: ChunkResult): void; reject(e: unknown): void }>();
  private nextId = 0;

  constructor(source: ChunkSource) {
    const bootstrap = workerBootstrap();
    if (!bootstrap) {
      this.failed = true;
      this.ready = Promise.resolve(false);
      return;
    }
    let thread: Worker;
    try {
      thread = new Worker(bootstrapCode, { eval: true, workerData: { source, bootstrap } });
    } catch {
      // E.g. an inherited Node option that worker threads refuse.
      this.failed = true;
      this.ready = Promise.resolve(false);
      return;
    }
    this.thread = thread;
    this.ready = new Promise<boolean>((resolve) => {
      thread.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') {
          this.started = true;
          resolve(true);
          return;
        }
        const request = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        request?.resolve(reply.result);
      });
      const fail = (err: unknown) => {
        this.failed = true;
        resolve(false);
        for (const request of this.pending.values()) request.reject(err);
        this.pending.clear();
      };
      thread.on('error', fail);
      thread.on('exit', () => fail(new Error('the audit verification worker exited')));
    });
  }

  check(from: number, to: number): Promise<ChunkResult> {
    if (this.failed || !this.thread) return Promise.reject(new Error('the audit verification worker is not running'));
    const id = this.nextId++;
    return new Promise<ChunkResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.thread!.postMessage({ type: 'chunk', id, from, to } satisfies WorkerRequest);
    });
  }

  /** Lets a started worker close its connection (briefly), else stops it at once. */
  async close(): Promise<void> {
    const thread = this.thread;
    if (!thread || this.failed) return;
    if (this.started) {
      const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      thread.postMessage({ type: 'close' } satisfies WorkerRequest);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((resolve) => { timer = setTimeout(resolve, 2000); })]);
      clearTimeout(timer);
    }
    await thread.terminate();
  }
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
