import { ColumnMapping, type Mutation, type Stop } from '@depotline/shared';
import { LocalEditRefusedError } from '../errors';
import { listEntities, text } from './entity-tables';
import { enqueue } from './outbox';
import type { SqlConnection } from './sql-binding';

/**
 * The local store's part of an order import: a batch of edits queued in one transaction, the
 * depot's stops by order reference (to update, not double, a known order), and the column
 * mapping remembered per depot (table `import_mappings`, migration 0004). Every function runs
 * inside the store's transaction.
 */

export interface BatchOutcome {
  queued: number;
  /** Edits this device refused before queueing (each checked like a single edit): not sent. */
  refused: { id: string; code: string; message: string }[];
}

/**
 * Queues the edits in order, each applied optimistically. An edit the local check refuses is left
 * out (the check throws before anything of it is written) and reported; a fault rolls the whole
 * batch back with its transaction, so a batch is queued entirely or not at all.
 */
export async function enqueueBatch(conn: SqlConnection, mutations: readonly Mutation[]): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { queued: 0, refused: [] };
  for (const m of mutations) {
    try {
      await enqueue(conn, m);
      outcome.queued += 1;
    } catch (err) {
      if (!(err instanceof LocalEditRefusedError)) throw err;
      outcome.refused.push({ id: m.id, code: err.refusal, message: err.message });
    }
  }
  return outcome;
}

/** The depot's stops on this device that carry one of these order references. */
export async function stopsByOrderRef(conn: SqlConnection, locationId: string, refs: ReadonlySet<string>): Promise<Map<string, Stop>> {
  const out = new Map<string, Stop>();
  const all = [...refs];
  // Through the partial index stops_by_order_ref (migration 0003), 500 references a query.
  for (let i = 0; i < all.length; i += 500) {
    const chunk = all.slice(i, i + 500);
    const where = `location_id = ? AND order_ref IS NOT NULL AND order_ref IN (${chunk.map(() => '?').join(', ')})`;
    for (const stop of await listEntities(conn, 'stop', where, [locationId, ...chunk], 'id')) {
      if (stop.orderRef) out.set(stop.orderRef, stop);
    }
  }
  return out;
}

export async function readImportMapping(conn: SqlConnection, locationId: string): Promise<ColumnMapping | null> {
  const row = await conn.get('SELECT mapping FROM import_mappings WHERE location_id = ?', [locationId]);
  if (!row) return null;
  const parsed = ColumnMapping.safeParse(JSON.parse(text(row, 'mapping')));
  return parsed.success ? parsed.data : null;
}

export async function writeImportMapping(conn: SqlConnection, locationId: string, mapping: ColumnMapping, at: number): Promise<void> {
  await conn.run(
    `INSERT INTO import_mappings (location_id, mapping, updated_at) VALUES (?, ?, ?)
     ON CONFLICT(location_id) DO UPDATE SET mapping = excluded.mapping, updated_at = excluded.updated_at`,
    [locationId, JSON.stringify(ColumnMapping.parse(mapping)), at],
  );
}
