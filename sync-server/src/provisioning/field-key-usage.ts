import { sql } from 'kysely';
import type { ServerContext } from '../context';
import { aadOf, columnsOf, type EncryptedColumn, encryptedTables } from '../crypto/encrypted-columns';
import { erasedFieldValue, type FieldDecryptFailure, keyIdOf } from '../crypto/field-cipher';
import type { Db } from '../db/database';

/**
 * Which field key every stored encrypted value is under (docs/operations.md, "Rotating the
 * field key"): what `keys status` shows and what a rotation checks before it declares the old
 * keys retired. Values are read in batches by row id; only values under another key than the
 * current one are decrypted.
 */

/** An encrypted row as read for rotation: its id, location (when it has one) and stored values. */
export type EncryptedRow = { id: string; location_id?: string | null } & Record<string, string | null>;

/** One stored value that does not decrypt with any configured key. */
export interface UnreadableValue {
  table: string;
  rowId: string;
  column: string;
  reason: FieldDecryptFailure;
  keyId: string | null;
  locationId: string | null;
}

export interface KeyUsage {
  currentKeyId: string;
  /** Values under the current key. */
  current: number;
  /** Values under older keys that still decrypt: the rotation's remaining work, by key id. */
  remaining: Record<string, number>;
  /** Values that do not decrypt at all (tampered, or under a key that is not configured). */
  unreadable: UnreadableValue[];
}

/** A page of rows of one table after `afterId`, in id order, with every encrypted column. */
export async function readEncryptedRows(db: Db, table: EncryptedColumn['table'], afterId: string, limit: number): Promise<EncryptedRow[]> {
  const columns = columnsOf(table);
  const extra = columns[0]!.locationColumn ? [sql.ref(columns[0]!.locationColumn)] : [];
  const { rows } = await sql<EncryptedRow>`select ${sql.join([sql.ref('id'), ...extra, ...columns.map((c) => sql.ref(c.column))])}
    from ${sql.table(table)} where id > ${afterId} order by id limit ${limit}`.execute(db);
  return rows;
}

/** Counts every stored value by key; never returns a plaintext. */
export async function fieldKeyUsage(ctx: ServerContext, batchSize = 1000, maxUnreadableListed = 1000): Promise<KeyUsage> {
  const usage: KeyUsage = { currentKeyId: ctx.cipher.currentKeyId, current: 0, remaining: {}, unreadable: [] };
  for (const table of encryptedTables) {
    let after = '';
    for (;;) {
      const rows = await readEncryptedRows(ctx.db, table, after, batchSize);
      if (rows.length === 0) break;
      for (const row of rows) {
        for (const c of columnsOf(table)) {
          const stored = row[c.column];
          if (stored === null || stored === undefined || stored === erasedFieldValue) continue;
          const keyId = keyIdOf(stored);
          if (keyId === usage.currentKeyId) {
            // Counted without decrypting: retiring an old key depends only on the values under it.
            usage.current++;
            continue;
          }
          const read = ctx.cipher.tryDecrypt(stored, aadOf(c, row.id));
          if (read.ok) usage.remaining[keyId!] = (usage.remaining[keyId!] ?? 0) + 1;
          else if (usage.unreadable.length < maxUnreadableListed) {
            usage.unreadable.push({ table, rowId: row.id, column: c.name, reason: read.reason, keyId: read.keyId, locationId: row.location_id ?? null });
          }
        }
      }
      after = rows[rows.length - 1]!.id;
    }
  }
  return usage;
}

export const remainingCount = (usage: KeyUsage) => Object.values(usage.remaining).reduce((a, b) => a + b, 0);
