import type { Db } from '../db/database';
import { appendAudit, type AuditActor } from './audit-log';

/**
 * Values that do not decrypt (docs/security-model.md, "Tampered values"). A stored ciphertext
 * that fails authentication was altered, or moved from another row or column, by someone with
 * database access. Readers withhold that value and keep serving everything else; the record is
 * reported here as a `security.alert` audit entry naming it, once per record and window however
 * often it is read, and again at once if other columns of it go bad.
 */

/** A record is re-alerted at most this often while it stays unreadable. */
export const withheldAlertWindowMs = 24 * 60 * 60 * 1000;

/** The actor of alerts the server raises on its own, while serving someone else's read. */
export const systemActor: AuditActor = { userId: null, label: 'system', deviceId: null, ip: null };

export interface WithheldRecord {
  /** The table and row holding the values, e.g. `stops` and the stop's id. */
  table: string;
  rowId: string;
  /** How the audit entry names the target (`stop`, `user`). */
  targetType: string;
  locationId: string | null;
  /** The stored columns (without `_enc`) that did not decrypt, each with its reason. */
  columns: Readonly<Record<string, string>>;
}

/**
 * Records that `record` holds values that did not decrypt, and says whether its alert is due
 * now: the first time, once the window has passed, or when the set of columns changed. One
 * conditional upsert, so of several servers reading the record at once exactly one raises it.
 */
export async function claimWithheldAlert(db: Db, record: WithheldRecord, now: number, windowMs = withheldAlertWindowMs): Promise<boolean> {
  const columns = Object.keys(record.columns).sort().join(',');
  const claimed = await db
    .insertInto('withheld_values')
    .values({ table_name: record.table, row_id: record.rowId, columns, location_id: record.locationId, first_seen_at: now, alerted_at: now })
    .onConflict((oc) => oc.columns(['table_name', 'row_id'])
      .doUpdateSet({ columns, alerted_at: now })
      .where((eb) => eb.or([eb('withheld_values.alerted_at', '<=', now - windowMs), eb('withheld_values.columns', '<>', columns)])))
    .returning('row_id')
    .executeTakeFirst();
  return claimed !== undefined;
}

/** What the alert's audit entry says: never the stored value, only where it is and why it failed. */
export function withheldAlertDetails(record: WithheldRecord): Record<string, unknown> {
  // A list, not an object keyed by column: column names such as `address` are PII keys the
  // audit log redacts, and the name is what an investigator needs.
  const values = Object.keys(record.columns).sort().map((column) => ({ column, reason: record.columns[column] }));
  return { kind: 'value_withheld', table: record.table, values };
}

/**
 * Claims the record's alert and, when due, appends the `security.alert` entry and runs
 * `notify` (notices to people), in one transaction. Returns whether an alert was raised.
 */
export async function reportWithheldRecord(
  db: Db,
  record: WithheldRecord,
  now: number,
  options: { actor?: AuditActor; notify?: (trx: Db) => Promise<void> } = {},
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    if (!(await claimWithheldAlert(trx, record, now))) return false;
    await appendAudit(trx, options.actor ?? systemActor, {
      action: 'security.alert', outcome: 'ok', targetType: record.targetType, targetId: record.rowId, locationId: record.locationId,
      details: withheldAlertDetails(record),
    }, now);
    await options.notify?.(trx);
    return true;
  });
}
