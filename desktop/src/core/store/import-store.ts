import { ColumnMapping, Mutation as MutationSchema, type Mutation, type Route, type Stop } from '@depotline/shared';
import { LocalEditRefusedError } from '../errors';
import type { LocalLookup } from '../mutations/handler';
import { deleteEntity, listEntities, readEntity, text, writeEntity } from './entity-tables';
import { applyMutation, checkLocalEdit, targetOf } from './optimistic';
import { enqueue } from './outbox';
import type { SqlConnection, SqlRow } from './sql-binding';
import { writeConfirmed } from './visible-state';

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
 *
 * An import's edits are mostly of records with no pending edits yet (new routes and stops, known
 * orders updated once): for those there is nothing to replay, so the edit is written directly
 * (the record's confirmed copy, the outbox row, the visible row), exactly what `enqueue` leaves,
 * in a read and three writes instead of a dozen statements. A record with pending edits (earlier
 * in the batch, or before it) goes through `enqueue` itself.
 */
export async function enqueueBatch(conn: SqlConnection, mutations: readonly Mutation[]): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { queued: 0, refused: [] };
  const { busy, stored } = await batchTargets(conn, mutations);
  const knownLocations = new Set<string>();
  const routes = new Map<string, Route>();
  const lookup: LocalLookup = async (kind, id) => {
    if (kind === 'route' && routes.has(id)) return routes.get(id) as never;
    const found = await readEntity(conn, kind, id);
    if (kind === 'route' && found) routes.set(id, found as Route);
    return found;
  };
  for (const input of mutations) {
    try {
      const parsed = MutationSchema.safeParse(input);
      const m = parsed.success ? parsed.data : null;
      const target = m ? targetOf(m) : null;
      if (!m || !target || (target.kind !== 'stop' && target.kind !== 'route') || busy.has(`${target.kind}:${target.id}`) || busy.has(`id:${m.id}`)) {
        await enqueue(conn, input);
      } else {
        if (!knownLocations.has(m.locationId)) {
          if (!(await conn.get('SELECT 1 AS ok FROM locations WHERE id = ?', [m.locationId]))) {
            throw new LocalEditRefusedError('unknown_location', `location ${m.locationId} is not available on this device`);
          }
          knownLocations.add(m.locationId);
        }
        // A new record's id is looked up with the batch's: a create of an id nobody holds reads nothing more.
        const isCreate = m.type === 'stop.create' || m.type === 'route.create';
        const current = isCreate && !stored.has(`${target.kind}:${target.id}`) ? null : await readEntity(conn, target.kind, target.id);
        await checkLocalEdit(m, current, lookup);
        const version = current?.version ?? 0;
        await writeConfirmed(conn, target, m.locationId, version, current);
        await conn.run(
          'INSERT INTO outbox (id, location_id, target_kind, target_id, mutation, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          [m.id, m.locationId, target.kind, target.id, JSON.stringify(m), m.createdAt],
        );
        const visible = applyMutation(m, current);
        if (!visible) await deleteEntity(conn, target.kind, target.id);
        else if (target.kind === 'stop') await writeEntity(conn, 'stop', visible as Stop, version);
        else await writeEntity(conn, 'route', visible as Route, version);
        if (target.kind === 'route') routes.delete(target.id);
      }
      const t = targetOf(input);
      busy.add(`${t.kind}:${t.id}`);
      busy.add(`id:${input.id}`);
      outcome.queued += 1;
    } catch (err) {
      if (!(err instanceof LocalEditRefusedError)) throw err;
      outcome.refused.push({ id: input.id, code: err.refusal, message: err.message });
    }
  }
  return outcome;
}

/**
 * Of the batch's records: those with pending edits (a confirmed copy) and its mutation ids already
 * queued (`busy`), and those this device holds a row of (`stored`).
 */
async function batchTargets(conn: SqlConnection, mutations: readonly Mutation[]): Promise<{ busy: Set<string>; stored: Set<string> }> {
  const busy = new Set<string>();
  const stored = new Set<string>();
  const ids = (kind: string) => [...new Set(mutations.flatMap((m) => {
    try {
      const t = targetOf(m);
      return t.kind === kind ? [t.id] : [];
    } catch {
      return [];
    }
  }))];
  const inChunks = async (into: Set<string>, sql: (marks: string) => string, values: string[], key: (row: SqlRow) => string) => {
    for (let i = 0; i < values.length; i += 500) {
      const chunk = values.slice(i, i + 500);
      for (const row of await conn.all(sql(chunk.map(() => '?').join(', ')), chunk)) into.add(key(row));
    }
  };
  for (const [kind, table] of [['stop', 'stops'], ['route', 'routes']] as const) {
    await inChunks(busy, (q) => `SELECT id FROM confirmed WHERE kind = '${kind}' AND id IN (${q})`, ids(kind), (r) => `${kind}:${text(r, 'id')}`);
    await inChunks(stored, (q) => `SELECT id FROM ${table} WHERE id IN (${q})`, ids(kind), (r) => `${kind}:${text(r, 'id')}`);
  }
  await inChunks(busy, (q) => `SELECT id FROM outbox WHERE id IN (${q})`, mutations.map((m) => m.id), (r) => `id:${text(r, 'id')}`);
  return { busy, stored };
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
