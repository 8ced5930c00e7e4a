import { ProfileOfflineLockedError } from '../errors';
import type { LocalStore } from '../store/local-store';

/**
 * The managed policy's `offlineDays`: a desktop that has not reached the server for that long
 * keeps its data locked until the user signs in online again, so a lost laptop stops being
 * readable in the console. Both times live inside the encrypted database (meta table), where
 * they cannot be edited without the key. The clock only counts forward: the latest reading seen
 * is kept, so setting the computer's clock back does not buy more offline days.
 *
 * What it does not do: someone who has the user's OS session and keychain holds the database
 * key itself; the lock keeps the console from showing the data, it does not re-encrypt it.
 */
export interface OfflineLock {
  offlineDays: number;
  /** The lock's clock; the profile's clock (ProfileOptions.now) or Date.now when absent. */
  now?: () => number;
}

const dayMs = 86_400_000;

async function readTime(store: LocalStore, key: 'lastOnlineAt' | 'latestClockAt'): Promise<number | null> {
  const raw = await store.getMeta(key);
  const n = raw === null ? NaN : Number(raw);
  return Number.isFinite(n) ? n : null;
}

/**
 * Throws ProfileOfflineLockedError when the profile has been offline too long. A profile that
 * never recorded a contact (made before this setting existed) starts counting now.
 */
export async function assertNotOfflineLocked(store: LocalStore, lock: OfflineLock, now: number): Promise<void> {
  const latest = Math.max(now, (await readTime(store, 'latestClockAt')) ?? now);
  await store.setMeta('latestClockAt', String(latest));
  const lastOnline = await readTime(store, 'lastOnlineAt');
  if (lastOnline === null) {
    await store.setMeta('lastOnlineAt', String(latest));
    return;
  }
  if (latest - lastOnline > lock.offlineDays * dayMs) throw new ProfileOfflineLockedError(lastOnline, lock.offlineDays);
}

/** The server answered this profile's session (an online sign-in, a socket that connected): the count starts again. */
export async function recordOnline(store: LocalStore, now: number): Promise<void> {
  if (store.closed) return;
  const latest = Math.max(now, (await readTime(store, 'latestClockAt')) ?? now);
  await store.setMeta('latestClockAt', String(latest));
  await store.setMeta('lastOnlineAt', String(latest));
}
