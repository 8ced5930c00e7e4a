import crypto from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { dbKindOf } from '../db/database';
import type { Database } from '../db/schema';
import { canonicalJson } from './canonical';

/** Who did it, from where: built once per request or socket from the authenticated context. */
export interface AuditActor {
  userId: string | null;
  /** A label that stays readable after the user is gone: username, `system`, `cli:<os user>`. */
  label: string;
  deviceId: string | null;
  ip: string | null;
}

export interface AuditEvent {
  action: string;
  outcome: 'ok' | 'denied' | 'failed';
  targetType?: string | null;
  targetId?: string | null;
  locationId?: string | null;
  /** What changed. Customer PII and secrets are replaced by `[redacted]` before hashing. */
  details?: Record<string, unknown>;
}

export const genesisHash = '0'.repeat(64);

/** Keys whose values never enter the audit log: customer PII and credentials. */
const redactedKeys = new Set([
  'customerName', 'address', 'phone', 'notes', 'password', 'newPassword', 'totp', 'code', 'secret',
  'secretBase32', 'accessToken', 'refreshToken', 'enrollmentToken', 'token',
]);
export const redactedMarker = '[redacted]';

export function redactForAudit(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactForAudit);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = redactedKeys.has(k) && v !== null && v !== undefined ? redactedMarker : redactForAudit(v);
  }
  return out;
}

/** The fields of an entry that its hash covers: all of them except the hash itself. */
export interface ChainedFields {
  seq: number;
  at: number;
  actor_user_id: string | null;
  actor: string;
  action: string;
  outcome: string;
  target_type: string | null;
  target_id: string | null;
  location_id: string | null;
  details: string;
  device_id: string | null;
  ip: string | null;
  prev_hash: string;
}

/**
 * SHA-256 over a domain-separation byte and the canonical encoding of every field,
 * including the previous entry's hash (RFC 9162 leaf hashing; a chain is the simple case of
 * the Merkle form). Changing, removing or reordering any entry breaks every hash after it.
 *
 * The fields are strings, integers and nulls in a fixed order, for which `JSON.stringify` of
 * the array *is* the canonical encoding (no keys to sort, no non-finite numbers), and the
 * one-shot `crypto.hash` avoids a Hash object per entry: verification hashes millions.
 */
export function hashEntry(fields: ChainedFields): string {
  const encoded = JSON.stringify([
    fields.seq, fields.at, fields.actor_user_id, fields.actor, fields.action, fields.outcome,
    fields.target_type, fields.target_id, fields.location_id, fields.details, fields.device_id,
    fields.ip, fields.prev_hash,
  ]);
  return crypto.hash('sha256', `\u0000${encoded}`, 'hex');
}

/**
 * Appends one entry. Call it inside the transaction that makes the change being audited, so
 * the change and its entry commit or roll back together. The head row update serializes
 * concurrent appends (a row lock in PostgreSQL; SQLite has one writer).
 */
export async function appendAudit(
  trx: Transaction<Database> | Kysely<Database>,
  actor: AuditActor,
  event: AuditEvent,
  now = Date.now(),
): Promise<number> {
  const [seq] = await appendAuditEntries(trx, [{ actor, event }], now);
  return seq!;
}

/** Rows per INSERT: 14 columns each stays under SQLite's 999 bound parameters. */
const insertChunk = 60;

/**
 * Appends several entries in order, taking the head once: one round trip to lock and advance
 * the head, the inserts, one to store the new head hash (on PostgreSQL the last insert and the
 * new hash are one statement). A push of many mutations audits them
 * all this way, so the head row (which serializes every writer) is held for three statements,
 * not three per mutation.
 */
export async function appendAuditEntries(
  trx: Transaction<Database> | Kysely<Database>,
  entries: readonly { actor: AuditActor; event: AuditEvent }[],
  now = Date.now(),
): Promise<number[]> {
  if (entries.length === 0) return [];
  const head = await sql<{ seq: number; hash: string }>`
    update audit_head set seq = seq + ${entries.length} where id = 1 returning seq, hash`.execute(trx);
  const row = head.rows[0];
  if (!row) throw new Error('audit_head row is missing: the database was not migrated');
  let seq = Number(row.seq) - entries.length;
  let prevHash = row.hash;
  const rows: (ChainedFields & { hash: string })[] = [];
  for (const { actor, event } of entries) {
    const fields: ChainedFields = {
      seq: ++seq,
      at: now,
      actor_user_id: actor.userId,
      actor: actor.label,
      action: event.action,
      outcome: event.outcome,
      target_type: event.targetType ?? null,
      target_id: event.targetId ?? null,
      location_id: event.locationId ?? null,
      details: canonicalJson(redactForAudit(event.details ?? {})),
      device_id: actor.deviceId,
      ip: actor.ip,
      prev_hash: prevHash,
    };
    prevHash = hashEntry(fields);
    rows.push({ ...fields, hash: prevHash });
  }
  const last = Math.floor((rows.length - 1) / insertChunk) * insertChunk;
  for (let i = 0; i < last; i += insertChunk) {
    await trx.insertInto('audit_log').values(rows.slice(i, i + insertChunk)).execute();
  }
  if (dbKindOf(trx) === 'postgres') {
    // The last rows and the new head hash in one statement: the head row (which every writer
    // waits for) is then held for one client round trip less.
    await trx.with('entries', (db) => db.insertInto('audit_log').values(rows.slice(last)))
      .updateTable('audit_head').set({ hash: prevHash }).where('id', '=', 1).execute();
  } else {
    await trx.insertInto('audit_log').values(rows.slice(last)).execute();
    await trx.updateTable('audit_head').set({ hash: prevHash }).where('id', '=', 1).execute();
  }
  return rows.map((r) => r.seq);
}

export const systemActor: AuditActor = { userId: null, label: 'system', deviceId: null, ip: null };
