import crypto from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { appendAuditEntries, type AuditActor, systemActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';
import { checkpointAfterCommit } from '../proofs/deletion';
import { proofFileStore } from '../proofs/storage';
import type { Touched } from '../sync/mutations/handler';
import { erasedStopValue } from '../sync/stop-pii';

/**
 * The one way a stop loses its customer's data (docs/security-model.md, "Retention and erasure"):
 * the scheduled purge and a data subject's erasure both go through these functions, so what
 * "pseudonymised" and "deleted" mean is decided here once.
 *
 * Both work set-wise: one version bump of the location for the whole set (`version + n`), one
 * UPDATE or DELETE per table, change-log entries written many rows per INSERT. Every stop still
 * gets its own version and change-log entry, so desktops receive the new state (a pseudonymised
 * stop) or a `removed` entry through the pull and the live feed. The caller owns the transaction
 * and broadcasts the returned `Touched` with the live feed once it has committed.
 */

type Trx = Transaction<Database> | Db;

/** Rows per multi-row statement: 3 bound values a row stays well under every engine's limit. */
const rowsPerStatement = 1000;

const chunksOf = <T>(xs: readonly T[], n = rowsPerStatement): T[][] =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/**
 * Takes the location's row lock before the set is read (PostgreSQL; SQLite has one writer), so two
 * erasures of the same stops serialise and the second finds nothing left to do: no double evidence.
 */
async function lockLocation(trx: Trx, locationId: string): Promise<void> {
  await sql`update locations set version = version where id = ${locationId}`.execute(trx);
}

/**
 * Takes `count` consecutive versions of a location in one statement and writes one change-log
 * entry per stop; returns each stop's new version, in the order given.
 */
async function recordStopChanges(trx: Trx, locationId: string, stopIds: readonly string[], now: number): Promise<number[]> {
  const bumped = await sql<{ version: number }>`
    update locations set version = version + ${stopIds.length} where id = ${locationId} returning version`.execute(trx);
  const top = bumped.rows[0]?.version;
  if (top === undefined) throw new Error(`location ${locationId} does not exist`);
  const first = Number(top) - stopIds.length + 1;
  const versions = stopIds.map((_, i) => first + i);
  for (const part of chunksOf(stopIds.map((id, i) => ({ location_id: locationId, version: versions[i]!, entity: 'stop', entity_id: id, at: now })))) {
    await trx.insertInto('changes').values(part).execute();
  }
  return versions;
}

/**
 * Removes the customer's identity from stops of one location, keeping the delivery record:
 * name, address and notes become the erased marker; phone, email, coordinates, payment reference,
 * failure note, the PIN's ciphertext and both blind indexes become NULL; the GPS of their proofs
 * too (it tells where the customer lives). Status, times, order reference, parcels, checks and
 * proof metadata stay. Stops already pseudonymised, or not of this location, are left alone.
 */
export async function pseudonymiseStops(trx: Trx, ctx: ServerContext, locationId: string, stopIds: readonly string[], now: number): Promise<Touched[]> {
  void ctx;
  await lockLocation(trx, locationId);
  const ids: string[] = [];
  for (const part of chunksOf([...new Set(stopIds)])) {
    const rows = await trx.selectFrom('stops').select('id').where('id', 'in', part)
      .where('location_id', '=', locationId).where('pseudonymised_at', 'is', null).execute();
    ids.push(...rows.map((r) => r.id));
  }
  if (ids.length === 0) return [];
  const versions = await recordStopChanges(trx, locationId, ids, now);
  for (const [i, part] of chunksOf(ids).entries()) {
    const values = sql.join(part.map((id, j) => sql`(${id}, cast(${versions[i * rowsPerStatement + j]!} as bigint))`));
    await sql`
      with v(id, version) as (values ${values})
      update stops set customer_name_enc = ${erasedStopValue}, address_enc = ${erasedStopValue}, notes_enc = ${erasedStopValue},
        phone_enc = null, email_enc = null, coordinates_enc = null, payment_ref_enc = null, failure_note_enc = null,
        pin_enc = null, phone_bidx = null, email_bidx = null, pseudonymised_at = ${now},
        version = v.version, updated_at = ${now}, updated_by = ${systemActor.label}
      from v where stops.id = v.id`.execute(trx);
    await trx.updateTable('proofs').set({ gps_enc: null }).where('stop_id', 'in', part).where('gps_enc', 'is not', null).execute();
  }
  return ids.map((id) => ({ entity: 'stop', id, locationId }));
}

/**
 * Deletes stops of one location and everything hanging on them: tracking links and their view
 * counts, delivery checks, proof rows (destroy their keys first: `destroyProofsOfStops`),
 * integration order links, idempotency records and webhook deliveries. Each stop gets a
 * change-log entry at a new version, which the pull and the live feed turn into `removed`.
 */
export async function deleteStops(trx: Trx, ctx: ServerContext, locationId: string, stopIds: readonly string[], now: number): Promise<Touched[]> {
  void ctx;
  await lockLocation(trx, locationId);
  const rows: { id: string; route_id: string }[] = [];
  for (const part of chunksOf([...new Set(stopIds)])) {
    rows.push(...await trx.selectFrom('stops').select(['id', 'route_id']).where('id', 'in', part).where('location_id', '=', locationId).execute());
  }
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const versions = await recordStopChanges(trx, locationId, ids, now);
  for (const part of chunksOf(ids)) {
    await trx.deleteFrom('tracking_link_hits')
      .where('link_id', 'in', (eb) => eb.selectFrom('tracking_links').select('id').where('stop_id', 'in', part)).execute();
    await trx.deleteFrom('tracking_links').where('stop_id', 'in', part).execute();
    await trx.deleteFrom('delivery_checks').where('stop_id', 'in', part).execute();
    await trx.deleteFrom('proofs').where('stop_id', 'in', part).execute();
    await trx.deleteFrom('integration_orders').where('stop_id', 'in', part).execute();
    await trx.deleteFrom('idempotency_keys').where('stop_id', 'in', part).execute();
    await trx.deleteFrom('webhook_deliveries').where('stop_id', 'in', part).execute();
    await trx.deleteFrom('stops').where('id', 'in', part).execute();
  }
  return rows.map((r, i) => ({ entity: 'stop', id: r.id, locationId, removed: { version: versions[i]!, routeId: r.route_id } }));
}

/**
 * Destroys the proofs of these stops by destroying their wrapped keys (the sealed files then open
 * nowhere), removes the files once committed, and records one evidence entry per location.
 * Returns the proofs destroyed now; proofs already destroyed are left as they are.
 */
export async function destroyProofsOfStops(
  ctx: ServerContext, stopIds: readonly string[], actor: AuditActor, opts: { requestId?: string } = {},
): Promise<{ destroyed: string[] }> {
  const now = ctx.now();
  const destroyed: { id: string; location_id: string; storage_key: string | null }[] = [];
  await ctx.db.transaction().execute(async (trx) => {
    for (const part of chunksOf([...new Set(stopIds)])) {
      destroyed.push(...await trx.selectFrom('proofs').select(['id', 'location_id', 'storage_key'])
        .where('stop_id', 'in', part).where('deleted_at', 'is', null).execute());
    }
    const byLocation = new Map<string, string[]>();
    for (const p of destroyed) byLocation.set(p.location_id, [...(byLocation.get(p.location_id) ?? []), p.id]);
    for (const [locationId, ids] of byLocation) {
      await destroyProofKeys(trx, ids, actor, now);
      await recordEvidence(trx, ctx, { action: 'retention.erase', class: 'proof', locationId, cutoff: null, mode: 'destroyKeys', ids, actor, ...opts });
    }
  });
  await removeProofFiles(ctx, destroyed);
  return { destroyed: destroyed.map((p) => p.id) };
}

/** Nulls the wrapped keys of live proofs (by id) in the caller's transaction. */
export async function destroyProofKeys(trx: Trx, proofIds: readonly string[], actor: AuditActor, now: number): Promise<void> {
  for (const part of chunksOf(proofIds)) {
    await trx.updateTable('proofs').set({ wrapped_key: null, gps_enc: null, deleted_at: now, deleted_by: actor.label })
      .where('id', 'in', part).where('deleted_at', 'is', null).execute();
  }
}

/** After the keys' destruction has committed: the sealed files go from the store (best effort: without their keys they are noise). */
export async function removeProofFiles(ctx: ServerContext, proofs: readonly { storage_key: string | null }[]): Promise<void> {
  if (proofs.length === 0) return;
  const store = proofFileStore(ctx);
  for (const p of proofs) {
    if (p.storage_key === null) continue;
    await store.delete(p.storage_key).catch((err: unknown) => ctx.log.error('a destroyed proof\'s file could not be removed; its key is gone', { error: err instanceof Error ? err.message : String(err) }));
  }
  checkpointAfterCommit(ctx);
}

export type EvidenceMode = 'pseudonymise' | 'delete' | 'destroyKeys';

export interface Evidence {
  /** The audit action: `retention.purge` for the scheduled purge, `retention.erase` for an erasure. */
  action: string;
  /** The retention class the records belong to. */
  class: string;
  /** Null for the global classes (sessions, integration logs, audit). */
  locationId: string | null;
  /** Records older than this (ms since the epoch) were due; null for an erasure. */
  cutoff: number | null;
  mode: EvidenceMode;
  /** The records' ids: only their count and a hash over them reach the log. */
  ids: readonly string[];
  /** The data subject request behind an erasure. */
  requestId?: string;
  /** Who did it; the system for the scheduled purge. */
  actor?: AuditActor;
}

/** SHA-256 (hex) over the ids sorted and joined by newlines: recomputable by whoever holds the list, revealing nothing to whoever does not. */
export function idsDigest(ids: readonly string[]): string {
  return crypto.createHash('sha256').update([...ids].sort().join('\n')).digest('hex');
}

/**
 * Evidence of deletion: one audit entry in the caller's transaction, so it commits with the
 * writes it describes or not at all (a crashed batch leaves neither). Details: class, location,
 * cutoff, mode, count and the ids' digest; never the records' data or the ids themselves.
 */
export async function recordEvidence(trx: Trx, ctx: ServerContext, e: Evidence): Promise<number> {
  const [seq] = await appendAuditEntries(trx, [{
    actor: e.actor ?? systemActor,
    event: {
      action: e.action, outcome: 'ok', targetType: e.locationId === null ? null : 'location', targetId: e.locationId, locationId: e.locationId,
      details: {
        class: e.class, cutoff: e.cutoff, mode: e.mode, count: e.ids.length, idsSha256: idsDigest(e.ids),
        ...(e.requestId === undefined ? {} : { requestId: e.requestId }),
      },
    },
  }], ctx.now());
  return seq!;
}
