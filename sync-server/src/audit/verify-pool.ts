/**
 * The worker-thread pool of audit verification: hands the chunks of one walk out, in seq
 * order, to this thread and to worker threads (verify-worker.ts) with connections of their
 * own, and returns each chunk's result when the walk asks for it. Kept apart from the rules:
 * it decides nothing about the chain (what a chunk's result means is verify.ts's business,
 * how one chunk is checked is verify-chunk.ts's), so neither can change the other's answer.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Kysely } from 'kysely';
import { rawDatabaseOf } from '../db/database';
import type { Database } from '../db/schema';
import {
  type ChunkResult, type ChunkSource, type FastChunkReader, checkChunk, pgChunkReader, sqliteChunkReader,
} from './verify-chunk';
import type { WorkerReply, WorkerRequest } from './verify-worker';

export interface ChunkPoolOptions {
  /**
   * Worker threads that check chunks besides this thread, each on its own connection (an
   * SQLite file or PostgreSQL database opened by `openDatabase`). Default: one per core but
   * this thread's, for a log of at least `parallelVerifyThreshold` entries, else none. When
   * they cannot start, this thread checks every chunk.
   */
  workers?: number;
  /** Whether this thread checks chunks too (default true; tests turn it off to put every chunk in a worker). */
  checkInThisThread?: boolean;
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

/** Below this many entries, starting worker threads (~0.1 s each under tsx) costs more than it saves. */
export const parallelVerifyThreshold = 100_000;

/** The exact check of one chunk on this thread's connection (verify.ts), for a database without a raw handle. */
export type ExactChunkCheck = (from: number, to: number) => Promise<ChunkResult>;

export interface ChunkChecks {
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
export function startChunkChecks(
  db: Kysely<Database>, count: number, range: (i: number) => [number, number], checkExactly: ExactChunkCheck, options: ChunkPoolOptions,
): ChunkChecks {
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
    return (reader ? checkChunk(reader, from, to) : checkExactly(from, to)).then(slot(i).resolve, slot(i).reject);
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
