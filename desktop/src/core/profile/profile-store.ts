import fs from 'node:fs';
import path from 'node:path';
import { DatabaseKeyMismatchError, DatabaseKeyMissingError } from '../errors';
import { createEncryptedDatabase, openEncryptedDatabase, removeWithSidecars, sidecarSuffixes, type EncryptedDatabase } from '../store/encrypted-database';
import { EncryptedStore } from '../store/encrypted-store';
import type { LocalStore } from '../store/local-store';
import { migrate } from '../store/migrate';
import type { SqlBinding } from '../store/sql-binding';
import { platformStoreBinding } from '../store/store-driver';
import { DatabaseKey } from '../vault/database-key';
import { assertProfileId, type KeyVault, type SessionSecretVault } from '../vault/key-vault';
import { assertNotOfflineLocked, type OfflineLock } from './offline-lock';

export interface ProfileOptions {
  profileId: string;
  /** The database file; its directory must exist. */
  dbPath: string;
  vault: KeyVault;
  binding?: SqlBinding;
  /** See OpenOptions.verifyPages. */
  verifyPages?: boolean;
  now?: () => number;
  /**
   * The managed policy's `offlineDays` (offline-lock.ts): past it, opening throws
   * ProfileOfflineLockedError. Absent: no limit.
   */
  offlineLock?: OfflineLock | undefined;
  /**
   * Open a profile past its offline limit for an online sign-in only: the caller shows nothing
   * from it unless the server accepts the sign-in (then `recordOnline`), and closes it otherwise.
   */
  forOnlineSignIn?: boolean;
}

/**
 * Opens the profile's store, creating key and database on first run. Order matters for the
 * fail-closed promises: the keychain is proven to work before any file is created, and an
 * existing file is only ever opened with a key, never replaced.
 *
 * Throws KeychainUnavailableError, KeychainEntryInvalidError, DatabaseKeyMissingError,
 * DatabaseKeyMismatchError, DatabaseCorruptError, DatabaseTooNewError, ProfileOfflineLockedError.
 */
export async function openProfileStore(options: ProfileOptions): Promise<LocalStore> {
  assertProfileId(options.profileId);
  const { vault, profileId, dbPath } = options;
  const binding = options.binding ?? platformStoreBinding();
  await vault.probe();

  const exists = fs.existsSync(dbPath);
  let key = await vault.getKey(profileId, 'current');
  let db: EncryptedDatabase;
  if (!exists) {
    if (!key) {
      key = DatabaseKey.generate();
      await vault.setKey(profileId, 'current', key);
    }
    db = await createEncryptedDatabase(binding, dbPath, key, async (conn) => {
      await migrate(conn);
    });
  } else {
    db = await openWithRecovery(options, binding, key);
  }
  try {
    await migrate(db.conn);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  const store = new ProfileStore(db, options.now ? { now: options.now } : {}, dbPath);
  try {
    if (options.offlineLock && !options.forOnlineSignIn) await assertNotOfflineLocked(store, options.offlineLock, (options.offlineLock.now ?? options.now ?? Date.now)());
    // Retention periods apply on open too, before anything is shown (retention-sweep.ts).
    await store.sweepExpired();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}

/**
 * The number of unpushed edits, kept beside the database in plain text (a number says nothing
 * about the data). If the key is ever lost the encrypted outbox cannot be read, but this file
 * still tells the user how many edits went with it (issue: "the user is told how many").
 */
export const pendingCountPath = (dbPath: string) => `${dbPath}.pending`;

/**
 * The profile's store: rewrites the pending-count file atomically after every outbox change,
 * one write at a time, and finishes the last write before closing.
 */
class ProfileStore extends EncryptedStore {
  #writes: Promise<void> = Promise.resolve();

  constructor(db: EncryptedDatabase, options: { now?: () => number }, private readonly dbPath: string) {
    super(db, options);
    this.#recordPendingCount();
    this.subscribe((change) => {
      if (change.outbox) this.#recordPendingCount();
    });
  }

  #recordPendingCount(): void {
    this.#writes = this.#writes
      .then(async () => {
        if (this.closed) return;
        const n = await this.pendingCount();
        const file = pendingCountPath(this.dbPath);
        fs.writeFileSync(`${file}.tmp`, `${n}\n`, { mode: 0o600 });
        fs.renameSync(`${file}.tmp`, file);
      })
      .catch(() => undefined); // a missed count is not worth failing an edit over
  }

  override async close(): Promise<void> {
    await this.#writes;
    return super.close();
  }
}

/** The last recorded count, or null when none was recorded or the file is unreadable. */
export function readRecordedPendingCount(dbPath: string): number | null {
  try {
    const n = Number.parseInt(fs.readFileSync(pendingCountPath(dbPath), 'utf8').trim(), 10);
    return Number.isSafeInteger(n) && n >= 0 ? n : null;
  } catch {
    return null;
  }
}

/**
 * Opens an existing file with the current key, or with the rotation key a crash left behind
 * (then promotes it). A stale rotation key, from a crash before the rekey, is deleted.
 */
async function openWithRecovery(options: ProfileOptions, binding: SqlBinding, current: DatabaseKey | null): Promise<EncryptedDatabase> {
  const { vault, profileId, dbPath } = options;
  const open = (key: DatabaseKey) => openEncryptedDatabase(binding, dbPath, key, { verifyPages: options.verifyPages ?? true });
  const next = await vault.getKey(profileId, 'next');
  if (current) {
    try {
      const db = await open(current);
      if (next) await vault.deleteKey(profileId, 'next');
      return db;
    } catch (err) {
      if (!(err instanceof DatabaseKeyMismatchError) || !next) throw err;
    }
  }
  if (!next) throw new DatabaseKeyMissingError(dbPath);
  const db = await open(next); // a mismatch here propagates: neither key opens the file
  await vault.setKey(profileId, 'current', next);
  await vault.deleteKey(profileId, 'next');
  return db;
}

/**
 * Rotates the database key. The new key is in the keychain (`next`) before the file is
 * re-encrypted, and becomes `current` after, so a crash at any point leaves a key that opens
 * the file (openProfileStore finds it).
 */
export async function rotateProfileKey(store: LocalStore, vault: KeyVault, profileId: string): Promise<void> {
  assertProfileId(profileId);
  const key = DatabaseKey.generate();
  await vault.setKey(profileId, 'next', key);
  await store.rekey(key);
  await vault.setKey(profileId, 'current', key);
  await vault.deleteKey(profileId, 'next');
}

export interface WipeReport {
  /** Files deleted: the database and any -wal, -shm, -journal beside it. */
  deletedFiles: string[];
  keychainEntriesDeleted: number;
  /** Steps that failed; the wipe carries on past each so as much as possible is gone. */
  failures: string[];
}

/**
 * Deletes the profile's database and its keychain entries (session revoked, device wiped). The
 * key goes first: if a file cannot be deleted, what remains is ciphertext nobody can open.
 */
export async function wipeProfile(options: {
  profileId: string;
  dbPath: string;
  vault: KeyVault;
  store?: LocalStore | null;
  /** Also deletes the session's refresh token. */
  sessionSecrets?: SessionSecretVault;
}): Promise<WipeReport> {
  assertProfileId(options.profileId);
  const report: WipeReport = { deletedFiles: [], keychainEntriesDeleted: 0, failures: [] };
  if (options.store && !options.store.closed) {
    await options.store.close().catch((err: unknown) => report.failures.push(`closing the database: ${describe(err)}`));
  }
  for (const slot of ['current', 'next'] as const) {
    try {
      if (await options.vault.deleteKey(options.profileId, slot)) report.keychainEntriesDeleted++;
    } catch (err) {
      report.failures.push(`deleting the ${slot} keychain entry: ${describe(err)}`);
    }
  }
  if (options.sessionSecrets) {
    try {
      if (await options.sessionSecrets.deleteRefreshToken(options.profileId)) report.keychainEntriesDeleted++;
    } catch (err) {
      report.failures.push(`deleting the sign-in token: ${describe(err)}`);
    }
  }
  try {
    report.deletedFiles.push(...removeWithSidecars(options.dbPath), ...removeWithSidecars(`${options.dbPath}.creating`));
    if (fs.existsSync(pendingCountPath(options.dbPath))) {
      fs.rmSync(pendingCountPath(options.dbPath));
      report.deletedFiles.push(pendingCountPath(options.dbPath));
    }
  } catch (err) {
    report.failures.push(`deleting the database files: ${describe(err)}`);
  }
  return report;
}

export interface ReenrollReport {
  /** Unpushed edits lost with the unreadable file, as last recorded beside it; null when never recorded. */
  lostEdits: number | null;
  /** Where the unreadable file was moved; it is never overwritten or deleted silently. */
  setAsidePath: string | null;
  store: LocalStore;
}

/**
 * Starts the profile over after its key is lost or no longer opens the file: the old file is
 * moved aside (kept, in case the old key turns up), a new key and an empty database are
 * created, and the caller runs a full sync. Only call it after openProfileStore failed with
 * DatabaseKeyMissingError, DatabaseKeyMismatchError or DatabaseCorruptError, and after telling
 * the user.
 */
export async function reenrollProfile(options: ProfileOptions): Promise<ReenrollReport> {
  assertProfileId(options.profileId);
  await options.vault.probe();
  let setAsidePath: string | null = null;
  const recorded = readRecordedPendingCount(options.dbPath);
  fs.rmSync(pendingCountPath(options.dbPath), { force: true });
  if (fs.existsSync(options.dbPath)) {
    setAsidePath = uniqueAsidePath(options.dbPath, (options.now ?? Date.now)());
    fs.renameSync(options.dbPath, setAsidePath);
    for (const suffix of sidecarSuffixes) {
      if (fs.existsSync(options.dbPath + suffix)) fs.renameSync(options.dbPath + suffix, setAsidePath + suffix);
    }
  }
  await options.vault.deleteKey(options.profileId, 'current');
  await options.vault.deleteKey(options.profileId, 'next');
  const store = await openProfileStore(options);
  // The unreadable file cannot say how many of its edits were unpushed; the count kept
  // beside it can (null only if it was never recorded).
  return { lostEdits: setAsidePath ? recorded : 0, setAsidePath, store };
}

function uniqueAsidePath(dbPath: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
  const base = path.join(path.dirname(dbPath), `${path.basename(dbPath)}.unreadable-${stamp}`);
  let candidate = base;
  for (let i = 1; fs.existsSync(candidate); i++) candidate = `${base}-${i}`;
  return candidate;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
