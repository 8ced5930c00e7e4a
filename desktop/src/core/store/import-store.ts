import { ColumnMapping, Mutation as MutationSchema, type Mutation, type Route, type Stop } from '@depotline/shared';
import { LocalEditRefusedError } from '../errors';
import type { LocalLookup } from '../mutations/handler';
import { listEntities, readEntity, text, writeEntity } from './entity-tables';
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
 * Most of an import is new routes and stops: a create whose record this device has never seen
 * (no row, no confirmed copy, not earlier in the batch) has no pending edits to replay, so it is
 * written directly (its confirmed copy "none", the outbox row, the visible row), exactly what
 * `enqueue` would leave, in three statements instead of a dozen. Everything else goes through
 * `enqueue` itself.
 */
export async function enqueueBatch(conn: SqlConnection, mutations: readonly Mutation[]): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { queued: 0, refused: [] };
  const refuse = (m: Mutation, err: LocalEditRefusedError) => outcome.refused.push({ id: m.id, code: err.refusal, message: err.message });
  const seen = await knownTargets(conn, mutations);
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
      const fresh = parsed.success && (parsed.data.type === 'stop.create' || parsed.data.type === 'route.create') ? parsed.data : null;
      const target = fresh ? targetOf(fresh) : null;
      if (!fresh || !target || seen.has(`${target.kind}:${target.id}`) || seen.has(`id:${fresh.id}`)) {
        await enqueue(conn, input);
      } else {
        if (!knownLocations.has(fresh.locationId)) {
          if (!(await conn.get('SELECT 1 AS ok FROM locations WHERE id = ?', [fresh.locationId]))) {
            throw new LocalEditRefusedError('unknown_location', `location ${fresh.locationId} is not available on this device`);
          }
          knownLocations.add(fresh.locationId);
        }
        await checkLocalEdit(fresh, null, lookup);
        await writeConfirmed(conn, target, fresh.locationId, 0, null);
        await conn.run(
          'INSERT INTO outbox (id, location_id, target_kind, target_id, mutation, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          [fresh.id, fresh.locationId, target.kind, target.id, JSON.stringify(fresh), fresh.createdAt],
        );
        const visible = applyMutation(fresh, null);
        if (visible && fresh.type === 'stop.create') await writeEntity(conn, 'stop', visible as Stop, 0);
        if (visible && fresh.type === 'route.create') await writeEntity(conn, 'route', visible as Route, 0);
      }
      const t = targetOf(input);
      seen.add(`${t.kind}:${t.id}`);
      seen.add(`id:${input.id}`);
      outcome.queued += 1;
    } catch (err) {
      if (!(err instanceof LocalEditRefusedError)) throw err;
      refuse(input, err);
    }
  }
  return outcome;
}

/** Targets this device already holds (a row or a confirmed copy) and mutation ids already queued, of the batch. */
async function knownTargets(conn: SqlConnection, mutations: readonly Mutation[]): Promise<Set<string>> {
  const seen = new Set<string>();
  const ids = (kind: string) => [...new Set(mutations.flatMap((m) => {
    try {
      const t = targetOf(m);
      return t.kind === kind ? [t.id] : [];
    } catch {
      return [];
    }
  }))];
  const inChunks = async (sql: (marks: string) => string, values: string[], key: (row: SqlRow) => string) => {
    for (let i = 0; i < values.length; i += 500) {
      const chunk = values.slice(i, i + 500);
      for (const row of await conn.all(sql(chunk.map(() => '?').join(', ')), chunk)) seen.add(key(row));
    }
  };
  await inChunks((q) => `SELECT id FROM stops WHERE id IN (${q})`, ids('stop'), (r) => `stop:${text(r, 'id')}`);
  await inChunks((q) => `SELECT id FROM routes WHERE id IN (${q})`, ids('route'), (r) => `route:${text(r, 'id')}`);
  for (const kind of ['stop', 'route'] as const) {
    await inChunks((q) => `SELECT id FROM confirmed WHERE kind = '${kind}' AND id IN (${q})`, ids(kind), (r) => `${kind}:${text(r, 'id')}`);
  }
  await inChunks((q) => `SELECT id FROM outbox WHERE id IN (${q})`, mutations.map((m) => m.id), (r) => `id:${text(r, 'id')}`);
  return seen;
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
