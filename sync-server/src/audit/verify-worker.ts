/**
 * A worker thread of `verifyAuditChain` (verify.ts): opens its own connection to the database
 * (`workerData`, a ChunkSource), says `ready`, then checks each chunk it is sent and answers
 * with its ChunkResult, in the order sent. Started by verify-pool.ts, which registers tsx's
 * CommonJS loader in the thread first when this file runs as TypeScript.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type ChunkResult, type ChunkSource, checkChunk, openChunkReader } from './verify-chunk';

export type WorkerRequest = { type: 'chunk'; id: number; from: number; to: number } | { type: 'close' };
export type WorkerReply = { type: 'ready' } | { type: 'result'; id: number; result: ChunkResult };

// Loaded as CommonJS when tsx compiles it (see verify-pool.ts), so no top-level await.
const port = parentPort;
if (!port) throw new Error('verify-worker.ts runs as a worker thread of verify-pool.ts');

const opening = openChunkReader((workerData as { source: ChunkSource }).source);
const undecided: ChunkResult = { firstPrevHash: null, lastHash: null, problem: null, recheck: true };
// Each chunk is read as soon as it is asked for (a PostgreSQL connection pipelines the
// queries), and answered in the order asked.
let answered: Promise<unknown> = opening;
port.on('message', (request: WorkerRequest) => {
  if (request.type === 'close') {
    // Ends the connection cleanly (PostgreSQL logs an abrupt one), then the thread exits.
    answered = answered.then(async () => {
      await (await opening).close();
      port.close();
    });
    return;
  }
  const result = opening.then((reader) => checkChunk(reader, request.from, request.to)).catch(() => undecided);
  answered = answered.then(() => result).then((r) => port.postMessage({ type: 'result', id: request.id, result: r } satisfies WorkerReply));
});
// A connection that cannot be opened fails the thread (its 'error' event): verify-pool.ts
// then has the chunks checked on the verifying thread.
void opening.then(() => port.postMessage({ type: 'ready' } satisfies WorkerReply));
