import type { DatabaseKey } from './database-key';

/**
 * Where a profile's database key lives. Two slots per profile: `current` opens the database;
 * `next` holds a key during rotation, so a crash between `PRAGMA rekey` and the keychain
 * update never strands the database (see profile/key-rotation.ts).
 *
 * Implementations: SafeStorageVault (Electron's safeStorage; refuses Linux's `basic_text`
 * backend, a hard-coded password, i.e. plaintext, as Signal Desktop does) and KeytarVault, the
 * fallback; selectKeyVault (vault-selection.ts) picks one and MovingVault carries a profile's
 * secrets across without ever deleting the only readable copy.
 */
export type KeySlot = 'current' | 'next';

export interface KeyVault {
  /** A human-readable backend name for diagnostics ("keytar (Secret Service)"). */
  readonly backend: string;

  /**
   * Proves the keychain can store, return and delete a secret right now. Throws
   * KeychainUnavailableError otherwise; call it before creating any database file.
   */
  probe(): Promise<void>;

  /** The key in the slot, or null when there is none. Throws KeychainEntryInvalidError for junk. */
  getKey(profileId: string, slot: KeySlot): Promise<DatabaseKey | null>;

  /** Stores the key and reads it back; throws if the keychain did not keep it. */
  setKey(profileId: string, slot: KeySlot, key: DatabaseKey): Promise<void>;

  /** True when an entry was deleted. */
  deleteKey(profileId: string, slot: KeySlot): Promise<boolean>;
}

/**
 * The session's refresh token, kept in the keychain beside the database key (docs/sync-protocol.md:
 * "keep the refresh token in the OS keychain"), so a restart resumes without a password and a
 * wipe removes both.
 */
export interface SessionSecretVault {
  getRefreshToken(profileId: string): Promise<string | null>;
  setRefreshToken(profileId: string, token: string): Promise<void>;
  deleteRefreshToken(profileId: string): Promise<boolean>;
}

const profileIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** Profile ids become keychain account names and file names, so they are kept plain. */
export function assertProfileId(profileId: string): void {
  if (!profileIdPattern.test(profileId)) {
    throw new TypeError('a profile id is 1-64 letters, digits, _ or -');
  }
}
