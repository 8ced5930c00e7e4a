import crypto from 'node:crypto';
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildLocationAccess, buildRoute, buildStop, editNotes, piiOf, pseudonymisedChange, routeChange, setStatus, stopChange,
} from '../testing/fixtures';
import { decryptDatabaseFile, decryptWalFile, findNeedles } from '../testing/sqlcipher-pages';
import { createTestStore, storeTestBinding } from '../testing/store';
import { makeTempDir, readDatabaseFiles } from '../testing/temp-dir';
import { DatabaseKey } from '../vault/database-key';
import { createEncryptedDatabase } from './encrypted-database';
import type { EncryptedStore } from './encrypted-store';
import { forgetStopLeftovers } from './local-erasure';
import { migrate } from './migrate';

/** The driver under test (testing/store.ts): the suite runs once per driver. */
const binding = storeTestBinding();

/** Removals and pseudonymised stops from the server leave nothing readable in the file. */
describe('encrypted store: removed and pseudonymised stops', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let store: EncryptedStore;
  let file: string;
  let key: DatabaseKey;
  const loc = buildLocationAccess({ name: 'North' });
  const L = loc.location.id;
  const pages = () => [...decryptDatabaseFile(file, key), ...decryptWalFile(`${file}-wal`, key)];
  const walSize = () => (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);

  beforeEach(async () => {
    tmp = makeTempDir();
    ({ store, file, key } = await createTestStore(tmp.dir));
    await store.replaceLocations([loc]);
  });
  afterEach(async () => {
    await store.close();
    tmp.remove();
  });

  it('a removed stop takes its pending edits, refused edits and proof copy with it, and the WAL is truncated', async () => {
    const route = buildRoute(L);
    const gone = buildStop(L, route.id, { version: 2 });
    const kept = buildStop(L, route.id, { version: 2, sequence: 1 });
    await store.applyChanges([routeChange(route), stopChange(gone), stopChange(kept)]);
    await store.enqueueLocalEdit(editNotes(gone, 'Gate code 5521 Wombat'));
    const refused = editNotes(gone, 'Side door 7734 Numbat');
    await store.enqueueLocalEdit(refused);
    await store.markAcknowledged([{ id: refused.id, status: 'rejected', code: 'conflict', reason: 'stale', current: stopChange(gone, 3) }]);
    await store.putProofCache({ key: `list:${gone.id}`, locationId: L, stopId: gone.id, contentType: 'application/json', body: Buffer.from(`[{"by":"Signed Quoll ${gone.id}"}]`), cachedAt: 1 });
    const needles = [...piiOf([gone]), 'Gate code 5521 Wombat', 'Side door 7734 Numbat', `Signed Quoll ${gone.id}`];
    // Control: before the removal the scan finds them, so it can fail.
    expect(findNeedles(pages(), needles)).toEqual(needles);

    await store.applyChanges([{ entity: 'removed', locationId: L, version: 9, data: { kind: 'stop', id: gone.id } }]);
    expect(await store.stop(gone.id)).toBeNull();
    expect(await store.pendingCount()).toBe(0);
    expect(await store.rejectedMutations()).toEqual([]);
    expect(await store.proofCache(`list:${gone.id}`)).toBeNull();
    expect(walSize()).toBe(0);
    expect(findNeedles(pages(), needles)).toEqual([]);
    expect(findNeedles(pages(), piiOf([kept]))).toEqual(piiOf([kept]));
    expect(findNeedles(readDatabaseFiles(file), [...needles, ...piiOf([kept])])).toEqual([]);
    // A late, older copy cannot bring it back.
    expect(await store.applyChanges([stopChange(gone, 8)])).toEqual({ applied: 0, skipped: 1 });
  });

  it('a pseudonymised stop keeps its facts, loses its identity everywhere in the file, also under a pending edit', async () => {
    const route = buildRoute(L);
    const stop = buildStop(L, route.id, { version: 2, status: 'delivered' });
    const other = buildStop(L, route.id, { version: 2, sequence: 1 });
    await store.applyChanges([routeChange(route), stopChange(stop), stopChange(other)]);
    await store.enqueueLocalEdit(editNotes(stop, 'Ring twice 9182 Bilby'));
    await store.enqueueLocalEdit(setStatus(other, 'en_route'));
    const needles = [...piiOf([stop]), stop.email!, stop.paymentRef!, 'Ring twice 9182 Bilby'];
    expect(findNeedles(pages(), needles)).toEqual(needles);

    // Live, as the purge or an erasure sends it.
    await store.applyLiveChange(pseudonymisedChange(stop, 10));
    const read = await store.stop(stop.id);
    expect(read).toMatchObject({ id: stop.id, status: 'delivered', orderRef: stop.orderRef, window: stop.window, pseudonymised: true, version: 10, phone: null, email: null });
    expect(read?.customerName).toBeUndefined();
    expect(read?.address).toBeUndefined();
    expect(read?.notes).toBeUndefined();
    // Only the erased stop's edit went; the other stop's edit is still queued.
    expect((await store.pendingMutations()).map((p) => p.mutation.type)).toEqual(['stop.setStatus']);
    expect(walSize()).toBe(0);
    expect(findNeedles(pages(), needles)).toEqual([]);
    expect(findNeedles(pages(), piiOf([other]))).toEqual(piiOf([other]));
    // An older copy with the identity cannot come back.
    expect(await store.applyChanges([stopChange(stop, 9)])).toEqual({ applied: 0, skipped: 1 });
    expect((await store.stop(stop.id))?.customerName).toBeUndefined();
  });

  it('a removed route takes its stops leftovers with it', async () => {
    const route = buildRoute(L);
    const stop = buildStop(L, route.id, { version: 2 });
    await store.applyChanges([routeChange(route), stopChange(stop)]);
    await store.enqueueLocalEdit(editNotes(stop, 'Behind the shed 3310 Dunnart'));
    await store.applyChanges([{ entity: 'removed', locationId: L, version: 5, data: { kind: 'route', id: route.id } }]);
    expect(await store.pendingCount()).toBe(0);
    expect(walSize()).toBe(0);
    expect(findNeedles(pages(), [...piiOf([stop]), 'Behind the shed 3310 Dunnart'])).toEqual([]);
  });
  it('an edit the server refuses because the stop was pseudonymised is not kept, nor the stop\'s other pending edits', async () => {
    const route = buildRoute(L);
    const stop = buildStop(L, route.id, { version: 2 });
    await store.applyChanges([routeChange(route), stopChange(stop)]);
    const refused = editNotes(stop, 'Typed offline 4471 Bandicoot');
    await store.enqueueLocalEdit(refused);
    await store.enqueueLocalEdit(editNotes(stop, 'Typed offline 4472 Bettong'));
    expect(await store.markAcknowledged([{ id: refused.id, status: 'rejected', code: 'conflict', reason: 'erased', current: pseudonymisedChange(stop, 7) }]))
      .toMatchObject({ rejected: [refused.id] });
    expect(await store.rejectedMutations()).toEqual([]);
    expect(await store.pendingCount()).toBe(0);
    expect(await store.stop(stop.id)).toMatchObject({ pseudonymised: true, version: 7 });
    expect((await store.stop(stop.id))?.notes).toBeUndefined();
    expect(walSize()).toBe(0);
    expect(findNeedles(pages(), [...piiOf([stop]), 'Typed offline 4471 Bandicoot', 'Typed offline 4472 Bettong'])).toEqual([]);
  });
});

describe('forgetStopLeftovers', () => {
  it('drops a refused edit it cannot read rather than failing the removal, and keeps the ones of other stops', async () => {
    const tmp = makeTempDir();
    const db = await createEncryptedDatabase(binding, `${tmp.dir}/f.db`, DatabaseKey.generate(), (conn) => migrate(conn).then(() => undefined));
    try {
      await db.conn.run("INSERT INTO locations VALUES ('l1', 'L', 'UTC', '[]', '[]', NULL, NULL)");
      const other = editNotes(buildStop('l1', 'r1', { id: 's-other' }), 'kept');
      await db.conn.run("INSERT INTO rejected_mutations VALUES ('x1', 'l1', '{not json', 'conflict', 'r', NULL, 1)");
      await db.conn.run("INSERT INTO rejected_mutations VALUES (?, 'l1', ?, 'conflict', 'r', '{\"entity\":', 1)", [crypto.randomUUID(), JSON.stringify(other)]);
      await db.conn.run("INSERT INTO rejected_mutations VALUES (?, 'l1', ?, 'conflict', 'r', NULL, 1)", [other.id, JSON.stringify(other)]);
      await forgetStopLeftovers(db.conn, ['s-gone']);
      expect(await db.conn.all('SELECT id FROM rejected_mutations')).toEqual([{ id: other.id }]);
    } finally {
      await db.close();
      tmp.remove();
    }
  });
});
