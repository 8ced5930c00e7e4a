import type { Change } from '@depotline/shared';
import { assertNever, ServerDataRejectedError } from '../errors';
import { deleteEntity, int, tables, text, writeEntity, type EntityKind } from './entity-tables';
import { forgetStopLeftovers } from './local-erasure';
import { BatchWrites, keyOf, knownLocations, planUpsert, readBatchState, upsertId, type BatchState, type Upsert } from './server-batch';
import type { SqlConnection } from './sql-binding';
import { hasConfirmed, isTargetKind, readConfirmed, settle, writeConfirmed } from './visible-state';

/**
 * Writing what the server sent: upserts and removals, each only if it is newer than what the
 * store holds, leaving a tombstone for each removal so an older upsert cannot bring it back.
 * Every function runs inside the caller's transaction. An entity with pending local edits
 * keeps the server's state in its confirmed copy and shows it with the edits replayed
 * (visible-state.ts).
 */

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
    if (change.entity === 'removed' || isPseudonymisedStop(change)) {
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
  const id = upsertId(change);
  await assertSameLocation(conn, kind, id, change.locationId);

  const tomb = await conn.get('SELECT version FROM tombstones WHERE kind = ? AND id = ?', [kind, id]);
  if (tomb && int(tomb, 'version') >= change.version) return false;
  if (isPseudonymisedStop(change)) {
    const row = await conn.get('SELECT version FROM stops WHERE id = ?', [id]);
    if (row && change.version <= int(row, 'version')) return false;
    // The customer's identity is gone on the server: so are its copies in edits here.
    await forgetStopLeftovers(conn, [id]);
  }

  if (isTargetKind(kind) && (await hasConfirmed(conn, kind, id))) {
    const confirmed = await readConfirmed(conn, { kind, id });
    if (confirmed && change.version <= confirmed.version) return false;
    await writeConfirmed(conn, { kind, id }, change.locationId, change.version, change.data);
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

  if (kind === 'stop') await forgetStopLeftovers(conn, [id]);
  await removeOne(conn, locationId, kind, id, version);
  if (kind === 'route') {
    // The route's stops go with it (a driver unassigned from a route must not keep its
    // customers' addresses).
    const stops = (await conn.all('SELECT id FROM stops WHERE route_id = ? AND location_id = ?', [id, locationId])).map((s) => text(s, 'id'));
    await forgetStopLeftovers(conn, stops);
    for (const stopId of stops) await removeOne(conn, locationId, 'stop', stopId, version);
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

/**
 * A stop the server pseudonymised (retention or erasure): applied alone, so its pending edits,
 * refused edits and offline proof copy go with the identity (local-erasure.ts).
 */
export function isPseudonymisedStop(change: Change): boolean {
  return change.entity === 'stop' && change.data.pseudonymised === true;
}

/** Ids are global; an entity never moves between locations, whatever a message claims. */
async function assertSameLocation(conn: SqlConnection, kind: EntityKind, id: string, locationId: string): Promise<void> {
  const t = tables[kind];
  const row = await conn.get(`SELECT location_id FROM ${t.table} WHERE ${t.idColumn} = ?`, [id]);
  if (row && text(row, 'location_id') !== locationId) {
    throw new ServerDataRejectedError(`a change for location ${locationId} names ${kind} ${id} of another location`);
  }
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
