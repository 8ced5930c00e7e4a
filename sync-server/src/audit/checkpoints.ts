import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { ServerContext } from '../context';
import { NoteError, type NoteSigner, signNote } from '../crypto/signed-note';
import type { Database } from '../db/schema';
import { type ChainedFields, genesisHash, hashEntry } from './audit-log';

/**
 * Signed checkpoints of the audit log (docs/security-model.md, "Audit log"). A checkpoint is
 * the chain's size (the head's seq) and its head hash, in the transparency-dev checkpoint
 * format (https://c2sp.org/tlog-checkpoint): three lines, origin, size, base64 hash, signed as
 * a note (https://c2sp.org/signed-note) with an Ed25519 key kept outside the database. The hash
 * is the head of our hash chain, not an RFC 6962 Merkle root: tools that check signatures read
 * these files; tools that ask a log for inclusion proofs do not apply.
 *
 * Each checkpoint is one file in a directory the operator chooses, written once: created under
 * a temporary name, synced, then hard-linked to its final name, which fails rather than
 * replacing an existing file. A later rewrite of the table and its head (by someone with
 * database access but not the key) matches no signed checkpoint, and `audit verify` says so.
 */

export interface Checkpoint {
  origin: string;
  size: number;
  /** The head hash at `size`, hex (as the audit log stores it). */
  rootHash: string;
}

/** The note text: origin, size, base64 hash, each line ending in a newline. */
export function checkpointText(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${Buffer.from(c.rootHash, 'hex').toString('base64')}\n`;
}

/** Parses a checkpoint's note text; lines after the third (extensions) are allowed and ignored. */
export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4) throw new NoteError('a checkpoint has an origin, a size and a hash line');
  const [origin, size, hash] = lines as [string, string, string];
  if (origin.length === 0) throw new NoteError('the checkpoint origin is empty');
  if (!/^(0|[1-9]\d{0,15})$/.test(size)) throw new NoteError(`the checkpoint size "${size.slice(0, 20)}" is not a decimal number`);
  const raw = Buffer.from(hash, 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== hash) throw new NoteError('the checkpoint hash is not a base64 SHA-256 hash');
  return { origin, size: Number(size), rootHash: raw.toString('hex') };
}

/** `000000000042-c74f20a3.checkpoint`: sorted by size, one file per size and key. */
export function checkpointFileName(size: number, keyId: string): string {
  return `${String(size).padStart(12, '0')}-${keyId}.checkpoint`;
}

export const checkpointFilePattern = /^\d{12,}-[0-9a-f]{8}\.checkpoint$/;

type WriteOutcome = 'written' | 'exists' | 'conflict';

/**
 * Writes `content` to `dir/name` once, atomically: readers see the whole file or none, and an
 * existing file is never replaced (`conflict` when it holds something else).
 */
export function writeOnce(dir: string, name: string, content: string): WriteOutcome {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const final = path.join(dir, name);
  const temp = path.join(dir, `.${name}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(temp, 'wx', 0o444);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(temp, final);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return fs.readFileSync(final, 'utf8') === content ? 'exists' : 'conflict';
  } finally {
    fs.rmSync(temp, { force: true });
  }
  // The new directory entry survives a crash only once the directory itself is synced.
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
  return 'written';
}

export type CheckpointResult =
  | { status: 'signed' | 'unchanged'; checkpoint: Checkpoint; file: string }
  /**
   * Not signed: the log no longer extends the last checkpoint (`detail` says where), or a
   * checkpoint file for this size already holds another hash. Either means the log was
   * rewritten; signing its current head would vouch for the rewrite.
   */
  | { status: 'refused'; checkpoint: Checkpoint; detail: string };

/**
 * Signs the current head, if it moved since this key's last checkpoint.
 *
 * Before signing, the entries since the last checkpoint are re-hashed from its signed hash: a
 * checkpoint only ever extends the one before it, so a rewrite made between two checkpoints is
 * refused here and reported by `audit verify`, not signed over.
 */
export async function signCheckpoint(ctx: Pick<ServerContext, 'db' | 'config' | 'checkpointKeys' | 'now'>): Promise<CheckpointResult> {
  const { db } = ctx;
  const signer = ctx.checkpointKeys.signer;
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
  const checkpoint: Checkpoint = { origin: signer.name, size: Number(head.seq), rootHash: head.hash };
  const file = checkpointFileName(checkpoint.size, signer.keyId);
  const last = await db.selectFrom('audit_checkpoints').select(['size', 'root_hash'])
    .where('key_id', '=', signer.keyId).orderBy('size', 'desc').limit(1).executeTakeFirst();
  if (last && Number(last.size) === checkpoint.size) {
    if (last.root_hash !== checkpoint.rootHash) {
      return { status: 'refused', checkpoint, detail: `The head hash at size ${checkpoint.size} differs from the one signed at that size: the log was rewritten.` };
    }
    return { status: 'unchanged', checkpoint, file };
  }
  const problem = await extendsFrom(db, last ? { size: Number(last.size), hash: last.root_hash } : { size: 0, hash: genesisHash }, checkpoint);
  if (problem) return { status: 'refused', checkpoint, detail: problem };

  const note = signNote(checkpointText(checkpoint), signer);
  const outcome = writeOnce(ctx.config.checkpoints.dir, file, note);
  if (outcome === 'conflict') {
    return { status: 'refused', checkpoint, detail: `${file} already exists with another hash for size ${checkpoint.size}: the log was rewritten since it was signed.` };
  }
  await recordCheckpoint(db, checkpoint, signer, file, ctx.now());
  return { status: outcome === 'written' ? 'signed' : 'unchanged', checkpoint, file };
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
 * at `to.rootHash`. Returns what is wrong, or null. Reads only what was appended since the last
 * checkpoint (the whole log for a key's first checkpoint).
 */
async function extendsFrom(db: Kysely<Database>, from: { size: number; hash: string }, to: Checkpoint): Promise<string | null> {
  if (to.size < from.size) return `The head (seq ${to.size}) is behind the last checkpoint (size ${from.size}): entries were removed.`;
  let prev = from.hash;
  if (from.size > 0) {
    const at = await db.selectFrom('audit_log').select('hash').where('seq', '=', from.size).executeTakeFirst();
    if (at?.hash !== from.hash) return `Entry ${from.size} no longer has the hash signed in the checkpoint at that size: the log was rewritten.`;
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

/**
 * Signs a checkpoint every `intervalS` seconds when the head moved. Failures are logged, never
 * thrown: the audit log keeps working, and a refusal (a rewritten log) is logged as an error.
 */
export function startCheckpointSchedule(ctx: ServerContext): { stop(): void; tick(): Promise<CheckpointResult | null> } {
  let running: Promise<CheckpointResult | null> | null = null;
  const tick = () => {
    running ??= signCheckpoint(ctx).then(
      (result) => {
        if (result.status === 'refused') ctx.log.error('audit checkpoint refused: the audit log was rewritten', { size: result.checkpoint.size, detail: result.detail });
        else if (result.status === 'signed') ctx.log.debug('audit checkpoint signed', { size: result.checkpoint.size, file: result.file });
        return result;
      },
      (err: unknown) => {
        ctx.log.error('audit checkpoint failed', { err: err instanceof Error ? err.message : String(err) });
        return null;
      },
    ).finally(() => {
      running = null;
    });
    return running;
  };
  const intervalS = ctx.config.checkpoints.intervalS;
  const timer = intervalS > 0 ? setInterval(() => void tick(), intervalS * 1000) : null;
  timer?.unref();
  return {
    stop: () => {
      if (timer) clearInterval(timer);
    },
    tick,
  };
}
