import crypto from 'node:crypto';
import type { Mutation, MutationResult } from '@depotline/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalEditRefusedError } from '../errors';
import { buildLocationAccess, buildRoute, buildStop, editNotes, routeChange, setStatus, stopChange } from '../testing/fixtures';
import { createTestStore, reopenTestStore } from '../testing/store';
import { makeTempDir } from '../testing/temp-dir';
import type { DatabaseKey } from '../vault/database-key';
import type { EncryptedStore } from './encrypted-store';

describe('outbox: local edits, acknowledgements and rollbacks', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let store: EncryptedStore;
  let file: string;
  let key: DatabaseKey;
  const loc = buildLocationAccess();
  const L = loc.location.id;
  const route = buildRoute(L, { version: 1 });
  const stop = buildStop(L, route.id, { version: 2, notes: 'ring twice' });

  beforeEach(async () => {
    tmp = makeTempDir();
    ({ store, file, key } = await createTestStore(tmp.dir));
    await store.replaceLocations([loc]);
    await store.applyChanges([routeChange(route), stopChange(stop)], { locationId: L, cursor: 2 });
  });
  afterEach(async () => {
    await store.close();
    tmp.remove();
  });

  const applied = (m: Mutation, version: number): MutationResult => ({ id: m.id, status: 'applied', version });

  it('applies an edit locally and queues it in one step; the queue keeps its order across a reopen', async () => {
    const edits = [setStatus(stop, 'en_route', 10), editNotes(stop, 'back door', 11), setStatus(stop, 'arrived', 12)];
    for (const m of edits) await store.enqueueLocalEdit(m);
    expect(await store.stop(stop.id)).toMatchObject({ status: 'arrived', notes: 'back door', version: 2 });
    await store.close();
    store = await reopenTestStore(file, key);
    expect((await store.pendingMutations()).map((p) => p.mutation)).toEqual(edits);
    expect(await store.pendingCount()).toBe(3);
  });

  it('refuses edits that cannot be right, and queues nothing for them', async () => {
    const refusal = (m: Mutation) => store.enqueueLocalEdit(m).then(() => null, (e: unknown) => (e instanceof LocalEditRefusedError ? e.refusal : e));
    expect(await refusal(setStatus(stop, 'delivered'))).toBe('invalid_transition');
    expect(await refusal(setStatus({ ...stop, id: 'nope' }, 'en_route'))).toBe('not_found');
    expect(await refusal({ ...setStatus(stop, 'en_route'), locationId: 'other-depot' })).toBe('unknown_location');
    expect(await refusal({ ...setStatus(stop, 'en_route'), id: 'not-a-uuid' })).toBe('bad_request');
    const m = setStatus(stop, 'en_route');
    await store.enqueueLocalEdit(m);
    expect(await refusal(m)).toBe('already_exists');
    expect(await store.pendingCount()).toBe(1);
  });

  it('an acknowledged edit leaves the outbox and stays visible until the server change replaces it', async () => {
    const m = setStatus(stop, 'en_route');
    await store.enqueueLocalEdit(m);
    const outcome = await store.markAcknowledged([applied(m, 3)]);
    expect(outcome).toMatchObject({ acknowledged: [m.id], rejected: [] });
    expect(await store.pendingCount()).toBe(0);
    expect(await store.stop(stop.id)).toMatchObject({ status: 'en_route' });
    await store.applyChanges([stopChange({ ...stop, status: 'en_route', updatedBy: 'server' }, 3)]);
    expect(await store.stop(stop.id)).toMatchObject({ status: 'en_route', version: 3, updatedBy: 'server' });
    // Answering the same id again (a replayed push) changes nothing.
    expect(await store.markAcknowledged([applied(m, 3)])).toMatchObject({ acknowledged: [], unknown: [m.id] });
  });

  it('a rejected edit rolls back to the server value and is recorded with its reason', async () => {
    const m = setStatus(stop, 'en_route');
    await store.enqueueLocalEdit(m);
    const serverNow = { ...stop, status: 'cancelled' as const, version: 7 };
    await store.markAcknowledged([{
      id: m.id, status: 'rejected', code: 'invalid_transition', reason: 'a cancelled stop is final',
      current: stopChange(serverNow, 7),
    }]);
    expect(await store.stop(stop.id)).toEqual(serverNow);
    expect(await store.pendingCount()).toBe(0);
    const [rejected] = await store.rejectedMutations();
    expect(rejected).toMatchObject({ mutation: m, code: 'invalid_transition', reason: 'a cancelled stop is final', current: stopChange(serverNow, 7) });
    await store.dismissRejected(m.id);
    expect(await store.rejectedMutations()).toEqual([]);
  });

  it('a rejected edit without a server value rolls back to the last confirmed state; a refused create disappears', async () => {
    const notes = editNotes(stop, 'do not knock');
    const create: Mutation = {
      id: crypto.randomUUID(), type: 'stop.create', locationId: L, createdAt: 5, stopId: 'stop-new-1', routeId: route.id, sequence: 9,
      customerName: 'Oskar Brandt', address: '1 Hafenweg', phone: null, notes: '', window: { start: 1, end: 2 },
    };
    await store.enqueueLocalEdit(notes);
    await store.enqueueLocalEdit(create);
    expect(await store.stop('stop-new-1')).toMatchObject({ customerName: 'Oskar Brandt', status: 'planned' });
    await store.markAcknowledged([
      { id: notes.id, status: 'rejected', code: 'forbidden', reason: 'no stop.editNotes here', current: null },
      { id: create.id, status: 'rejected', code: 'forbidden', reason: 'no stop.edit here', current: null },
    ]);
    expect(await store.stop(stop.id)).toEqual(stop);
    expect(await store.stop('stop-new-1')).toBeNull();
    expect((await store.rejectedMutations()).map((r) => r.mutation.id)).toEqual([notes.id, create.id]);
  });

  it('rolling back one edit keeps the later pending edits of the same stop on top', async () => {
    const first = editNotes(stop, 'first note');
    const second = setStatus(stop, 'en_route');
    await store.enqueueLocalEdit(first);
    await store.enqueueLocalEdit(second);
    await store.markAcknowledged([{ id: first.id, status: 'rejected', code: 'conflict', reason: 'stale', current: null }]);
    expect(await store.stop(stop.id)).toMatchObject({ notes: 'ring twice', status: 'en_route' });
    expect((await store.pendingMutations()).map((p) => p.mutation.id)).toEqual([second.id]);
  });

  it('a server change under a pending edit updates the rest of the row and keeps the edit on top', async () => {
    await store.enqueueLocalEdit(editNotes(stop, 'my note'));
    await store.applyChanges([stopChange({ ...stop, sequence: 4, notes: 'their note' }, 5)]);
    expect(await store.stop(stop.id)).toMatchObject({ sequence: 4, notes: 'my note', version: 5 });
    // Older server news is still ignored.
    await store.applyChanges([stopChange({ ...stop, sequence: 1 }, 4)]);
    expect(await store.stop(stop.id)).toMatchObject({ sequence: 4 });
  });

  it('acknowledging the first of two edits keeps both visible until the server catches up', async () => {
    const a = editNotes(stop, 'note A');
    const b = setStatus(stop, 'en_route');
    await store.enqueueLocalEdit(a);
    await store.enqueueLocalEdit(b);
    await store.markAcknowledged([applied(a, 3)]);
    expect(await store.stop(stop.id)).toMatchObject({ notes: 'note A', status: 'en_route' });
    await store.markAcknowledged([{ id: b.id, status: 'rejected', code: 'conflict', reason: 'x', current: null }]);
    expect(await store.stop(stop.id)).toMatchObject({ notes: 'note A', status: 'planned' });
  });

  it('counts attempts per edit', async () => {
    const m = setStatus(stop, 'en_route');
    await store.enqueueLocalEdit(m);
    await store.recordPushAttempt([m.id], 100);
    await store.recordPushAttempt([m.id], 200);
    expect(await store.pendingMutations()).toEqual([{ seq: expect.any(Number) as number, mutation: m, attempts: 2, lastAttemptAt: 200 }]);
  });
});

describe('outbox: the server change arriving before the ack', () => {
  it('keeps the server version of the row, not the optimistic one', async () => {
    const tmp = makeTempDir();
    const { store } = await createTestStore(tmp.dir);
    try {
      const loc = buildLocationAccess();
      const L = loc.location.id;
      const route = buildRoute(L, { version: 1 });
      const stop = buildStop(L, route.id, { version: 2 });
      await store.replaceLocations([loc]);
      await store.applyChanges([routeChange(route), stopChange(stop)]);
      const m = editNotes(stop, 'mine', 5);
      await store.enqueueLocalEdit(m);
      const fromServer = { ...stop, notes: 'mine', updatedAt: 9_999, updatedBy: 'me on the server' };
      await store.applyLiveChange(stopChange(fromServer, 3));
      await store.markAcknowledged([{ id: m.id, status: 'applied', version: 3 }]);
      expect(await store.stop(stop.id)).toEqual({ ...fromServer, version: 3 });
    } finally {
      await store.close();
      tmp.remove();
    }
  });
});
