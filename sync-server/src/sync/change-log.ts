import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema';

export type ChangeEntity = 'stop' | 'route' | 'driver' | 'vehicle' | 'position';

/**
 * Takes the next version of a location and records that `entity` changed at it. Call it in
 * the transaction that writes the entity, and store the returned version on the row. The
 * location row update serializes writers per location (row lock in PostgreSQL; SQLite has
 * one writer), so versions are gap-free and strictly increasing per location.
 */
export async function recordChange(
  trx: Transaction<Database> | Kysely<Database>,
  locationId: string,
  entity: ChangeEntity,
  entityId: string,
  now: number,
): Promise<number> {
  const bumped = await sql<{ version: number }>`
    update locations set version = version + 1 where id = ${locationId} returning version`.execute(trx);
  const version = bumped.rows[0]?.version;
  if (version === undefined) throw new Error(`location ${locationId} does not exist`);
  await trx.insertInto('changes').values({ location_id: locationId, version: Number(version), entity, entity_id: entityId, at: now }).execute();
  return Number(version);
}
