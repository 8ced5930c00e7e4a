import type { AuditEntry } from '@depotline/shared';
import type { Writable } from 'node:stream';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../db/schema';
import { type AuditVerifyResult, verifyAuditChain } from './verify';

export interface AuditExportOptions {
  /** Only entries about this location. The chain is still verified as a whole. */
  locationId?: string | null;
  /** Only entries with a seq above this one (an incremental export continues from the last). */
  afterSeq?: number;
  batchSize?: number;
}

/** The last line of an export: what it holds and whether the log it came from is intact. */
export interface AuditExportSummary {
  type: 'summary';
  exported: number;
  /** The seq of the last exported entry, to pass as `afterSeq` next time. */
  lastSeq: number | null;
  filter: { locationId: string | null; afterSeq: number };
  /** The head the export was bounded by: entries after it were written during the export. */
  head: { seq: number; hash: string } | null;
  verify: AuditVerifyResult;
  exportedAt: string;
}

/** Where the lines go: a file stream, stdout, or anything else writable. */
export type LineSink = Pick<Writable, 'write' | 'once' | 'off'>;

type AuditRow = Selectable<Database['audit_log']>;

/**
 * The stored entry in the shape of the REST API (shared `AuditEntry`). `details` is parsed
 * from the canonical JSON that was hashed; `canonicalJson(details)` gives those bytes back,
 * so an auditor can recompute every exported entry's hash.
 */
export function presentAuditEntry(row: AuditRow): AuditEntry {
  return {
    seq: Number(row.seq), at: Number(row.at), actorUserId: row.actor_user_id, actor: row.actor, action: row.action,
    outcome: row.outcome as AuditEntry['outcome'], targetType: row.target_type, targetId: row.target_id,
    locationId: row.location_id, details: parseDetails(row.details), deviceId: row.device_id, ip: row.ip,
    prevHash: row.prev_hash, hash: row.hash,
  };
}

function parseDetails(text: string): Record<string, unknown> {
  // A tampered row may hold anything; export it visibly rather than fail the whole export.
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return { $unparsed: text };
}

/**
 * Writes the audit log as JSON lines: one `AuditEntry` per line in seq order, then one
 * summary line with the verification of the whole chain. Memory stays flat: entries are read
 * in keyset-paged batches and each batch is written as one chunk, honouring backpressure.
 */
export async function exportAuditLog(db: Kysely<Database>, sink: LineSink, options: AuditExportOptions = {}): Promise<AuditExportSummary> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 5000));
  const locationId = options.locationId ?? null;
  const afterSeq = Math.max(0, Math.floor(options.afterSeq ?? 0));
  const headRow = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  const head = headRow ? { seq: Number(headRow.seq), hash: headRow.hash } : null;

  let exported = 0;
  let lastSeq: number | null = null;
  let cursor = afterSeq;
  for (;;) {
    let query = db.selectFrom('audit_log').selectAll().where('seq', '>', cursor);
    if (head) query = query.where('seq', '<=', head.seq);
    if (locationId !== null) query = query.where('location_id', '=', locationId);
    const rows = await query.orderBy('seq').limit(batchSize).execute();
    if (rows.length === 0) break;
    let chunk = '';
    for (const row of rows) chunk += JSON.stringify(presentAuditEntry(row)) + '\n';
    await write(sink, chunk);
    exported += rows.length;
    lastSeq = cursor = Number(rows[rows.length - 1]!.seq);
    if (rows.length < batchSize) break;
  }

  const verify = await verifyAuditChain(db, { batchSize });
  const summary: AuditExportSummary = {
    type: 'summary', exported, lastSeq, filter: { locationId, afterSeq }, head, verify, exportedAt: new Date().toISOString(),
  };
  await write(sink, JSON.stringify(summary) + '\n');
  return summary;
}

function write(sink: LineSink, chunk: string): Promise<void> {
  if (sink.write(chunk)) return Promise.resolve();
  // A stream that fails (disk full) never drains: surface its error instead of hanging.
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      sink.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      sink.off('drain', onDrain);
      reject(err);
    };
    sink.once('drain', onDrain);
    sink.once('error', onError);
  });
}
