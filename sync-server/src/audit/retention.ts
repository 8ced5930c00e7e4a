import path from 'node:path';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { ServerContext } from '../context';
import { signNote } from '../crypto/signed-note';
import type { Database } from '../db/schema';
import { anchorNoteFileName, anchorNoteText, readAuditAnchor } from './anchor';
import { appendAudit, systemActor } from './audit-log';
import { checkpointsToExtend } from './checkpoint-guard';
import { readCheckpoint, writeOnce } from './checkpoint-files';
import { verifyAuditChain } from './verify';

/**
 * Audit-log retention (docs/security-model.md, "Audit retention"). The oldest entries past the
 * audit period are deleted only as a prefix that
 *
 * - holds nothing written at or after the cutoff,
 * - holds nothing younger than 365 days by the database's clock (the database refuses it too),
 * - ends exactly at a checkpoint signed with a trusted key (the largest one that fits) and
 *   registered at least a day ago by the database's clock (ditto), and
 * - was verified just before: the chain from the current anchor to the head, and the checkpoints
 *   the signer would have to extend (checkpoint-guard.ts).
 *
 * One transaction then appends an `audit.prune` entry (range, count, the hash kept), records the
 * anchor (audit/anchor.ts; the database accepts it only at a registered checkpoint with that
 * hash, migration 0025), writes the anchor's note signed with the checkpoint key, and deletes the
 * prefix (on PostgreSQL through the owner's `depotline_prune_audit()`, as the server's role may
 * not delete audit entries). So the prune is granular to the checkpoint interval: entries after
 * the newest checkpoint old enough wait for a later run.
 */

export interface AuditPruneResult {
  /** Entries deleted by this call (0 when nothing was old enough or no checkpoint covers it). */
  deleted: number;
  /** The first seq kept after this prune (the anchor), or null when nothing was pruned. */
  anchorSeq: number | null;
  /** Set when the prune was refused because the log or its checkpoints do not verify (logged and audited). */
  refused?: string;
}

export type AuditPruneContext = Pick<ServerContext, 'db' | 'dbKind' | 'config' | 'checkpointKeys' | 'now' | 'log'>;

/** Audit entries are never pruned younger than this, whatever the caller asks (the database keeps the same floor, migration 0025). */
export const minAuditRetentionDays = 365;
/** A prune ends only at a checkpoint registered at least this long ago by the database's clock (migration 0025). */
export const checkpointMinAgeHours = 24;
const hour = 3_600_000;
const day = 24 * hour;

/** The database's clock in epoch ms: the one its audit floor is kept by. */
async function databaseTime(ctx: AuditPruneContext): Promise<number> {
  const query = ctx.dbKind === 'postgres'
    ? sql<{ t: string | number }>`select (extract(epoch from now()) * 1000)::bigint as t`
    : sql<{ t: string | number }>`select cast((julianday('now') - 2440587.5) * 86400000 as integer) as t`;
  return Number((await query.execute(ctx.db)).rows[0]!.t);
}

/**
 * Deletes the audit entries written before `cutoff` (epoch ms) that form a verified prefix ending
 * at a signed checkpoint, leaving an anchor and an `audit.prune` entry.
 */
export async function pruneAuditLog(ctx: AuditPruneContext, cutoff: number): Promise<AuditPruneResult> {
  const { db } = ctx;
  const now = ctx.now();
  if (!Number.isFinite(cutoff) || cutoff > now - minAuditRetentionDays * day) {
    throw new RangeError(`Audit entries are kept at least ${minAuditRetentionDays} days: a prune cutoff of ${new Date(cutoff).toISOString()} is too recent.`);
  }
  const anchor = await readAuditAnchor(db);
  const start = anchor?.firstSeq ?? 1;
  // The database refuses to prune entries younger than the floor by its own clock (migration
  // 0025), so a server clock running ahead never gets an anchor refused halfway through.
  const dbNow = await databaseTime(ctx);
  const before = Math.min(cutoff, dbNow - minAuditRetentionDays * day);
  const recent = await db.selectFrom('audit_log').select((eb) => eb.fn.min('seq').as('seq')).where('at', '>=', before).executeTakeFirst();
  const head = await db.selectFrom('audit_head').select('seq').where('id', '=', 1).executeTakeFirstOrThrow();
  const lastOld = recent?.seq === null || recent?.seq === undefined ? Number(head.seq) : Number(recent.seq) - 1;
  const checkpoint = await db.selectFrom('audit_checkpoints').select(['size', 'root_hash', 'file'])
    .where('size', '>=', start).where('size', '<=', lastOld)
    .where((eb) => eb.or([eb('recorded_at', 'is', null), eb('recorded_at', '<=', dbNow - checkpointMinAgeHours * hour)]))
    .orderBy('size', 'desc').limit(1).executeTakeFirst();
  if (!checkpoint) return { deleted: 0, anchorSeq: null };
  const size = Number(checkpoint.size);

  const refusal = await whyNotPrunable(ctx, size, checkpoint.root_hash, checkpoint.file);
  if (refusal) {
    ctx.log.error('audit prune refused: the audit log or its checkpoints do not verify', { detail: refusal });
    await db.transaction().execute((trx) => appendAudit(trx, systemActor, {
      action: 'audit.prune', outcome: 'failed', targetType: 'audit_log', details: { toSeq: size, detail: refusal },
    }, now));
    return { deleted: 0, anchorSeq: null, refused: refusal };
  }

  const { signer } = ctx.checkpointKeys;
  const firstSeq = size + 1;
  const expected = size - start + 1;
  const deleted = await db.transaction().execute(async (trx) => {
    const details = { fromSeq: start, toSeq: size, deleted: expected, firstKeptSeq: firstSeq, prevHash: checkpoint.root_hash, checkpoint: checkpoint.file, cutoff };
    const pruneSeq = await appendAudit(trx, systemActor, { action: 'audit.prune', outcome: 'ok', targetType: 'audit_log', details }, now);
    const noteFile = anchorNoteFileName(firstSeq, pruneSeq, signer.keyId);
    await trx.insertInto('audit_anchors').values({
      first_seq: firstSeq, prev_hash: checkpoint.root_hash, prune_seq: pruneSeq, pruned_at: now, checkpoint_file: checkpoint.file, note_file: noteFile,
    }).execute();
    const removed = ctx.dbKind === 'postgres'
      ? Number((await sql<{ n: string }>`select depotline_prune_audit() as n`.execute(trx)).rows[0]!.n)
      : Number((await trx.deleteFrom('audit_log').where('seq', '<', firstSeq).executeTakeFirst()).numDeletedRows);
    if (removed !== expected) throw new Error(`audit prune stopped: ${removed} entries below seq ${firstSeq} instead of ${expected}`);
    // Written before the commit: a note whose anchor rolled back vouches for nothing that exists.
    const note = signNote(anchorNoteText(signer.name, { firstSeq, prevHash: checkpoint.root_hash, pruneSeq }), signer);
    if (writeOnce(ctx.config.checkpoints.dir, noteFile, note) === 'conflict') throw new Error(`audit prune stopped: ${noteFile} exists with another content`);
    return removed;
  });
  ctx.log.info('audit log pruned', { deleted, firstSeq, checkpoint: checkpoint.file });
  return { deleted, anchorSeq: firstSeq };
}

/** Null when the prefix up to `size` may go: the chain and the checkpoints verify, and the one at `size` is signed. */
async function whyNotPrunable(ctx: AuditPruneContext, size: number, rootHash: string, file: string): Promise<string | null> {
  const { signer, trusted } = ctx.checkpointKeys;
  const dir = ctx.config.checkpoints.dir;
  const chain = await verifyAuditChain(ctx.db);
  if (!chain.ok) return `the chain is broken at seq ${chain.firstBroken.seq} (${chain.firstBroken.reason}): ${chain.firstBroken.detail}`;
  const guard = await checkpointsToExtend(ctx.db, dir, [signer, ...trusted]);
  if (!guard.ok) return guard.detail;
  const read = readCheckpoint(path.join(dir, path.basename(file)), [signer, ...trusted]);
  if ('problem' in read) return `the checkpoint at size ${size} (${file}) is not valid: ${read.problem}. ${read.detail}`;
  if (read.checkpoint.size !== size || read.checkpoint.rootHash !== rootHash) return `the checkpoint file ${file} does not state the size and hash the register holds`;
  return null;
}

export interface SessionPurgeResult {
  /** Ids of the sessions deleted (for the caller's evidence entry: hash them, never log them). */
  sessionIds: string[];
  /** Refresh tokens deleted with them. */
  refreshTokens: number;
}

/** Sessions per call: the caller loops until fewer come back. */
export const sessionPurgeBatch = 5000;
const idsPerStatement = 500;

/**
 * Deletes up to `limit` sessions that ended before `before` (epoch ms: revoked, or expired,
 * before it) and their refresh tokens. Given a transaction, runs in it, so the caller's evidence
 * entry commits with the deletion; given the database, runs in a transaction of its own.
 */
export async function purgeEndedSessions(
  db: Kysely<Database> | Transaction<Database>, before: number, limit = sessionPurgeBatch,
): Promise<SessionPurgeResult> {
  const run = async (trx: Kysely<Database>): Promise<SessionPurgeResult> => {
    const rows = await trx.selectFrom('sessions').select('id')
      .where((eb) => eb.or([eb('expires_at', '<', before), eb('revoked_at', '<', before)]))
      .orderBy('id').limit(Math.max(1, Math.floor(limit))).execute();
    const sessionIds = rows.map((r) => r.id);
    let refreshTokens = 0;
    for (let i = 0; i < sessionIds.length; i += idsPerStatement) {
      const ids = sessionIds.slice(i, i + idsPerStatement);
      refreshTokens += Number((await trx.deleteFrom('refresh_tokens').where('session_id', 'in', ids).executeTakeFirst()).numDeletedRows);
      await trx.deleteFrom('sessions').where('id', 'in', ids).execute();
    }
    return { sessionIds, refreshTokens };
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}
