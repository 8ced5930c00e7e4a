import type { Change } from '@depotline/shared';
import { assertNever, ServerDataRejectedError } from '../errors';
import { int, tables, text, type EntityKind } from './entity-tables';
import type { SqlConnection, SqlValue } from './sql-binding';
import { isTargetKind } from './visible-state';

/**
 * The set-wise parts of `applyServerChanges` (server-state.ts): every statement is a round
 * trip to the SQLCipher worker thread, so a pull page reads the state of all the entities it
 * names at once, checks the version guards here on that state, and writes the winners with one
 * multi-row upsert per table.
 */

export type Upsert = Exclude<Change, { entity: 'removed' }>;

export const keyOf = (kind: EntityKind, id: string) => `${kind}\u0000${id}`;

export function upsertId(change: Upsert): string {
  return change.entity === 'position' ? change.data.driverId : change.data.id;
}

/** SQLite's limit on bound parameters per statement (SQLITE_MAX_VARIABLE_NUMBER), with room. */
const maxParams = 32_000;

export function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

export async function knownLocations(conn: SqlConnection, ids: readonly string[]): Promise<Set<string>> {
  const known = new Set<string>();
  for (const part of chunks([...new Set(ids)], maxParams)) {
    const rows = await conn.all(`SELECT id FROM locations WHERE id IN (${part.map(() => '?').join(', ')})`, part);
    for (const r of rows) known.add(text(r, 'id'));
  }
  return known;
}

/** What the store holds for the entities of a batch, kept up to date as the batch is planned. */
export interface BatchState {
  /** Entity rows that exist: location and stored version. */
  rows: Map<string, { locationId: string; version: number }>;
  tombstones: Map<string, number>;
  /** Entities with pending local edits (a confirmed copy). */
  confirmed: Set<string>;
}

/** One statement per chunk of ids: rows, tombstones and confirmed copies of every kind named. */
export async function readBatchState(conn: SqlConnection, changes: readonly Change[]): Promise<BatchState> {
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
export function planUpsert(state: BatchState, change: Upsert): 'stale' | 'wins' | 'wins-over-tombstone' {
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
export class BatchWrites {
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
