import crypto from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { appendAuditEntries, type AuditActor, systemActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db, DbKind } from '../db/database';
import type { Database } from '../db/schema';
import { checkpointAfterCommit } from '../proofs/deletion';
import { proofFileStore } from '../proofs/storage';
import type { Touched } from '../sync/mutations/handler';
import { erasedStopValue } from '../sync/stop-pii';

/**
 * The one way a stop loses its customer's data (docs/security-model.md, "The purge and its evidence"):
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

/**
 * A list of ids as a table `(id, ord)`, bound as ONE parameter (a JSON array on SQLite, a text[]
 * on PostgreSQL), `ord` counting from 1 in the order given. Thousands of ids cost one bound value,
 * not thousands, and the statements stay the same size whatever the batch.
 */
function idTable(kind: DbKind, ids: readonly string[]) {
  return kind === 'postgres'
    ? sql`(select id, ord from unnest(cast(${[...ids]} as text[])) with ordinality as u(id, ord))`
    : sql`(select value as id, key + 1 as ord from json_each(${JSON.stringify(ids)}))`;
}

/** `column in (ids)`, the ids bound as one parameter. */
export function inIdList(kind: DbKind, column: string, ids: readonly string[]) {
  return sql<boolean>`${sql.ref(column)} in (select id from ${idTable(kind, ids)} as l)`;
}

/**
 * Takes the location's row lock before the set is read (PostgreSQL; SQLite has one writer), so two
 * erasures of the same stops serialise and the second finds nothing left to do: no double evidence.
 */
async function lockLocation(trx: Trx, locationId: string): Promise<void> {
  await sql`update locations set version = version where id = ${locationId}`.execute(trx);
}

/**
 * Takes `ids.length` consecutive versions of a location in one statement and writes one change-log
 * entry per record (stops, or routes) in another; `ids[i]` gets version `first + i`. Returns `first`.
 */
export async function recordChanges(trx: Trx, kind: DbKind, locationId: string, ids: readonly string[], now: number, entity: 'stop' | 'route' = 'stop'): Promise<number> {
  const bumped = await sql<{ version: number }>`
    update locations set version = version + ${ids.length} where id = ${locationId} returning version`.execute(trx);
  const top = bumped.rows[0]?.version;
  if (top === undefined) throw new Error(`location ${locationId} does not exist`);
  const first = Number(top) - ids.length + 1;
  await sql`insert into changes (location_id, version, entity, entity_id, at)
    select ${locationId}, cast(${first - 1} as bigint) + e.ord, cast(${entity} as text), e.id, cast(${now} as bigint) from ${idTable(kind, ids)} as e`.execute(trx);
  return first;
}

/** A pseudonymised stop that holds a customer value again (written around the rules) is erased again. */
const anythingLeft = sql`s.customer_name_enc <> ${erasedStopValue} or s.address_enc <> ${erasedStopValue} or s.notes_enc <> ${erasedStopValue}
  or s.phone_enc is not null or s.email_enc is not null or s.coordinates_enc is not null or s.payment_ref_enc is not null
  or s.failure_note_enc is not null or s.pin_enc is not null or s.phone_bidx is not null or s.email_bidx is not null`;

/**
 * Removes the customer's identity from stops of one location, keeping the delivery record:
 * name, address and notes become the erased marker; phone, email, coordinates, payment reference,
 * failure note, the PIN's ciphertext and both blind indexes become NULL; the GPS of their proofs
 * too (it tells where the customer lives). Status, times, order reference, parcels, checks and
 * proof metadata stay. Stops already pseudonymised (and still erased), or not of this location, are left alone.
 */
export async function pseudonymiseStops(trx: Trx, ctx: ServerContext, locationId: string, stopIds: readonly string[], now: number): Promise<Touched[]> {
  const kind = ctx.dbKind;
  await lockLocation(trx, locationId);
  const found = await sql<{ id: string }>`select s.id from stops s join ${idTable(kind, [...new Set(stopIds)])} as e on s.id = e.id
    where s.location_id = ${locationId} and (s.pseudonymised_at is null or ${anythingLeft}) order by e.ord`.execute(trx);
  const ids = found.rows.map((r) => r.id);
  if (ids.length === 0) return [];
  const first = await recordChanges(trx, kind, locationId, ids, now);
  await sql`update stops set customer_name_enc = ${erasedStopValue}, address_enc = ${erasedStopValue}, notes_enc = ${erasedStopValue},
      phone_enc = null, email_enc = null, coordinates_enc = null, payment_ref_enc = null, failure_note_enc = null,
      pin_enc = null, phone_bidx = null, email_bidx = null, pseudonymised_at = ${now},
      version = cast(${first - 1} as bigint) + e.ord, updated_at = ${now}, updated_by = ${systemActor.label}
    from ${idTable(kind, ids)} as e where stops.id = e.id`.execute(trx);
  await trx.updateTable('proofs').set({ gps_enc: null }).where(inIdList(kind, 'stop_id', ids)).where('gps_enc', 'is not', null).execute();
  return ids.map((id) => ({ entity: 'stop', id, locationId }));
}

/**
 * Deletes stops of one location and everything hanging on them: tracking links and their view
 * counts, delivery checks, proof rows (destroy their keys first: `destroyProofsOfStops`),
 * integration order links, idempotency records and webhook deliveries. Each stop gets a
 * change-log entry at a new version, which the pull and the live feed turn into `removed`.
 * `liveProofs`, when given, is called with the proofs of these stops whose keys are not destroyed
 * yet, before any row goes (the purge destroys their keys and evidences them there).
 */
export async function deleteStops(
  trx: Trx, ctx: ServerContext, locationId: string, stopIds: readonly string[], now: number,
  liveProofs?: (proofs: { id: string; storage_key: string | null }[]) => Promise<void>,
): Promise<Touched[]> {
  const kind = ctx.dbKind;
  await lockLocation(trx, locationId);
  const found = await sql<{ id: string; route_id: string }>`select s.id, s.route_id from stops s
    where s.id in (select id from ${idTable(kind, [...new Set(stopIds)])} as e) and s.location_id = ${locationId}`.execute(trx);
  const rows = found.rows;
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const first = await recordChanges(trx, kind, locationId, ids, now);
  const list = await batchList(trx, kind, ids);
  const ofStops = sql<boolean>`stop_id in (${list})`;
  if (liveProofs) await liveProofs(await trx.selectFrom('proofs').select(['id', 'storage_key']).where(ofStops).where('deleted_at', 'is', null).execute());
  await trx.deleteFrom('tracking_link_hits').where('link_id', 'in', (eb) => eb.selectFrom('tracking_links').select('id').where(ofStops)).execute();
  for (const table of ['tracking_links', 'delivery_checks', 'proofs', 'integration_orders', 'idempotency_keys', 'webhook_deliveries'] as const) {
    await trx.deleteFrom(table).where(ofStops).execute();
  }
  await trx.deleteFrom('stops').where(sql<boolean>`id in (${list})`).execute();
  if (kind === 'sqlite') await sql`delete from temp.depotline_batch_ids`.execute(trx);
  return rows.map((r, i) => ({ entity: 'stop', id: r.id, locationId, removed: { version: first + i, routeId: r.route_id } }));
}

/**
 * The ids of one batch for the several statements that use them. SQLite: written once into a
 * temporary indexed table (per connection, emptied after the batch), instead of each statement
 * building its own index over the bound list. PostgreSQL: the bound text[] as it is.
 */
async function batchList(trx: Trx, kind: DbKind, ids: readonly string[]) {
  if (kind === 'postgres') return sql`select id from unnest(cast(${[...ids]} as text[])) as u(id)`;
  await sql`create temp table if not exists depotline_batch_ids (id text primary key) without rowid`.execute(trx);
  await sql`delete from temp.depotline_batch_ids`.execute(trx);
  await sql`insert into temp.depotline_batch_ids (id) select value from json_each(${JSON.stringify(ids)})`.execute(trx);
  return sql`select id from temp.depotline_batch_ids`;
}

/**
 * Deletes the routes of one location that no stop is on any more and whose date is before
 * `beforeDate` (YYYY-MM-DD), each with a change-log entry at a new version, so desktops get
 * `removed` for the route. Routes hold no customer data; an emptied route of a later date stays.
 */
export async function deleteEmptiedRoutes(trx: Trx, ctx: ServerContext, locationId: string, routeIds: readonly string[], beforeDate: string, now: number): Promise<Touched[]> {
  if (routeIds.length === 0) return [];
  const kind = ctx.dbKind;
  const found = await sql<{ id: string }>`select r.id from routes r join ${idTable(kind, [...new Set(routeIds)])} as e on r.id = e.id
    where r.location_id = ${locationId} and r.date < ${beforeDate} and not exists (select 1 from stops s where s.route_id = r.id) order by e.ord`.execute(trx);
  const ids = found.rows.map((r) => r.id);
  if (ids.length === 0) return [];
  const first = await recordChanges(trx, kind, locationId, ids, now, 'route');
  await trx.deleteFrom('routes').where(inIdList(kind, 'id', ids)).execute();
  return ids.map((id, i) => ({ entity: 'route', id, locationId, removed: { version: first + i, routeId: id } }));
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
    destroyed.push(...await trx.selectFrom('proofs').select(['id', 'location_id', 'storage_key'])
      .where(inIdList(ctx.dbKind, 'stop_id', [...new Set(stopIds)])).where('deleted_at', 'is', null).execute());
    const byLocation = new Map<string, string[]>();
    for (const p of destroyed) byLocation.set(p.location_id, [...(byLocation.get(p.location_id) ?? []), p.id]);
    for (const [locationId, ids] of byLocation) {
      await destroyProofKeys(trx, ctx.dbKind, ids, actor, now);
      await recordEvidence(trx, ctx, { action: erasureAction, class: 'proof', locationId, cutoff: null, mode: 'destroyKeys', ids, actor, ...opts });
    }
  });
  await removeProofFiles(ctx, destroyed);
  return { destroyed: destroyed.map((p) => p.id) };
}

/** Nulls the wrapped keys of live proofs (by id) in the caller's transaction. */
export async function destroyProofKeys(trx: Trx, kind: DbKind, proofIds: readonly string[], actor: AuditActor, now: number): Promise<void> {
  if (proofIds.length === 0) return;
  await trx.updateTable('proofs').set({ wrapped_key: null, gps_enc: null, deleted_at: now, deleted_by: actor.label })
    .where(inIdList(kind, 'id', proofIds)).where('deleted_at', 'is', null).execute();
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

/** The audit action of an erasure's evidence (a data subject request). */
export const erasureAction = 'retention.erase';
/** The audit action of the scheduled purge's evidence. */
export const purgeAction = 'retention.purge';

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
