/**
 * The seam between the store and a SQLite/SQLCipher library. @journeyapps/sqlcipher builds
 * only on Linux and macOS; on Windows better-sqlite3-multiple-ciphers opens the same SQLCipher 4
 * files (store-driver.ts picks one per platform). Everything about the file format (key pragma,
 * verification, settings) lives above this seam in encrypted-database.ts; each binding only
 * selects its cipher scheme on open, runs SQL and classifies its errors.
 */

export type SqlValue = string | number | null | Uint8Array;
export type SqlParams = readonly SqlValue[];
export type SqlRow = Readonly<Record<string, SqlValue>>;

/** What the store needs to know about a failed statement, independent of the library. */
export type SqlErrorKind =
  | 'not_a_database' // SQLITE_NOTADB: wrong key, or not an SQLCipher file
  | 'corrupt'        // SQLITE_CORRUPT: structure damaged
  | 'cannot_open'    // SQLITE_CANTOPEN: missing file, no permission
  | 'busy'           // SQLITE_BUSY / SQLITE_LOCKED: another process holds the file
  | 'constraint'
  | 'other';

export interface SqlConnection {
  /** Runs one or more statements without parameters. */
  exec(sql: string): Promise<void>;
  run(sql: string, params?: SqlParams): Promise<{ changes: number }>;
  all(sql: string, params?: SqlParams): Promise<SqlRow[]>;
  get(sql: string, params?: SqlParams): Promise<SqlRow | undefined>;
  close(): Promise<void>;
}

export interface SqlBinding {
  readonly name: string;
  /**
   * Whether the library answers `PRAGMA cipher_integrity_check` (SQLCipher). Without it the
   * pages' HMACs are checked by reading the file (sqlcipher-page-check.ts).
   */
  readonly hasCipherIntegrityCheck: boolean;
  /**
   * Opens the file without reading it. `create` allows the file not to exist yet; without it a
   * missing file is an error, so a database can never be created by accident.
   */
  open(path: string, options: { create: boolean }): Promise<SqlConnection>;
  errorKind(err: unknown): SqlErrorKind;
}

const kindOfCode: Readonly<Record<string, SqlErrorKind>> = {
  SQLITE_NOTADB: 'not_a_database',
  SQLITE_CORRUPT: 'corrupt',
  SQLITE_CANTOPEN: 'cannot_open',
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'busy',
  SQLITE_CONSTRAINT: 'constraint',
};

/**
 * What a driver's error means for the store, from SQLite's result code on `err.code`. Extended
 * codes (SQLITE_CONSTRAINT_UNIQUE, SQLITE_BUSY_SNAPSHOT) count as their primary code.
 */
export function sqliteErrorKind(err: unknown): SqlErrorKind {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  const primary = /^SQLITE_[A-Z]+/.exec(code)?.[0] ?? '';
  return kindOfCode[primary] ?? 'other';
}

/**
 * A driver's native module, loaded on first use rather than at import (the core imports every
 * binding, and each native module exists only where it builds); a failed load is tried again
 * next time and says which driver is missing.
 */
export function lazyDriver<T>(name: string, load: () => Promise<{ default: T }>): () => Promise<T> {
  let loading: Promise<T> | null = null;
  return () => {
    loading ??= load().then(
      (mod) => mod.default,
      (err: unknown) => {
        loading = null;
        throw new Error(`The database driver (${name}) could not be loaded; reinstall Depotline.`, { cause: err });
      },
    );
    return loading;
  };
}
