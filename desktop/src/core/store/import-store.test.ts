import crypto from 'node:crypto';
import path from 'node:path';
import type { Mutation, MutationResult } from '@depotline/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildLocationAccess, buildRoute, buildStop, routeChange, stopChange } from '../testing/fixtures';
import { createTestStore, storeTestBinding } from '../testing/store';
import { makeTempDir } from '../testing/temp-dir';
import { DatabaseKey } from '../vault/database-key';
import { createEncryptedDatabase } from './encrypted-database';
import { EncryptedStore } from './encrypted-store';
import { migrate } from './migrate';
import type { SqlConnection } from './sql-binding';

/** The driver under test (testing/store.ts): the suite runs once per driver. */
const binding = storeTestBinding();

describe('import batches in the local store', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let store: EncryptedStore;
  const loc = buildLocationAccess();
  const L = loc.location.id;
  const route = buildRoute(L, { version: 1 });
  const known = buildStop(L, route.id, { version: 2, orderRef: 'A-1' });

  beforeEach(async () => {
    tmp = makeTempDir();
    ({ store } = await createTestStore(tmp.dir));
    await store.replaceLocations([loc]);
    await store.applyChanges([routeChange(route), stopChange(known)], { locationId: L, cursor: 2 });
  });
  afterEach(async () => {
    await store.close();
    tmp.remove();
  });

  const create = (stopId: string, routeId: string, orderRef: string): Mutation => ({
    id: crypto.randomUUID(), type: 'stop.create', locationId: L, createdAt: 1, stopId, routeId, sequence: 1, customerName: 'New', address: 'Street 1',
    phone: null, notes: '', window: { start: 0, end: 1 }, orderRef,
  });

  it('queues a batch in order with its optimistic rows, leaving out and naming only the edit the local check refuses', async () => {
    const batch = [create('s-new-1', route.id, 'A-2'), create('s-new-2', 'route-unknown', 'A-3'), create('s-new-3', route.id, 'A-4')];
    const outcome = await store.enqueueLocalEdits(batch);
    expect(outcome.queued).toBe(2);
    expect(outcome.refused).toEqual([{ id: batch[1]!.id, code: 'not_found', message: expect.stringContaining('route-unknown') as string }]);
    expect((await store.pendingMutations()).map((p) => p.mutation.id)).toEqual([batch[0]!.id, batch[2]!.id]);
    expect(await store.stop('s-new-2')).toBeNull();
    // A create of an id this device already holds is refused as a single edit would be.
    const again = await store.enqueueLocalEdits([create(known.id, route.id, 'A-5')]);
    expect(again).toMatchObject({ queued: 0, refused: [{ code: 'already_exists' }] });
    const byRef = await store.stopsByOrderRef(L, new Set(['A-1', 'A-2', 'A-4', 'A-9']));
    expect([...byRef.keys()].sort()).toEqual(['A-1', 'A-2', 'A-4']);
  });

  it('leaves exactly what one-by-one queueing leaves: the confirmed copy, the outbox row and the visible row', async () => {
    const other = await createTestStore(tmp.dir, 'one-by-one.db');
    try {
      await other.store.replaceLocations([loc]);
      await other.store.applyChanges([routeChange(route), stopChange(known)], { locationId: L, cursor: 2 });
      const newRoute: Mutation = { id: crypto.randomUUID(), type: 'route.create', locationId: L, createdAt: 1, routeId: 'r-new', name: 'New', date: '2026-12-01' };
      const batch = [newRoute, create('s-1', 'r-new', 'D-1'), create('s-2', route.id, 'D-2'),
        { id: crypto.randomUUID(), type: 'stop.update', locationId: L, createdAt: 2, stopId: 's-2', changes: { address: 'Moved 2' } } as Mutation,
        { id: crypto.randomUUID(), type: 'stop.update', locationId: L, createdAt: 3, stopId: known.id, changes: { address: 'Known, moved', parcelCount: 3 } } as Mutation,
        { id: crypto.randomUUID(), type: 'stop.editNotes', locationId: L, createdAt: 4, stopId: known.id, notes: 'Back door' } as Mutation];
      expect(await store.enqueueLocalEdits(batch)).toEqual({ queued: 6, refused: [] });
      for (const m of batch) await other.store.enqueueLocalEdit(m);
      const state = async (s: EncryptedStore) => ({
        pending: (await s.pendingMutations()).map((p) => p.mutation),
        stops: await Promise.all(['s-1', 's-2', known.id].map((id) => s.stop(id))),
        route: await s.route('r-new'),
      });
      expect(await state(store)).toEqual(await state(other.store));
      // The server's answers settle both the same way; a refused update rolls back to the same confirmed copy.
      const results: MutationResult[] = batch.map((m, i) => (i === 4
        ? { id: m.id, status: 'rejected', code: 'conflict', reason: 'stale', current: null }
        : { id: m.id, status: 'applied', version: 10 + i }));
      await store.markAcknowledged(results);
      await other.store.markAcknowledged(results);
      expect(await state(store)).toEqual(await state(other.store));
      expect(await store.stop(known.id)).toMatchObject({ address: known.address, parcelCount: 1, notes: 'Back door' });
    } finally {
      await other.store.close();
    }
  });

  it('queues none of a batch when the database fails part-way: the batch is one transaction', async () => {
    // The store's own connection, failing the third outbox insert as a full disk would.
    const db = await createEncryptedDatabase(binding, path.join(tmp.dir, 'failing.db'), DatabaseKey.generate(), async (conn) => { await migrate(conn); });
    let inserts = 0;
    const conn: SqlConnection = {
      ...db.conn,
      exec: (sql) => db.conn.exec(sql),
      all: (sql, params) => db.conn.all(sql, params),
      get: (sql, params) => db.conn.get(sql, params),
      close: () => db.conn.close(),
      run: (sql, params) => (sql.includes('INSERT INTO outbox') && ++inserts === 3 ? Promise.reject(new Error('disk I/O error')) : db.conn.run(sql, params)),
    };
    const failing = new EncryptedStore({ ...db, conn });
    try {
      await failing.replaceLocations([loc]);
      await failing.applyChanges([routeChange(route)], { locationId: L, cursor: 1 });
      const batch = ['C-1', 'C-2', 'C-3', 'C-4'].map((ref) => create(`s-${ref}`, route.id, ref));
      await expect(failing.enqueueLocalEdits(batch)).rejects.toThrow('disk I/O error');
      expect(await failing.pendingCount()).toBe(0);
      expect(await failing.stopsByOrderRef(L, new Set(['C-1', 'C-2']))).toEqual(new Map());
      // The next batch goes through whole.
      await expect(failing.enqueueLocalEdits(batch)).resolves.toEqual({ queued: 4, refused: [] });
    } finally {
      await failing.close();
    }
  });
});
