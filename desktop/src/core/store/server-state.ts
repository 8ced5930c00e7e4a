import type { Change, Mutation } from '@depotline/shared';
import { Mutation as MutationSchema } from '@depotline/shared';
import { assertNever, ServerDataRejectedError } from '../errors';
import {
  deleteEntity, int, readEntity, tables, text, textOrNull, writeEntity, type EntityByKind, type EntityKind,
} from './entity-tables';
import { applyMutation, type MutationTarget, type TargetEntity, type TargetKind } from './optimistic';
import type { SqlConnection } from './sql-binding';

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
