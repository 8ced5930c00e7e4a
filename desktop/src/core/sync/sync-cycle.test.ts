import type { Change, PullResponse } from '@depotline/shared';
import { describe, expect, it } from 'vitest';
import { ServerDataRejectedError } from '../errors';
import type { LocalStore } from '../store/local-store';
import { buildLocationAccess, buildRoute, routeChange } from '../testing/fixtures';
import { createTestStore } from '../testing/store';
import { makeTempDir } from '../testing/temp-dir';
import type { SyncChannel } from './sync-channel';
import { pullLocation } from './sync-cycle';

const L = 'depot-1';

/** A channel whose pull answers come from `pages` (keyed by `after`), recording the order of events. */
function fakeChannel(pages: Record<number, PullResponse | Error>, log: string[]): SyncChannel {
  const channel = {
    request: async (event: string, payload: { locationId: string; after: number; limit: number }) => {
      expect(event).toBe('sync:pull');
      log.push(`request ${payload.after}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const page = pages[payload.after];
      if (!page) throw new Error(`no page after ${payload.after}`);
      if (page instanceof Error) throw page;
      return page;
    },
  };
  return channel as unknown as SyncChannel;
}

/** A store that only records what pullLocation does to it; applying a page takes a while. */
function fakeStore(log: string[], options: { failAt?: number } = {}): LocalStore {
  const store: Partial<LocalStore> = {
    cursor: () => Promise.resolve(0),
    applyChanges: async (changes, cursor) => {
      log.push(`apply ${cursor?.cursor} start`);
      await new Promise((resolve) => setTimeout(resolve, 30));
      if (cursor?.cursor === options.failAt) throw new Error('disk full');
      log.push(`apply ${cursor?.cursor} done`);
      return { applied: changes.length, skipped: 0 };
    },
    markSynced: (locationId) => {
      log.push(`synced ${locationId}`);
      return Promise.resolve();
    },
  };
  return store as LocalStore;
}

const change = (version: number): Change => routeChange(buildRoute(L, { version }));
const page = (after: number, cursor: number, hasMore: boolean): PullResponse => ({
  locationId: L, changes: Array.from({ length: cursor - after }, (_, i) => change(after + i + 1)), cursor, hasMore,
});

describe('pullLocation', () => {
  it('asks for the next page while applying this one, and applies pages in order', async () => {
    const log: string[] = [];
    const channel = fakeChannel({ 0: page(0, 3, true), 3: page(3, 6, true), 6: page(6, 8, false) }, log);
    expect(await pullLocation(channel, fakeStore(log), L, 3, () => 1)).toBe(8);
    expect(log).toEqual([
      'request 0',
      'request 3', 'apply 3 start', 'apply 3 done',
      'request 6', 'apply 6 start', 'apply 6 done',
      'apply 8 start', 'apply 8 done',
      `synced ${L}`,
    ]);
  });

  it('stops at a page that fails to apply; the page already asked for is dropped unapplied', async () => {
    const log: string[] = [];
    const channel = fakeChannel({ 0: page(0, 3, true), 3: new Error('connection lost') }, log);
    await expect(pullLocation(channel, fakeStore(log, { failAt: 3 }), L, 3, () => 1)).rejects.toThrow('disk full');
    await new Promise((resolve) => setTimeout(resolve, 20)); // the dropped request settles, unhandled-rejection free
    expect(log).toEqual(['request 0', 'request 3', 'apply 3 start']);
  });

  it('applies a page whose cursor did not advance, then refuses to pull forever', async () => {
    const log: string[] = [];
    const stuck: PullResponse = { locationId: L, changes: [change(3)], cursor: 0, hasMore: true };
    const channel = fakeChannel({ 0: stuck }, log);
    await expect(pullLocation(channel, fakeStore(log), L, 3, () => 1)).rejects.toBeInstanceOf(ServerDataRejectedError);
    expect(log).toEqual(['request 0', 'apply 0 start', 'apply 0 done']);
  });

  it("refuses a page of another location before applying it", async () => {
    const log: string[] = [];
    const channel = fakeChannel({ 0: { ...page(0, 3, false), locationId: 'depot-2' } }, log);
    await expect(pullLocation(channel, fakeStore(log), L, 3, () => 1)).rejects.toBeInstanceOf(ServerDataRejectedError);
    expect(log).toEqual(['request 0']);
  });

  it('a malformed change in a page is refused by the store with the whole page, the cursor stays', async () => {
    const tmp = makeTempDir();
    const { store } = await createTestStore(tmp.dir);
    try {
      const access = buildLocationAccess({ id: L });
      await store.replaceLocations([access]);
      const bad = { entity: 'stop', locationId: L, version: 4, data: { id: 'x' } } as unknown as Change;
      const channel = fakeChannel({ 0: page(0, 3, true), 3: { locationId: L, changes: [change(4), bad], cursor: 5, hasMore: false } }, []);
      await expect(pullLocation(channel, store, L, 3, () => 1)).rejects.toBeInstanceOf(ServerDataRejectedError);
      expect(await store.cursor(L)).toBe(3);
    } finally {
      await store.close();
      tmp.remove();
    }
  });
});
