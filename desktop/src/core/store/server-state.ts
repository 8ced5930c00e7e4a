import type { Change, Mutation } from '@depotline/shared';
import { Mutation as MutationSchema } from '@depotline/shared';
import { assertNever, ServerDataRejectedError } from '../errors';
import {
  deleteEntity, int, readEntity, tables, text, textOrNull, writeEntity, type EntityByKind, type EntityKind,
} from './entity-tables';
import { applyMutation, type MutationTarget, type TargetEntity, type TargetKind } from './optimistic';
import type { SqlConnection, SqlValue } from './sql-binding';

/**
 * Server state in the store, and the pending local edits shown on top of it. Every function
 * runs inside the caller's transaction.
 *
 * Invariant: an entity with pending edits has a `confirmed` row holding its last server state;
 * its visible row is that state with the pending edits replayed in outbox order (`settle`).
 */

type Upsert = Exclude<Change, { entity: 'removed' }>;
type RemovedKind = Extract<Change, { entity: 'removed' }>['data']['kind'];

export async function assertKnownLocation(conn: SqlConnection, locationId: string): Promise<void> {
  const row = await conn.get('SELECT 1 AS ok FROM locations WHERE id = ?', [locationId]);
  if (!row) throw new ServerDataRejectedError(`location ${locationId} is not one of this user's locations`);
}

/**
 * Applies server changes in order, each only if it is newer than what the store holds: the
 * same outcome as `applyServerChange` on each in turn, with far fewer statements. Every
 * statement is a round trip to the SQLCipher worker thread, so a pull page goes set-wise: the
 * state of every entity it names (row location and version, tombstone, confirmed copy) is read
 * in one statement, the version guards and location checks run here on that state, and the
 * winning rows are written with one multi-row upsert per table. A change that needs more than
 * an upsert (a removal, or an entity with pending local edits, whose visible row is replayed
 * from its confirmed state) goes through `applyServerChange` after the writes before it; the
 * state is read again for the changes after it. Returns how many changes were applied.
 */
export async function applyServerChanges(conn: SqlConnection, changes: readonly Change[]): Promise<number> {
  if (changes.length === 0) return 0;
  const known = await knownLocations(conn, changes.map((c) => c.locationId));
  let state: BatchState | null = null;
  const writes = new BatchWrites();
  let applied = 0;
  const applyAlone = async (change: Change) => {
    await writes.flush(conn);
    if (await applyServerChange(conn, change)) applied++;
    state = null; // the rows it touched (a route's stops, a replayed row) are read again
  };
  for (let i = 0; i < changes.length; i++) {
    const change = changes[i]!;
    if (!known.has(change.locationId)) throw new ServerDataRejectedError(`location ${change.locationId} is not one of this user's locations`);
    if (change.entity === 'removed') {
      await applyAlone(change);
      continue;
    }
    state ??= await readBatchState(conn, changes.slice(i));
    if (isTargetKind(change.entity) && state.confirmed.has(keyOf(change.entity, upsertId(change)))) {
      await applyAlone(change);
      continue;
    }
    const planned = planUpsert(state, change);
    if (planned !== 'stale') {
      writes.add(change, planned === 'wins-over-tombstone');
      applied++;
    }
  }
  await writes.flush(conn);
  return applied;
}

/** Applies one server change if it is newer than what the store holds. */
export async function applyServerChange(conn: SqlConnection, change: Change): Promise<boolean> {
  await assertKnownLocation(conn, change.locationId);
  if (change.entity === 'removed') return applyRemoval(conn, change.locationId, change.data.kind, change.data.id, change.version);
  return applyUpsert(conn, change);
}

async function applyUpsert(conn: SqlConnection, change: Upsert): Promise<boolean> {
  const kind = change.entity;
  if (change.data.locationId !== change.locationId) {
    throw new ServerDataRejectedError(`a ${kind} change for location ${change.locationId} carries data of location ${change.data.locationId}`);
  }
  const id = change.entity === 'position' ? change.data.driverId : change.data.id;
  await assertSameLocation(conn, kind, id, change.locationId);

  const tomb = await conn.get('SELECT version FROM tombstones WHERE kind = ? AND id = ?', [kind, id]);
  if (tomb && int(tomb, 'version') >= change.version) return false;

  if (isTargetKind(kind) && (await hasConfirmed(conn, kind, id))) {
    const confirmed = await readConfirmed(conn, { kind, id });
    if (confirmed && change.version <= confirmed.version) return false;
    await writeConfirmed(conn, { kind, id }, change.locationId, change.version, change.data as TargetEntity);
    await settle(conn, { kind, id });
  } else {
    const row = await conn.get(`SELECT version FROM ${tables[kind].table} WHERE ${tables[kind].idColumn} = ?`, [id]);
    if (row && change.version <= int(row, 'version')) return false;
    await writeUpsert(conn, change);
  }
  if (tomb) await conn.run('DELETE FROM tombstones WHERE kind = ? AND id = ?', [kind, id]);
  return true;
}

async function applyRemoval(conn: SqlConnection, locationId: string, kind: RemovedKind, id: string, version: number): Promise<boolean> {
  await assertSameLocation(conn, kind, id, locationId);
  const tomb = await conn.get('SELECT version FROM tombstones WHERE kind = ? AND id = ?', [kind, id]);
  if (tomb && int(tomb, 'version') >= version) return false;
  const row = await conn.get(`SELECT version FROM ${tables[kind].table} WHERE ${tables[kind].idColumn} = ?`, [id]);
  if (row && version <= int(row, 'version')) return false;

  await removeOne(conn, locationId, kind, id, version);
  if (kind === 'route') {
    // The route's stops go with it (a driver unassigned from a route must not keep its
    // customers' addresses).
    const stops = await conn.all('SELECT id FROM stops WHERE route_id = ? AND location_id = ?', [id, locationId]);
    for (const s of stops) await removeOne(conn, locationId, 'stop', text(s, 'id'), version);
  }
  if (kind === 'driver') await removeOne(conn, locationId, 'position', id, version);
  return true;
}

async function removeOne(conn: SqlConnection, locationId: string, kind: EntityKind, id: string, version: number): Promise<void> {
  await conn.run(
    `INSERT INTO tombstones (kind, id, location_id, version) VALUES (?, ?, ?, ?)
     ON CONFLICT(kind, id) DO UPDATE SET version = max(version, excluded.version), location_id = excluded.location_id`,
    [kind, id, locationId, version],
  );
  if (isTargetKind(kind) && (await hasConfirmed(conn, kind, id))) {
    await writeConfirmed(conn, { kind, id }, locationId, version, null);
    await settle(conn, { kind, id });
  } else {
    await deleteEntity(conn, kind, id);
  }
}

/** Ids are global; an entity never moves between locations, whatever a message claims. */
async function assertSameLocation(conn: SqlConnection, kind: EntityKind, id: string, locationId: string): Promise<void> {
  const t = tables[kind];
  const row = await conn.get(`SELECT location_id FROM ${t.table} WHERE ${t.idColumn} = ?`, [id]);
  if (row && text(row, 'location_id') !== locationId) {
    throw new ServerDataRejectedError(`a change for location ${locationId} names ${kind} ${id} of another location`);
  }
}

export function isTargetKind(kind: EntityKind): kind is TargetKind {
  return kind === 'stop' || kind === 'route' || kind === 'position';
}

interface Confirmed {
  version: number;
  data: TargetEntity | null;
}

async function hasConfirmed(conn: SqlConnection, kind: TargetKind, id: string): Promise<boolean> {
  return (await conn.get('SELECT 1 AS ok FROM confirmed WHERE kind = ? AND id = ?', [kind, id])) !== undefined;
}

export async function readConfirmed(conn: SqlConnection, target: MutationTarget): Promise<Confirmed | null> {
  const row = await conn.get('SELECT version, data FROM confirmed WHERE kind = ? AND id = ?', [target.kind, target.id]);
  if (!row) return null;
  const json = textOrNull(row, 'data');
  return { version: int(row, 'version'), data: json === null ? null : (JSON.parse(json) as TargetEntity) };
}

export async function writeConfirmed(conn: SqlConnection, target: MutationTarget, locationId: string, version: number, data: TargetEntity | null): Promise<void> {
  await conn.run(
    `INSERT INTO confirmed (kind, id, location_id, version, data) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(kind, id) DO UPDATE SET location_id = excluded.location_id, version = excluded.version, data = excluded.data`,
    [target.kind, target.id, locationId, version, data === null ? null : JSON.stringify(data)],
  );
}

/** Keeps the server state of an entity before its first pending edit changes the row. */
export async function ensureConfirmed(conn: SqlConnection, target: MutationTarget, locationId: string): Promise<void> {
  if (await hasConfirmed(conn, target.kind, target.id)) return;
  const current = await readEntity(conn, target.kind, target.id);
  const version = current ? await rowVersion(conn, target) : 0;
  await writeConfirmed(conn, target, locationId, version, current);
}

async function rowVersion(conn: SqlConnection, target: MutationTarget): Promise<number> {
  const t = tables[target.kind];
  const row = await conn.get(`SELECT version FROM ${t.table} WHERE ${t.idColumn} = ?`, [target.id]);
  return row ? int(row, 'version') : 0;
}

export async function pendingFor(conn: SqlConnection, target: MutationTarget): Promise<Mutation[]> {
  const rows = await conn.all('SELECT mutation FROM outbox WHERE target_kind = ? AND target_id = ? ORDER BY seq', [target.kind, target.id]);
  return rows.map((r) => MutationSchema.parse(JSON.parse(text(r, 'mutation'))));
}

/**
 * Recomputes the visible row from the confirmed server state and the pending edits. With no
 * pending edits left, the confirmed state becomes the row and the confirmed copy goes.
 */
export async function settle(conn: SqlConnection, target: MutationTarget): Promise<void> {
  const confirmed = await readConfirmed(conn, target);
  if (!confirmed) return;
  const pending = await pendingFor(conn, target);
  let visible = confirmed.data;
  for (const m of pending) visible = applyMutation(m, visible);
  if (visible) await writeTarget(conn, target.kind, visible, confirmed.version);
  else await deleteEntity(conn, target.kind, target.id);
  if (pending.length === 0) await conn.run('DELETE FROM confirmed WHERE kind = ? AND id = ?', [target.kind, target.id]);
}

async function writeUpsert(conn: SqlConnection, change: Upsert): Promise<void> {
  switch (change.entity) {
    case 'stop': return writeEntity(conn, 'stop', change.data, change.version);
    case 'route': return writeEntity(conn, 'route', change.data, change.version);
    case 'driver': return writeEntity(conn, 'driver', change.data, change.version);
    case 'vehicle': return writeEntity(conn, 'vehicle', change.data, change.version);
    case 'position': return writeEntity(conn, 'position', change.data, change.version);
    default: return assertNever(change);
  }
}

/** The kind is the discriminator: a target entity is only ever stored under its own kind. */
async function writeTarget(conn: SqlConnection, kind: TargetKind, entity: TargetEntity, version: number): Promise<void> {
  switch (kind) {
    case 'stop': return writeEntity(conn, 'stop', entity as EntityByKind['stop'], version);
    case 'route': return writeEntity(conn, 'route', entity as EntityByKind['route'], version);
    case 'position': return writeEntity(conn, 'position', entity as EntityByKind['position'], version);
    default: return assertNever(kind);
  }
}

/* ---------------------------------------------------------------------------------------
 * Set-wise apply (applyServerChanges)
 * ------------------------------------------------------------------------------------- */

const keyOf = (kind: EntityKind, id: string) => `${kind}\u0000${id}`;

function upsertId(change: Upsert): string {
  return change.entity === 'position' ? change.data.driverId : change.data.id;
}

/** SQLite's limit on bound parameters per statement (SQLITE_MAX_VARIABLE_NUMBER), with room. */
const maxParams = 32_000;

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

async function knownLocations(conn: SqlConnection, ids: readonly string[]): Promise<Set<string>> {
  const known = new Set<string>();
  for (const part of chunks([...new Set(ids)], maxParams)) {
    const rows = await conn.all(`SELECT id FROM locations WHERE id IN (${part.map(() => '?').join(', ')})`, part);
    for (const r of rows) known.add(text(r, 'id'));
  }
  return known;
}

/** What the store holds for the entities of a batch, kept up to date as the batch is planned. */
interface BatchState {
  /** Entity rows that exist: location and stored version. */
  rows: Map<string, { locationId: string; version: number }>;
  tombstones: Map<string, number>;
  /** Entities with pending local edits (a confirmed copy). */
  confirmed: Set<string>;
}

/** One statement per chunk of ids: rows, tombstones and confirmed copies of every kind named. */
async function readBatchState(conn: SqlConnection, changes: readonly Change[]): Promise<BatchState> {
  const state: BatchState = { rows: new Map(), tombstones: new Map(), confirmed: new Set() };
  const idsByKind = new Map<EntityKind, Set<string>>();
  for (const c of changes) {
    if (c.entity === 'removed') continue;
    let ids = idsByKind.get(c.entity);
    if (!ids) idsByKind.set(c.entity, (ids = new Set<string>()));
    ids.add(upsertId(c));
  }
  // Each id is bound up to three times (row, tombstone, confirmed).
  const refs = [...idsByKind].flatMap(([kind, ids]) => [...ids].map((id) => ({ kind, id })));
  for (const part of chunks(refs, Math.floor(maxParams / 3))) {
    const selects: string[] = [];
    const params: SqlValue[] = [];
    for (const kind of new Set(part.map((r) => r.kind))) {
      const ids = part.filter((r) => r.kind === kind).map((r) => r.id);
      const list = ids.map(() => '?').join(', ');
      const t = tables[kind];
      // Kinds and column names are ours, never input.
      selects.push(`SELECT 'row' AS src, '${kind}' AS kind, ${t.idColumn} AS id, location_id, version FROM ${t.table} WHERE ${t.idColumn} IN (${list})`);
      selects.push(`SELECT 'tombstone', kind, id, location_id, version FROM tombstones WHERE kind = '${kind}' AND id IN (${list})`);
      params.push(...ids, ...ids);
      if (isTargetKind(kind)) {
        selects.push(`SELECT 'confirmed', kind, id, location_id, version FROM confirmed WHERE kind = '${kind}' AND id IN (${list})`);
        params.push(...ids);
      }
    }
    for (const r of await conn.all(selects.join('\nUNION ALL\n'), params)) {
      const key = keyOf(text(r, 'kind') as EntityKind, text(r, 'id'));
      const src = text(r, 'src');
      if (src === 'row') state.rows.set(key, { locationId: text(r, 'location_id'), version: int(r, 'version') });
      else if (src === 'tombstone') state.tombstones.set(key, int(r, 'version'));
      else state.confirmed.add(key);
    }
  }
  return state;
}

/**
 * `applyUpsert`'s checks and guards for an entity without pending edits, on the batch state
 * instead of the database. When the change wins, the state then holds it.
 */
function planUpsert(state: BatchState, change: Upsert): 'stale' | 'wins' | 'wins-over-tombstone' {
  const kind = change.entity;
  if (change.data.locationId !== change.locationId) {
    throw new ServerDataRejectedError(`a ${kind} change for location ${change.locationId} carries data of location ${change.data.locationId}`);
  }
  const id = upsertId(change);
  const key = keyOf(kind, id);
  const row = state.rows.get(key);
  if (row && row.locationId !== change.locationId) {
    throw new ServerDataRejectedError(`a change for location ${change.locationId} names ${kind} ${id} of another location`);
  }
  const tomb = state.tombstones.get(key);
  if (tomb !== undefined && tomb >= change.version) return 'stale';
  if (row && change.version <= row.version) return 'stale';
  state.rows.set(key, { locationId: change.locationId, version: change.version });
  if (tomb === undefined) return 'wins';
  state.tombstones.delete(key);
  return 'wins-over-tombstone';
}

/** The winning changes of a batch, written per table: the last winner of an entity is its row. */
class BatchWrites {
  readonly #rows = new Map<EntityKind, Map<string, Upsert>>();
  readonly #untomb = new Map<EntityKind, Set<string>>();

  /** `untomb`: the entity was removed before; the change brings it back. */
  add(change: Upsert, untomb: boolean): void {
    const kind = change.entity;
    let rows = this.#rows.get(kind);
    if (!rows) this.#rows.set(kind, (rows = new Map<string, Upsert>()));
    const id = upsertId(change);
    rows.set(id, change);
    if (!untomb) return;
    let untombs = this.#untomb.get(kind);
    if (!untombs) this.#untomb.set(kind, (untombs = new Set<string>()));
    untombs.add(id);
  }

  async flush(conn: SqlConnection): Promise<void> {
    for (const [kind, rows] of this.#rows) await upsertRows(conn, kind, [...rows.values()]);
    for (const [kind, ids] of this.#untomb) {
      for (const part of chunks([...ids], maxParams - 1)) {
        await conn.run(`DELETE FROM tombstones WHERE kind = ? AND id IN (${part.map(() => '?').join(', ')})`, [kind, ...part]);
      }
    }
    this.#rows.clear();
    this.#untomb.clear();
  }
}

/** `writeEntity` for many rows: one multi-row upsert per chunk, guarded like the single one. */
async function upsertRows(conn: SqlConnection, kind: EntityKind, changes: readonly Upsert[]): Promise<void> {
  if (changes.length === 0) return;
  const t = tables[kind];
  const rows = changes.map((c) => columnsOf(c));
  const names = Object.keys(rows[0]!);
  const updates = names.filter((n) => n !== t.idColumn).map((n) => `${n} = excluded.${n}`).join(', ');
  const tuple = `(${names.map(() => '?').join(', ')})`;
  for (const part of chunks(rows, Math.floor(maxParams / names.length))) {
    const params = part.flatMap((cols) => names.map((n) => cols[n] ?? null));
    // The guards were checked on the batch state; in the statement they are a second line of
    // defence that nothing older or from another location ever overwrites a row.
    const { changes: written } = await conn.run(
      `INSERT INTO ${t.table} (${names.join(', ')}) VALUES ${part.map(() => tuple).join(', ')}
       ON CONFLICT(${t.idColumn}) DO UPDATE SET ${updates}
       WHERE excluded.version > ${t.table}.version AND excluded.location_id = ${t.table}.location_id`,
      params,
    );
    if (written !== part.length) throw new Error(`applying a batch of ${kind} changes wrote ${written} of ${part.length} rows`);
  }
}

function columnsOf(change: Upsert): Record<string, SqlValue> {
  switch (change.entity) {
    case 'stop': return { ...tables.stop.toColumns(change.data), version: change.version };
    case 'route': return { ...tables.route.toColumns(change.data), version: change.version };
    case 'driver': return { ...tables.driver.toColumns(change.data), version: change.version };
    case 'vehicle': return { ...tables.vehicle.toColumns(change.data), version: change.version };
    case 'position': return { ...tables.position.toColumns(change.data), version: change.version };
    default: return assertNever(change);
  }
}
