import type { Mutation } from '@depotline/shared';
import { Mutation as MutationSchema } from '@depotline/shared';
import { assertNever } from '../errors';
import { deleteEntity, int, readEntity, tables, text, textOrNull, writeEntity, type EntityByKind, type EntityKind } from './entity-tables';
import { applyMutation, type MutationTarget, type TargetEntity, type TargetKind } from './optimistic';
import type { SqlConnection } from './sql-binding';

/**
 * What the console shows of an entity with pending local edits. Every function runs inside
 * the caller's transaction.
 *
 * Invariant: an entity with pending edits has a `confirmed` row holding its last server state;
 * its visible row is that state with the pending edits replayed in outbox order (`settle`).
 */

export function isTargetKind(kind: EntityKind): kind is TargetKind {
  return kind === 'stop' || kind === 'route' || kind === 'position' || kind === 'driver' || kind === 'vehicle';
}

interface Confirmed {
  version: number;
  data: TargetEntity | null;
}

export async function hasConfirmed(conn: SqlConnection, kind: TargetKind, id: string): Promise<boolean> {
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

/** The kind is the discriminator: a target entity is only ever stored under its own kind. */
async function writeTarget(conn: SqlConnection, kind: TargetKind, entity: TargetEntity, version: number): Promise<void> {
  switch (kind) {
    case 'stop': return writeEntity(conn, 'stop', entity as EntityByKind['stop'], version);
    case 'route': return writeEntity(conn, 'route', entity as EntityByKind['route'], version);
    case 'position': return writeEntity(conn, 'position', entity as EntityByKind['position'], version);
    case 'driver': return writeEntity(conn, 'driver', entity as EntityByKind['driver'], version);
    case 'vehicle': return writeEntity(conn, 'vehicle', entity as EntityByKind['vehicle'], version);
    default: return assertNever(kind);
  }
}
