import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProfileOfflineLockedError } from '../errors';
import { requireTestKeyring, testProfileId, testVault } from '../testing/keyring';
import { makeTempDir } from '../testing/temp-dir';
import { recordOnline } from './offline-lock';
import { openProfileStore } from './profile-store';

const day = 86_400_000;

describe('the offline-days lock on a real SQLCipher profile', () => {
  beforeAll(requireTestKeyring);
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const profile = () => {
    const tmp = makeTempDir();
    const { vault } = testVault();
    const profileId = testProfileId();
    cleanups.push(() => tmp.remove(), async () => {
      await vault.deleteKey(profileId, 'current').catch(() => false);
    });
    let clock = Date.UTC(2026, 0, 1);
    const base = { profileId, dbPath: path.join(tmp.dir, `${profileId}.db`), vault, now: () => clock, offlineLock: { offlineDays: 14 } };
    return {
      set: (t: number) => {
        clock = t;
      },
      at: () => clock,
      open: async (extra: { forOnlineSignIn?: boolean; offlineLock?: undefined } = {}) => openProfileStore({ ...base, ...extra }),
    };
  };

  it('a laptop offline past the policy\'s days refuses to open its data; an online sign-in unlocks it', async () => {
    const p = profile();
    const start = p.at();
    // First sign-in, online: the server answered.
    let store = await p.open();
    await recordOnline(store, p.at());
    await store.close();

    // 13 days later, still offline: opens.
    p.set(start + 13 * day);
    store = await p.open();
    await store.close();

    // 15 days: locked, and the error says why and what to do.
    p.set(start + 15 * day);
    const err = await p.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProfileOfflineLockedError);
    expect((err as Error).message).toMatch(/more than 14 days \(last on 2026-01-01\).*Connect to the network and sign in/);

    // Opened for an online sign-in only; the server accepts it and the lock lifts.
    store = await p.open({ forOnlineSignIn: true });
    await recordOnline(store, p.at());
    await store.close();
    store = await p.open();
    await store.close();
  });

  it('setting the clock back does not buy more offline days', async () => {
    const p = profile();
    const start = p.at();
    const store = await p.open();
    await recordOnline(store, start);
    await store.close();
    // Opened offline on day 10 (the console saw that date) ...
    p.set(start + 10 * day);
    await (await p.open()).close();
    // ... then on day 20, the clock wound back to day 2: the latest date seen still counts.
    p.set(start + 20 * day);
    await expect(p.open()).rejects.toBeInstanceOf(ProfileOfflineLockedError);
    p.set(start + 2 * day);
    await expect(p.open()).rejects.toBeInstanceOf(ProfileOfflineLockedError);
  });

  it('without the setting nothing locks; a profile from before the setting starts counting at its first open', async () => {
    const p = profile();
    const start = p.at();
    const first = await p.open();
    await first.close();
    p.set(start + 14 * day);
    await (await p.open()).close();
    p.set(start + 14 * day + 60_000);
    await expect(p.open()).rejects.toBeInstanceOf(ProfileOfflineLockedError);
    // The same file with no offlineDays in force opens a year later.
    p.set(start + 365 * day);
    await (await p.open({ offlineLock: undefined })).close();
  });
});
