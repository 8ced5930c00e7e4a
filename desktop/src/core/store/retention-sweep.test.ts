import fs from 'node:fs';
import type { LocationRetention } from '@depotline/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDriver, buildLocationAccess, buildRoute, buildStop, editNotes, piiOf, routeChange, stopChange } from '../testing/fixtures';
import { decryptDatabaseFile, decryptWalFile, findNeedles } from '../testing/sqlcipher-pages';
import { createTestStore, reopenTestStore } from '../testing/store';
import { makeTempDir } from '../testing/temp-dir';
import type { DatabaseKey } from '../vault/database-key';
import type { EncryptedStore } from './encrypted-store';

const day = 86_400_000;
const retention: LocationRetention = { contactDays: 90, deliveryDays: 730, proofDays: 180, trackingLinkDays: 30, positionHistoryDays: 30 };

/** The local sweep applies each location's periods to the file, with no network at all. */
describe('local retention sweep', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let store: EncryptedStore;
  let file: string;
  let key: DatabaseKey;
  const now = Date.UTC(2026, 10, 30, 12);
  const loc = { ...buildLocationAccess({ name: 'North' }), retention };
  const unlisted = buildLocationAccess({ name: 'No periods' });
  const L = loc.location.id;
  const pages = () => [...decryptDatabaseFile(file, key), ...decryptWalFile(`${file}-wal`, key)];
  const endingAgo = (days: number, extraMs = 0) => ({ start: now - days * day - 3_600_000 + extraMs, end: now - days * day + extraMs });

  beforeEach(async () => {
    tmp = makeTempDir();
    ({ store, file, key } = await createTestStore(tmp.dir));
    await store.replaceLocations([loc, unlisted]);
  });
  afterEach(async () => {
    await store.close();
    tmp.remove();
  });

  it('keeps the periods the server listed, across a reopen, and forgets them when the server stops sending them', async () => {
    expect((await store.locations()).find((l) => l.id === L)?.retention).toEqual(retention);
    await store.close();
    store = await reopenTestStore(file, key);
    expect((await store.locations()).find((l) => l.id === L)?.retention).toEqual(retention);
    const { retention: _r, ...without } = loc;
    await store.replaceLocations([without, unlisted]);
    expect((await store.locations()).find((l) => l.id === L)?.retention).toBeUndefined();
  });

  it('pseudonymises at the contact period and not before, deletes at the delivery period, drops old positions and proof copies', async () => {
    const route = buildRoute(L);
    const expiredContact = buildStop(L, route.id, { window: endingAgo(90, -1), status: 'delivered' });
    const justInside = buildStop(L, route.id, { window: endingAgo(90, 60_000), sequence: 1 });
    const expiredDelivery = buildStop(L, route.id, { window: endingAgo(731), sequence: 2, version: 4 });
    const oldDriver = buildDriver(L);
    const freshDriver = buildDriver(L);
    const elsewhere = buildStop(unlisted.location.id, buildRoute(unlisted.location.id).id, { window: endingAgo(3000) });
    await store.applyChanges([
      routeChange(route), stopChange(expiredContact), stopChange(justInside), stopChange(expiredDelivery),
      { entity: 'driver', locationId: L, version: 2, data: oldDriver }, { entity: 'driver', locationId: L, version: 3, data: freshDriver },
      { entity: 'position', locationId: L, version: 4, data: { driverId: oldDriver.id, locationId: L, lat: 51.1, lng: 12.2, headingDeg: null, speedKmh: null, recordedAt: now - 31 * day, version: 4 } },
      { entity: 'position', locationId: L, version: 5, data: { driverId: freshDriver.id, locationId: L, lat: 51.2, lng: 12.3, headingDeg: null, speedKmh: null, recordedAt: now - day, version: 5 } },
    ]);
    await store.applyChanges([stopChange(elsewhere)]);
    await store.enqueueLocalEdit(editNotes(expiredContact, 'Parcel box 6640 Potoroo'));
    const proof = (stopId: string, cachedAt: number, tag: string) => ({ key: `file:${tag}`, locationId: L, stopId, contentType: 'image/jpeg', body: Buffer.from(`photo ${tag}`), cachedAt });
    await store.putProofCache(proof(justInside.id, now - 181 * day, 'old-copy-1x9'));
    await store.putProofCache(proof(justInside.id, now - day, 'recent-copy-2y8'));
    await store.putProofCache(proof(expiredContact.id, now - day, 'erased-copy-3z7'));
    const gone = [...piiOf([expiredContact, expiredDelivery]), expiredContact.email!, expiredContact.paymentRef!, 'Parcel box 6640 Potoroo', 'photo old-copy-1x9', 'photo erased-copy-3z7'];
    expect(findNeedles(pages(), gone)).toEqual(gone);

    expect(await store.sweepExpired(now)).toEqual({ pseudonymised: 1, deleted: 1, positions: 1, proofCopies: 1, discardedEdits: 1 });
    const read = await store.stop(expiredContact.id);
    expect(read).toMatchObject({ status: 'delivered', orderRef: expiredContact.orderRef, pseudonymised: true, phone: null, email: null, coordinates: null });
    expect(read?.customerName).toBeUndefined();
    expect(await store.stop(justInside.id)).toEqual(justInside);
    expect(await store.stop(expiredDelivery.id)).toBeNull();
    expect(await store.stop(elsewhere.id)).toEqual(elsewhere);
    expect((await store.positions(L)).map((p) => p.driverId)).toEqual([freshDriver.id]);
    expect(await store.proofCache('file:recent-copy-2y8')).not.toBeNull();
    expect(await store.pendingCount()).toBe(0);
    expect(fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0).toBe(0);
    expect(findNeedles(pages(), gone)).toEqual([]);
    expect(findNeedles(pages(), piiOf([justInside]))).toEqual(piiOf([justInside]));

    // The deleted stop cannot come back from an older copy; a second sweep finds nothing.
    expect(await store.applyChanges([stopChange(expiredDelivery, 3)])).toEqual({ applied: 0, skipped: 1 });
    expect(await store.sweepExpired(now)).toEqual({ pseudonymised: 0, deleted: 0, positions: 0, proofCopies: 0, discardedEdits: 0 });
    // A minute later the next stop's contact period is over too.
    expect(await store.sweepExpired(now + 2 * 60_000)).toMatchObject({ pseudonymised: 1 });
  });

  it('leaves stops under a legal hold alone, and applies the periods once the server says the hold ended', async () => {
    const route = buildRoute(L);
    const heldOld = buildStop(L, route.id, { window: endingAgo(800), sequence: 0, version: 5, held: true });
    const heldStale = buildStop(L, route.id, { window: endingAgo(100), sequence: 1, version: 6, held: true });
    await store.applyChanges([routeChange(route), stopChange(heldOld), stopChange(heldStale)]);
    const proof = { key: 'file:held-copy-4h2', locationId: L, stopId: heldOld.id, contentType: 'image/jpeg', body: Buffer.from('photo held-copy-4h2'), cachedAt: now - 200 * day };
    await store.putProofCache(proof);

    expect(await store.sweepExpired(now)).toEqual({ pseudonymised: 0, deleted: 0, positions: 0, proofCopies: 0, discardedEdits: 0 });
    expect(await store.stop(heldOld.id)).toEqual(heldOld);
    expect(await store.stop(heldStale.id)).toEqual(heldStale);
    expect(await store.proofCache('file:held-copy-4h2')).not.toBeNull();
    // Still held after a reopen: the flag is stored, not remembered.
    await store.close();
    store = await reopenTestStore(file, key);
    expect(await store.sweepExpired(now)).toMatchObject({ pseudonymised: 0, deleted: 0 });

    // The hold is released: the server sends both stops again, at new versions, without the flag.
    const { held: _h1, ...releasedOld } = { ...heldOld, version: 7 };
    const { held: _h2, ...releasedStale } = { ...heldStale, version: 8 };
    await store.applyChanges([stopChange(releasedOld), stopChange(releasedStale)]);
    expect(await store.sweepExpired(now)).toMatchObject({ pseudonymised: 1, deleted: 1 });
    expect(await store.stop(heldOld.id)).toBeNull();
    expect(await store.proofCache('file:held-copy-4h2')).toBeNull();
    expect(await store.stop(heldStale.id)).toMatchObject({ pseudonymised: true, phone: null });
    expect(findNeedles(pages(), [...piiOf([heldOld, heldStale]), 'photo held-copy-4h2'])).toEqual([]);
  });

  it('a stop swept away comes back when the server sends the same version again (it kept the stop), but no older copy does', async () => {
    const route = buildRoute(L);
    const old = buildStop(L, route.id, { window: endingAgo(800), version: 5 });
    await store.applyChanges([routeChange(route), stopChange(old)]);
    expect(await store.sweepExpired(now)).toMatchObject({ deleted: 1 });
    await store.applyChanges([stopChange(old, 4)]);
    expect(await store.stop(old.id)).toBeNull();
    const kept = { ...old, held: true };
    await store.applyChanges([stopChange(kept)]);
    expect(await store.stop(old.id)).toEqual(kept);
    expect(await store.sweepExpired(now)).toMatchObject({ deleted: 0 });
  });
});
