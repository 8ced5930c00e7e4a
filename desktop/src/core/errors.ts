import type { ErrorCode } from '@depotline/shared';

/**
 * Typed errors of the desktop core. Callers (the main process, the UI) branch on `name` or
 * `instanceof`, never on message text; each `name` is a literal so it survives bundling and
 * crosses IPC as a stable string. No message or property ever carries key material.
 */

export type KeychainFailure =
  | 'no_secret_service' // nothing answers on D-Bus for org.freedesktop.secrets (or no D-Bus at all)
  | 'no_keyring'        // a Secret Service runs but has no default (login) keyring to store into
  | 'locked'            // the keyring is locked, or a prompt to unlock it was dismissed
  | 'access_denied'     // the OS refused this app access to the item
  | 'timeout'           // the keychain did not answer; usually an unlock prompt nobody sees
  | 'native_module'     // the keytar binding could not be loaded
  | 'unknown';

export class KeychainUnavailableError extends Error {
  override readonly name = 'KeychainUnavailableError' as const;
  constructor(
    readonly failure: KeychainFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The keychain holds an entry for the profile that is not a Depotline database key. */
export class KeychainEntryInvalidError extends Error {
  override readonly name = 'KeychainEntryInvalidError' as const;
  constructor(readonly profileId: string) {
    super(`The keychain entry for profile "${profileId}" is not a valid Depotline database key. ` +
      'It was probably changed by another program; sign in again to re-enroll this device.');
  }
}

/** The database file exists but the keychain has no key for it (keychain reset, new OS). */
export class DatabaseKeyMissingError extends Error {
  override readonly name = 'DatabaseKeyMissingError' as const;
  constructor(readonly dbPath: string) {
    super('The keychain has no key for this profile\'s local database, so the database cannot be opened. ' +
      'Sign in again to re-enroll this device: data is downloaded again from the server, and edits that ' +
      'were not yet sent are lost.');
  }
}

export class DatabaseKeyMismatchError extends Error {
  override readonly name = 'DatabaseKeyMismatchError' as const;
  constructor(readonly dbPath: string) {
    super('The key in the keychain does not open this database. The file was left untouched. ' +
      'Sign in again to re-enroll this device (the unreadable file is kept aside, not overwritten).');
  }
}

export type CorruptionKind = 'empty' | 'truncated' | 'plaintext' | 'malformed' | 'page_check_failed';

export class DatabaseCorruptError extends Error {
  override readonly name = 'DatabaseCorruptError' as const;
  constructor(
    readonly dbPath: string,
    readonly kind: CorruptionKind,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`The local database is damaged (${detail}). It was left untouched and will not be overwritten; ` +
      'sign in again to re-enroll this device, or restore the file from a backup.', options);
  }
}

/** The file was written by a newer Depotline whose schema this build does not know. */
export class DatabaseTooNewError extends Error {
  override readonly name = 'DatabaseTooNewError' as const;
  constructor(readonly fileVersion: number, readonly knownVersion: number) {
    super(`The local database has schema version ${fileVersion}, newer than this app knows (${knownVersion}). ` +
      'Update Depotline; the file was not changed.');
  }
}

export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError' as const;
  constructor() {
    super('The local store is closed.');
  }
}

/**
 * Data from the server that the store refuses to write: wrong location, unknown location,
 * or contradictory ids. Nothing of the batch is written.
 */
export class ServerDataRejectedError extends Error {
  override readonly name = 'ServerDataRejectedError' as const;
  constructor(readonly reason: string) {
    super(`Refused data from the server: ${reason}`);
  }
}

export type LocalEditRefusal = 'bad_request' | 'unknown_location' | 'not_found' | 'already_exists' | 'invalid_transition';

/** A local edit that cannot be right given what this device knows; it is not queued. */
export class LocalEditRefusedError extends Error {
  override readonly name = 'LocalEditRefusedError' as const;
  constructor(readonly refusal: LocalEditRefusal, message: string) {
    super(message);
  }
}

/** Plain HTTP only on loopback, for development (docs/security-model.md, "Transit"). */
export class InsecureServerUrlError extends Error {
  override readonly name = 'InsecureServerUrlError' as const;
  constructor(readonly url: string) {
    super(`Refusing to talk to ${url}: use https:// (plain http:// is allowed only for a server on this machine).`);
  }
}

/** The server could not be reached (network down, DNS, refused, timed out). Retry later. */
export class ServerUnreachableError extends Error {
  override readonly name = 'ServerUnreachableError' as const;
  constructor(what: string, options?: { cause?: unknown }) {
    super(`The server could not be reached (${what}). Changes are kept on this device and sent when it is back.`, options);
  }
}

/** The server answered with one of its stable error codes. */
export class ServerRequestError extends Error {
  override readonly name = 'ServerRequestError' as const;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
  }
}

/** The profile's database belongs to another user or another server; it is never mixed. */
export class ProfileMismatchError extends Error {
  override readonly name = 'ProfileMismatchError' as const;
  constructor(readonly field: 'user' | 'server') {
    super(field === 'user'
      ? 'This profile holds another user\'s data. Sign in with a profile of your own.'
      : 'This profile belongs to another server. Use a profile made for this server.');
  }
}

export class NotSignedInError extends Error {
  override readonly name = 'NotSignedInError' as const;
  constructor() {
    super('Not signed in on this device: sign in to sync.');
  }
}

/**
 * The managed policy's `offlineDays` passed without the device reaching the server: the
 * profile's data stays locked until an online sign-in (profile/offline-lock.ts).
 */
export class ProfileOfflineLockedError extends Error {
  override readonly name = 'ProfileOfflineLockedError' as const;
  constructor(readonly lastOnlineAt: number, readonly offlineDays: number) {
    super(`This computer has not reached the Depotline server for more than ${formatDays(offlineDays)} (last on ${new Date(lastOnlineAt).toISOString().slice(0, 10)}), ` +
      'so the data kept on it is locked, as your IT department set. Connect to the network and sign in: the data unlocks when the server accepts the sign-in.');
  }
}

const formatDays = (days: number) => (days === 1 ? '1 day' : `${Number(days.toFixed(2))} days`);

export type CoreError =
  | KeychainUnavailableError | KeychainEntryInvalidError | DatabaseKeyMissingError | DatabaseKeyMismatchError
  | DatabaseCorruptError | DatabaseTooNewError | StoreClosedError | ServerDataRejectedError | LocalEditRefusedError
  | InsecureServerUrlError | ServerUnreachableError | ServerRequestError | ProfileMismatchError | NotSignedInError
  | ProfileOfflineLockedError;

/**
 * Each core error's class under its name: the one runtime list of them, for `isCoreError`.
 * `satisfies` holds it to `CoreError` both ways, so a name missing here, one that is not a
 * core error, or a class under another's name fails the build.
 */
const coreErrorClasses = {
  KeychainUnavailableError, KeychainEntryInvalidError, DatabaseKeyMissingError, DatabaseKeyMismatchError,
  DatabaseCorruptError, DatabaseTooNewError, StoreClosedError, ServerDataRejectedError, LocalEditRefusedError,
  InsecureServerUrlError, ServerUnreachableError, ServerRequestError, ProfileMismatchError, NotSignedInError,
  ProfileOfflineLockedError,
} satisfies { [N in CoreError['name']]: abstract new (...args: never) => Extract<CoreError, { name: N }> };

/** Tells a core error by its `name`, which survives bundling where a class identity may not. */
export function isCoreError(err: unknown): err is CoreError {
  return err instanceof Error && Object.hasOwn(coreErrorClasses, err.name);
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
