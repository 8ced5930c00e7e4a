import { sql, type Kysely, type Transaction, type Updateable } from 'kysely';
import { dbKindOf } from '../db/database';
import type { Database } from '../db/schema';

export type ChangeEntity = 'stop' | 'route' | 'driver' | 'vehicle' | 'position';

type Writer = Transaction<Database> | Kysely<Database>;

/**
 * Takes the next version of a location and records that `entity` changed at it. Call it in
 * the transaction that writes the entity, and store the returned version on the row. The
 * location row update serializes writers per location (row lock in PostgreSQL; SQLite has
 * one writer), so versions are gap-free and strictly increasing per location.
 *
 * On PostgreSQL the bump and the change-log row are one statement (a data-modifying CTE): each
 * statement is a round trip to the database, and a push makes one per mutation. SQLite has no
 * data-modifying CTEs, and its statements are function calls, so it keeps two.
 */
export async function recordChange(trx: Writer, locationId: string, entity: ChangeEntity, entityId: string, now: number): Promise<number> {
  if (dbKindOf(trx) === 'postgres') {
    const recorded = await sql<{ version: number }>`
      with v as (update locations set version = version + 1 where id = ${locationId} returning version)
      insert into changes (location_id, version, entity, entity_id, at)
      select ${locationId}::text, v.version, ${entity}::text, ${entityId}::text, ${now}::bigint from v
      returning version`.execute(trx);
    return versionOf(recorded.rows[0], locationId);
  }
  const bumped = await sql<{ version: number }>`
    update locations set version = version + 1 where id = ${locationId} returning version`.execute(trx);
  const version = versionOf(bumped.rows[0], locationId);
  await trx.insertInto('changes').values({ location_id: locationId, version, entity, entity_id: entityId, at: now }).execute();
  return version;
}

/**
 * `recordChange` and the write of the stop it records, with the new version stored on the stop:
 * on PostgreSQL one statement (the location's version bump, the change-log row and the stop
 * update), so a stop mutation costs one round trip to write. The location row is locked before
 * the stop row in both engines (the CTE's bump is evaluated before the update locks its row),
 * the same order every other writer takes.
 */
export async function writeStopChange(
  trx: Writer, stop: { id: string; location_id: string }, columns: Updateable<Database['stops']>, now: number,
): Promise<number> {
  if (dbKindOf(trx) === 'postgres') {
    const written = await trx
      .with('v', (db) => db.updateTable('locations').set((eb) => ({ version: eb('version', '+', 1) })).where('id', '=', stop.location_id).returning('version'))
      .with('c', (db) => db.insertInto('changes').columns(['location_id', 'version', 'entity', 'entity_id', 'at'])
        .expression(db.selectFrom('v').select([
          sql<string>`${stop.location_id}::text`.as('location_id'), 'v.version', sql<string>`'stop'`.as('entity'),
          sql<string>`${stop.id}::text`.as('entity_id'), sql<number>`${now}::bigint`.as('at'),
        ])))
      .updateTable('stops')
      .from('v')
      .set({ ...columns, version: (eb) => eb.ref('v.version') })
      .where('stops.id', '=', stop.id)
      .returning('stops.version')
      .executeTakeFirst();
    if (written === undefined) throw new Error(`stop ${stop.id} at location ${stop.location_id} does not exist`);
    return Number(written.version);
  }
  const version = await recordChange(trx, stop.location_id, 'stop', stop.id, now);
  await trx.updateTable('stops').set({ ...columns, version }).where('id', '=', stop.id).execute();
  return version;
}

function versionOf(row: { version: number | string } | undefined, locationId: string): number {
  if (row === undefined) throw new Error(`location ${locationId} does not exist`);
  return Number(row.version);
}
