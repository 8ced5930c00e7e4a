import crypto from 'node:crypto';
import { type Selectable, sql } from 'kysely';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import { reportWithheldRecord } from '../audit/withheld-values';
import { reportWithheldStopNow } from '../sync/withheld-stops';
import type { ServerContext } from '../context';
import { aadOf, columnsOf, type EncryptedColumn, encryptedTables } from '../crypto/encrypted-columns';
import { erasedFieldValue, keyIdOf } from '../crypto/field-cipher';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';
import { type EncryptedRow, fieldKeyUsage, type KeyUsage, readEncryptedRows, remainingCount, type UnreadableValue } from './field-key-usage';

/**
 * Field-key rotation (`depotline-admin keys rotate-field-key`, docs/operations.md): re-encrypts
 * every encrypted column (crypto/encrypted-columns.ts) under the current key while servers keep
 * running, in batches of rows by id.
 *
 * - Each batch is one transaction: the re-encrypted values, the rotation's cursor and a
 *   `keys.rotate_batch` audit entry. Stopped at any point (a crash, `--max-batches`), a re-run
 *   resumes after the last committed batch.
 * - Each value is replaced only if it is still the ciphertext that was read
 *   (`UPDATE ... WHERE id = ? AND col = <old>`): a value a server wrote meanwhile is never
 *   overwritten; it is already under the current key when the servers run with it.
 * - Values that do not decrypt are left as they are and reported (audit/withheld-values.ts).
 * - At the end every value is counted by key; while readable values remain under old keys
 *   (a server still writing with an old key), further passes run; the rotation finishes only
 *   when none remain, and names the keys that can then be retired.
 */

export const defaultRotationBatchSize = 500;
/** Full passes over the tables in one run before giving up on values that keep arriving under old keys. */
const maxPasses = 3;

export interface RotationOptions {
  batchSize?: number;
  /** Stop (resumably) after this many batches in this run. */
  maxBatches?: number;
  /** Finish even though some values are under a key that is not configured (they stay unreadable). */
  acceptUnreadable?: boolean;
  /** Test seams: between reading a batch and writing it, and after each committed batch. */
  hooks?: { beforeWrite?: (table: string, rowIds: readonly string[]) => Promise<void>; afterBatch?: (batch: number) => Promise<void> };
}

export type RotationOutcome =
  /** Every readable value is under the current key; `retireKeyIds` may be removed from the configuration. */
  | 'finished'
  /** Stopped at `--max-batches`; run again to continue. */
  | 'paused'
  /** Values are still arriving under an old key, or some are under a key that is not configured. */
  | 'incomplete';

export interface RotationResult {
  outcome: RotationOutcome;
  rotationId: string;
  keyId: string;
  resumed: boolean;
  /** This run. */
  batches: number;
  rewritten: number;
  /** Values a server changed between this run's read and write (left as the server wrote them). */
  skipped: number;
  /** Since the rotation started, over every run. */
  totalRewritten: number;
  /** Counted at the end of a pass (null when paused before one ended). */
  usage: KeyUsage | null;
  retireKeyIds: string[];
  message: string;
}

type Rotation = Selectable<Database['field_key_rotations']>;

export async function rotateFieldKey(ctx: ServerContext, actor: AuditActor, options: RotationOptions = {}): Promise<RotationResult> {
  const batchSize = options.batchSize ?? defaultRotationBatchSize;
  const keyId = ctx.cipher.currentKeyId;
  const { rotation, resumed } = await startOrResume(ctx, actor, keyId);
  const run = { batches: 0, rewritten: 0, skipped: 0 };
  const result = (outcome: RotationOutcome, usage: KeyUsage | null, retireKeyIds: string[], message: string, totalRewritten: number): RotationResult => ({
    outcome, rotationId: rotation.id, keyId, resumed, ...run, totalRewritten, usage, retireKeyIds, message,
  });

  let cursor = { table: rotation.cursor_table ?? encryptedTables[0]!, id: rotation.cursor_id ?? '' };
  let total = Number(rotation.rewritten);
  for (let pass = 1; pass <= maxPasses; pass++) {
    for (let t = encryptedTables.indexOf(cursor.table as EncryptedColumn['table']); t < encryptedTables.length; t++) {
      const table = encryptedTables[t]!;
      if (table !== cursor.table) cursor = { table, id: '' };
      for (;;) {
        if (options.maxBatches !== undefined && run.batches >= options.maxBatches) {
          return result('paused', null, [], `Paused after ${run.batches} batches at ${cursor.table} after "${cursor.id}"; run the command again to continue.`, total);
        }
        const rows = await readEncryptedRows(ctx.db, table, cursor.id, batchSize);
        if (rows.length === 0) break;
        await options.hooks?.beforeWrite?.(table, rows.map((r) => r.id));
        const batch = await rewriteBatch(ctx, actor, rotation.id, table, rows);
        run.batches++;
        run.rewritten += batch.rewritten;
        run.skipped += batch.skipped;
        total += batch.rewritten;
        cursor = { table, id: rows[rows.length - 1]!.id };
        await options.hooks?.afterBatch?.(run.batches);
      }
    }
    const usage = await fieldKeyUsage(ctx);
    await reportUnreadable(ctx, usage.unreadable);
    const unknownKeys = usage.unreadable.filter((u) => u.reason === 'unknown_key');
    if (remainingCount(usage) === 0 && (unknownKeys.length === 0 || options.acceptUnreadable)) {
      const retire = ctx.cipher.keyIds.filter((id) => id !== keyId);
      await finish(ctx, actor, rotation.id, keyId, usage, retire, total);
      return result('finished', usage, retire, finishedMessage(usage, retire), total);
    }
    if (remainingCount(usage) === 0) {
      const ids = [...new Set(unknownKeys.map((u) => u.keyId))].join(', ');
      await markIncomplete(ctx, actor, rotation.id, usage, `values under keys not configured: ${ids}`);
      return result('incomplete', usage, [], `${unknownKeys.length} values are under key ids (${ids}) that are not configured: add those key files to DEPOTLINE_FIELD_KEY_PREVIOUS_FILES and run again, or, if they are known to be tampered values, run again with --accept-unreadable.`, total);
    }
    // Readable values still under old keys: written meanwhile by a server that is not yet
    // running with the new key. Walk the tables again.
    cursor = { table: encryptedTables[0]!, id: '' };
    await saveCursor(ctx.db, rotation.id, cursor, ctx.now());
  }
  const usage = await fieldKeyUsage(ctx);
  await markIncomplete(ctx, actor, rotation.id, usage, 'values still arriving under old keys');
  return result('incomplete', usage, [], `${remainingCount(usage)} values are still written under old keys: restart every server with DEPOTLINE_FIELD_KEY_FILE set to the new key, then run again.`, total);
}

/** The running rotation towards the current key, or a new one; a running one towards another key is superseded. */
async function startOrResume(ctx: ServerContext, actor: AuditActor, keyId: string): Promise<{ rotation: Rotation; resumed: boolean }> {
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const running = await trx.selectFrom('field_key_rotations').selectAll().where('status', '=', 'running').orderBy('started_at', 'desc').execute();
    const same = running.find((r) => r.key_id === keyId);
    for (const other of running.filter((r) => r !== same)) {
      await trx.updateTable('field_key_rotations').set({ status: 'superseded', updated_at: now }).where('id', '=', other.id).execute();
      await appendAudit(trx, actor, { action: 'keys.rotate_superseded', outcome: 'ok', targetType: 'field_key_rotation', targetId: other.id, details: { keyId: other.key_id, by: keyId } }, now);
    }
    if (same) {
      await appendAudit(trx, actor, {
        action: 'keys.rotate_resume', outcome: 'ok', targetType: 'field_key_rotation', targetId: same.id,
        details: { keyId, cursorTable: same.cursor_table, cursorId: same.cursor_id, rewritten: Number(same.rewritten) },
      }, now);
      return { rotation: same, resumed: true };
    }
    const rotation: Rotation = {
      id: crypto.randomUUID(), key_id: keyId, status: 'running', started_at: now, updated_at: now, finished_at: null,
      cursor_table: encryptedTables[0]!, cursor_id: '', batches: 0, rewritten: 0,
    };
    await trx.insertInto('field_key_rotations').values(rotation).execute();
    await appendAudit(trx, actor, {
      action: 'keys.rotate_start', outcome: 'ok', targetType: 'field_key_rotation', targetId: rotation.id,
      details: { keyId, decryptingKeyIds: ctx.cipher.keyIds },
    }, now);
    return { rotation, resumed: false };
  });
}

/** Re-encrypts one batch's old-key values, conditionally, with the cursor and audit entry, in one transaction. */
async function rewriteBatch(ctx: ServerContext, actor: AuditActor, rotationId: string, table: EncryptedColumn['table'], rows: readonly EncryptedRow[]) {
  const keyId = ctx.cipher.currentKeyId;
  const updates: { id: string; column: string; from: string; to: string }[] = [];
  let unreadable = 0;
  for (const row of rows) {
    for (const c of columnsOf(table)) {
      const stored = row[c.column];
      if (stored === null || stored === undefined || stored === erasedFieldValue || keyIdOf(stored) === keyId) continue;
      const read = ctx.cipher.tryDecrypt(stored, aadOf(c, row.id));
      if (!read.ok) {
        unreadable++; // left as it is; reported at the end of the pass
        continue;
      }
      updates.push({ id: row.id, column: c.column, from: stored, to: ctx.cipher.encrypt(read.value, aadOf(c, row.id)) });
    }
  }
  const lastId = rows[rows.length - 1]!.id;
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    let rewritten = 0;
    for (const u of updates) {
      // Only if it is still the value read: a server's write in between stands.
      const r = await sql`update ${sql.table(table)} set ${sql.ref(u.column)} = ${u.to} where id = ${u.id} and ${sql.ref(u.column)} = ${u.from}`.execute(trx);
      rewritten += Number(r.numAffectedRows ?? 0);
    }
    const skipped = updates.length - rewritten;
    await trx.updateTable('field_key_rotations')
      .set((eb) => ({ cursor_table: table, cursor_id: lastId, updated_at: now, batches: eb('batches', '+', 1), rewritten: eb('rewritten', '+', rewritten) }))
      .where('id', '=', rotationId).execute();
    await appendAudit(trx, actor, {
      action: 'keys.rotate_batch', outcome: 'ok', targetType: 'field_key_rotation', targetId: rotationId,
      details: { table, rows: rows.length, rewritten, skipped, unreadable, cursorId: lastId },
    }, now);
    return { rewritten, skipped };
  });
}

async function saveCursor(db: Db, rotationId: string, cursor: { table: string; id: string }, now: number): Promise<void> {
  await db.updateTable('field_key_rotations').set({ cursor_table: cursor.table, cursor_id: cursor.id, updated_at: now }).where('id', '=', rotationId).execute();
}

async function finish(ctx: ServerContext, actor: AuditActor, rotationId: string, keyId: string, usage: KeyUsage, retire: string[], total: number): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    await trx.updateTable('field_key_rotations').set({ status: 'finished', finished_at: now, updated_at: now }).where('id', '=', rotationId).execute();
    await appendAudit(trx, actor, {
      action: 'keys.rotate_finish', outcome: 'ok', targetType: 'field_key_rotation', targetId: rotationId,
      details: { keyId, rewritten: total, valuesUnderCurrentKey: usage.current, unreadable: usage.unreadable.length, retireKeyIds: retire },
    }, now);
  });
}

async function markIncomplete(ctx: ServerContext, actor: AuditActor, rotationId: string, usage: KeyUsage, reason: string): Promise<void> {
  await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, {
    action: 'keys.rotate_incomplete', outcome: 'failed', targetType: 'field_key_rotation', targetId: rotationId,
    details: { reason, remaining: usage.remaining, unreadable: usage.unreadable.length },
  }, ctx.now()));
}

/** Values that do not decrypt are reported like any read that finds them: once per record and window. */
async function reportUnreadable(ctx: ServerContext, unreadable: readonly UnreadableValue[]): Promise<void> {
  const byRow = new Map<string, { first: UnreadableValue; columns: Record<string, string> }>();
  for (const u of unreadable) {
    const key = `${u.table}|${u.rowId}`;
    const entry = byRow.get(key) ?? { first: u, columns: {} };
    entry.columns[u.column] = u.reason;
    byRow.set(key, entry);
  }
  for (const { first, columns } of byRow.values()) {
    if (first.table === 'stops') {
      await reportWithheldStopNow(ctx, { table: 'stops', rowId: first.rowId, targetType: 'stop', locationId: first.locationId, columns }, ctx.now());
    } else {
      await reportWithheldRecord(ctx.db, { table: first.table, rowId: first.rowId, targetType: 'user', locationId: null, columns }, ctx.now());
    }
  }
}

function finishedMessage(usage: KeyUsage, retire: readonly string[]): string {
  const lines = [`Rotation finished: ${usage.current} values are under key ${usage.currentKeyId}; no readable value remains under an older key.`];
  if (retire.length > 0) lines.push(`Key ids ${retire.join(', ')} can be retired: remove them from DEPOTLINE_FIELD_KEY_PREVIOUS_FILES and restart the servers.`);
  if (usage.unreadable.length > 0) lines.push(`${usage.unreadable.length} values do not decrypt with any key (reported as security alerts; re-enter them): they are withheld from every reader.`);
  return lines.join('\n');
}
