import {
  Change as ChangeSchema, LocationAccess as LocationAccessSchema, MutationResult as MutationResultSchema,
  type Change, type ColumnMapping, type LocationAccess, type Mutation, type MutationResult,
} from '@depotline/shared';
import { z } from 'zod';
import { ServerDataRejectedError } from '../errors';
import type { DatabaseKey } from '../vault/database-key';
import { queryBoard, type BoardQuery } from './board';
import { queryBoardDay } from './board-day';
import type { EncryptedDatabase } from './encrypted-database';
import { int, intOrNull, listEntities, readEntity, text, textOrNull } from './entity-tables';
import type {
  ApplyResult, DroppedLocation, LocalStore, MetaKey, StoreChange, StoredLocation,
} from './local-store';
import { enqueueBatch, readImportMapping, stopsByOrderRef, writeImportMapping } from './import-store';
import { acknowledge, enqueue, erasedStopOf, pending, pendingCount, recordAttempt, rejected } from './outbox';
import { clearProofCache, readProofCache, writeProofCache, type ProofCacheEntry } from './proof-cache';
import { SerialQueue } from './serial-queue';
import { sweepExpired, parseStoredRetention, type SweepOutcome } from './retention-sweep';
import { applyServerChanges, isPseudonymisedStop } from './server-state';
import type { SqlConnection } from './sql-binding';

const noChange: StoreChange = { locationIds: [], data: false, outbox: false, rejected: false, locations: false };

export class EncryptedStore implements LocalStore {
  readonly #db: EncryptedDatabase;
  readonly #queue = new SerialQueue();
  readonly #listeners = new Set<(change: StoreChange) => void>();
  readonly #now: () => number;

  constructor(db: EncryptedDatabase, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
  }

  get path(): string {
    return this.#db.path;
  }

  get closed(): boolean {
    return this.#queue.closed;
  }

  async replaceLocations(input: readonly LocationAccess[]): Promise<DroppedLocation[]> {
    const access = z.array(LocationAccessSchema).parse(input);
    return this.#write(async (conn) => {
      const keep = new Set(access.map((a) => a.location.id));
      const dropped: DroppedLocation[] = [];
      for (const row of await conn.all('SELECT id FROM locations')) {
        const id = text(row, 'id');
        if (!keep.has(id)) dropped.push(await deleteLocation(conn, id));
      }
      for (const a of access) {
        await conn.run(
          `INSERT INTO locations (id, name, timezone, permissions, roles, expires_at, retention) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET name = excluded.name, timezone = excluded.timezone, permissions = excluded.permissions,
             roles = excluded.roles, expires_at = excluded.expires_at, retention = excluded.retention`,
          [a.location.id, a.location.name, a.location.timezone, JSON.stringify(a.permissions), JSON.stringify(a.roles), a.expiresAt,
            a.retention ? JSON.stringify(a.retention) : null],
        );
      }
      const ids = [...keep, ...dropped.map((d) => d.locationId)];
      return { result: dropped, change: { ...noChange, locations: true, data: dropped.length > 0, outbox: dropped.length > 0, locationIds: ids } };
    }, { purge: true });
  }

  locations(): Promise<StoredLocation[]> {
    return this.#read(async (conn) => {
      const rows = await conn.all('SELECT * FROM locations ORDER BY name COLLATE NOCASE, id');
      return rows.map((r) => {
        const retention = parseStoredRetention(textOrNull(r, 'retention'));
        return {
          id: text(r, 'id'),
          name: text(r, 'name'),
          timezone: text(r, 'timezone'),
          permissions: z.array(z.string()).parse(JSON.parse(text(r, 'permissions'))),
          roles: z.array(z.string()).parse(JSON.parse(text(r, 'roles'))),
          expiresAt: intOrNull(r, 'expires_at'),
          ...(retention ? { retention } : {}),
        };
      });
    });
  }

  dropLocation(locationId: string): Promise<DroppedLocation> {
    return this.#write(async (conn) => {
      const dropped = await deleteLocation(conn, locationId);
      return { result: dropped, change: { locationIds: [locationId], data: true, outbox: true, rejected: true, locations: true } };
    }, { purge: true });
  }

  async applyChanges(input: readonly Change[], cursor?: { locationId: string; cursor: number }): Promise<ApplyResult> {
    const changes = parseChanges(input);
    if (cursor) {
      z.object({ locationId: z.string(), cursor: z.number().int().nonnegative() }).parse(cursor);
      const stray = changes.find((c) => c.locationId !== cursor.locationId);
      if (stray) throw new ServerDataRejectedError(`a page for location ${cursor.locationId} contains a change for ${stray.locationId}`);
    }
    return this.#write(async (conn) => {
      const result = await applyAll(conn, changes);
      if (cursor) {
        await conn.run(
          `INSERT INTO sync_cursors (location_id, cursor) VALUES (?, ?)
           ON CONFLICT(location_id) DO UPDATE SET cursor = max(cursor, excluded.cursor)`,
          [cursor.locationId, cursor.cursor],
        );
      }
      return { result, change: { ...noChange, ...erasureFlags(changes), data: result.applied > 0, locationIds: distinct(changes.map((c) => c.locationId)) } };
    }, { purge: erasesData(changes) });
  }

  async applyLiveChange(input: Change): Promise<ApplyResult> {
    const [change] = parseChanges([input]);
    if (!change) throw new ServerDataRejectedError('empty change');
    return this.#write(async (conn) => {
      const result = await applyAll(conn, [change]);
      await conn.run('UPDATE sync_cursors SET cursor = ? WHERE location_id = ? AND cursor = ?', [change.version, change.locationId, change.version - 1]);
      return { result, change: { ...noChange, ...erasureFlags([change]), data: result.applied > 0, locationIds: [change.locationId] } };
    }, { purge: erasesData([change]) });
  }

  cursor(locationId: string): Promise<number> {
    return this.#read(async (conn) => {
      const row = await conn.get('SELECT cursor FROM sync_cursors WHERE location_id = ?', [locationId]);
      return row ? int(row, 'cursor') : 0;
    });
  }

  markSynced(locationId: string, at: number): Promise<void> {
    return this.#write(async (conn) => {
      await conn.run(
        `INSERT INTO sync_cursors (location_id, cursor, synced_at) SELECT id, 0, ? FROM locations WHERE id = ?
         ON CONFLICT(location_id) DO UPDATE SET synced_at = excluded.synced_at`,
        [at, locationId],
      );
      await setMetaRow(conn, 'lastSyncAt', String(at));
      return { result: undefined, change: noChange };
    });
  }

  enqueueLocalEdit(mutation: Mutation): Promise<void> {
    return this.#write(async (conn) => {
      await enqueue(conn, mutation);
      return { result: undefined, change: { ...noChange, data: true, outbox: true, locationIds: [mutation.locationId] } };
    });
  }

  enqueueLocalEdits(mutations: readonly Mutation[]) {
    return this.#write(async (conn) => {
      const outcome = await enqueueBatch(conn, mutations);
      const locationIds = [...new Set(mutations.map((m) => m.locationId))];
      return { result: outcome, change: { ...noChange, data: outcome.queued > 0, outbox: outcome.queued > 0, locationIds } };
    });
  }

  stopsByOrderRef(locationId: string, refs: ReadonlySet<string>) {
    return this.#read((conn) => stopsByOrderRef(conn, locationId, refs));
  }

  importMapping(locationId: string) {
    return this.#read((conn) => readImportMapping(conn, locationId));
  }

  setImportMapping(locationId: string, mapping: ColumnMapping): Promise<void> {
    return this.#write(async (conn) => {
      await writeImportMapping(conn, locationId, mapping, this.#now());
      return { result: undefined, change: noChange };
    });
  }

  pendingMutations(limit = 200) {
    return this.#read((conn) => pending(conn, Math.max(1, Math.trunc(limit))));
  }

  recordPushAttempt(ids: readonly string[], at: number): Promise<void> {
    return this.#write(async (conn) => {
      await recordAttempt(conn, ids, at);
      return { result: undefined, change: noChange };
    });
  }

  async markAcknowledged(input: readonly MutationResult[]) {
    const results = z.array(MutationResultSchema).parse(input);
    return this.#write(async (conn) => {
      const outcome = await acknowledge(conn, results, this.#now());
      const touched = outcome.acknowledged.length + outcome.rejected.length > 0;
      return {
        result: outcome,
        change: { ...noChange, data: touched, outbox: touched, rejected: outcome.rejected.length > 0, locationIds: outcome.locationIds },
      };
    }, { purge: results.some((r) => r.status === 'rejected' && erasedStopOf(r.current) !== null) });
  }

  pendingCount(): Promise<number> {
    return this.#read(pendingCount);
  }

  rejectedMutations() {
    return this.#read(rejected);
  }

  dismissRejected(id: string): Promise<void> {
    return this.#write(async (conn) => {
      const { changes } = await conn.run('DELETE FROM rejected_mutations WHERE id = ?', [id]);
      return { result: undefined, change: { ...noChange, rejected: changes > 0 } };
    });
  }

  boardQuery(locationId: string, query: BoardQuery = {}) {
    return this.#read((conn) => queryBoard(conn, locationId, query));
  }

  boardDay(locationId: string, date?: string) {
    return this.#read((conn) => queryBoardDay(conn, locationId, date));
  }

  route(id: string) {
    return this.#read((conn) => readEntity(conn, 'route', id));
  }

  stop(id: string) {
    return this.#read((conn) => readEntity(conn, 'stop', id));
  }

  stopsOfRoute(routeId: string) {
    return this.#read((conn) => listEntities(conn, 'stop', 'route_id = ?', [routeId], 'sequence, id'));
  }

  drivers(locationId: string) {
    return this.#read((conn) => listEntities(conn, 'driver', 'location_id = ?', [locationId], 'name COLLATE NOCASE, id'));
  }

  vehicles(locationId: string) {
    return this.#read((conn) => listEntities(conn, 'vehicle', 'location_id = ?', [locationId], 'label COLLATE NOCASE, id'));
  }

  positions(locationId: string) {
    return this.#read((conn) => listEntities(conn, 'position', 'location_id = ?', [locationId], 'driver_id'));
  }

  getMeta(key: MetaKey): Promise<string | null> {
    return this.#read(async (conn) => {
      const row = await conn.get('SELECT value FROM meta WHERE key = ?', [key]);
      return row ? text(row, 'value') : null;
    });
  }

  setMeta(key: MetaKey, value: string): Promise<void> {
    return this.#write(async (conn) => {
      await setMetaRow(conn, key, value);
      return { result: undefined, change: noChange };
    });
  }

  proofCache(key: string): Promise<ProofCacheEntry | null> {
    return this.#read((conn) => readProofCache(conn, key));
  }

  putProofCache(entry: ProofCacheEntry): Promise<void> {
    return this.#write(async (conn) => ({ result: await writeProofCache(conn, entry), change: noChange }));
  }

  clearProofCache(): Promise<number> {
    // Purged, so the deleted images do not linger in free pages of the file.
    return this.#write(async (conn) => ({ result: await clearProofCache(conn), change: noChange }), { purge: true });
  }

  sweepExpired(now: number = this.#now()): Promise<SweepOutcome> {
    return this.#write(async (conn) => {
      const outcome = await sweepExpired(conn, now);
      const touched = outcome.pseudonymised + outcome.deleted + outcome.positions > 0;
      const edits = outcome.discardedEdits > 0;
      const locationIds = touched || edits ? (await conn.all('SELECT id FROM locations')).map((r) => text(r, 'id')) : [];
      return { result: outcome, change: { ...noChange, data: touched || edits, outbox: edits, rejected: edits, locationIds } };
    }, { purge: true });
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  rekey(key: DatabaseKey): Promise<void> {
    return this.#queue.run(() => this.#db.rekey(key));
  }

  async close(): Promise<void> {
    if (this.#queue.closed) return;
    await this.#queue.drainAndClose();
    this.#listeners.clear();
    await this.#db.close();
  }

  #read<T>(fn: (conn: SqlConnection) => Promise<T>): Promise<T> {
    return this.#queue.run(() => fn(this.#db.conn));
  }

  /**
   * One transaction; listeners hear about it only after COMMIT. `purge`: deleted rows were
   * customer data, so fold the WAL into the file and truncate it right away.
   */
  async #write<T>(fn: (conn: SqlConnection) => Promise<{ result: T; change: StoreChange }>, options: { purge?: boolean } = {}): Promise<T> {
    const { result, change } = await this.#queue.run(async () => {
      const conn = this.#db.conn;
      await conn.exec('BEGIN IMMEDIATE');
      let out: { result: T; change: StoreChange };
      try {
        out = await fn(conn);
        await conn.exec('COMMIT');
      } catch (err) {
        await conn.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
      if (options.purge) await this.#db.checkpoint();
      return out;
    });
    if (change.data || change.outbox || change.rejected || change.locations) {
      for (const listener of this.#listeners) {
        try {
          listener(change);
        } catch {
          // A failing listener (UI code) must not turn a committed write into an error.
        }
      }
    }
    return result;
  }
}

async function deleteLocation(conn: SqlConnection, locationId: string): Promise<DroppedLocation> {
  const row = await conn.get('SELECT count(*) AS n FROM outbox WHERE location_id = ?', [locationId]);
  // Every table that holds location data references locations(id) ON DELETE CASCADE.
  await conn.run('DELETE FROM locations WHERE id = ?', [locationId]);
  return { locationId, discardedEdits: row ? int(row, 'n') : 0 };
}

async function applyAll(conn: SqlConnection, changes: readonly Change[]): Promise<ApplyResult> {
  const applied = await applyServerChanges(conn, changes);
  return { applied, skipped: changes.length - applied };
}

async function setMetaRow(conn: SqlConnection, key: MetaKey, value: string): Promise<void> {
  await conn.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', [key, value]);
}

function parseChanges(input: readonly Change[]): Change[] {
  const parsed = z.array(ChangeSchema).safeParse(input);
  if (!parsed.success) throw new ServerDataRejectedError(`malformed change: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/**
 * A removal or a pseudonymised stop takes customer data out of the file (and its pending and
 * refused edits with it, local-erasure.ts): the write then truncates the WAL as a dropped
 * location does, so the old page versions do not stay beside the file.
 */
function erasesData(changes: readonly Change[]): boolean {
  return changes.some((c) => c.entity === 'removed' || isPseudonymisedStop(c));
}

function erasureFlags(changes: readonly Change[]): Pick<StoreChange, 'outbox' | 'rejected'> {
  const erases = erasesData(changes);
  return { outbox: erases, rejected: erases };
}

function distinct(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}
