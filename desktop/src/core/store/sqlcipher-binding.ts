import type sqlite3 from '@journeyapps/sqlcipher';
import type { SqlBinding, SqlConnection, SqlErrorKind, SqlParams, SqlRow } from './sql-binding';

type Sqlite3 = typeof sqlite3;

/**
 * @journeyapps/sqlcipher 6 (SQLCipher 4, N-API: one build for Node and Electron), the driver on
 * Linux and macOS. Every statement of one connection runs in order on one SQLite handle; the
 * store adds its own queue on top so that multi-statement transactions never interleave.
 */
export const sqlcipherBinding: SqlBinding = {
  name: '@journeyapps/sqlcipher',
  hasCipherIntegrityCheck: true,

  async open(path, { create }) {
    const lib = await loadLibrary();
    const mode = lib.OPEN_READWRITE | (create ? lib.OPEN_CREATE : 0);
    return new Promise<SqlConnection>((resolve, reject) => {
      const db = new lib.Database(path, mode, (err) => (err ? reject(err) : resolve(wrap(db))));
    });
  },

  errorKind(err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    return kindOfCode[code] ?? 'other';
  },
};

const kindOfCode: Readonly<Record<string, SqlErrorKind>> = {
  SQLITE_NOTADB: 'not_a_database',
  SQLITE_CORRUPT: 'corrupt',
  SQLITE_CANTOPEN: 'cannot_open',
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'busy',
  SQLITE_CONSTRAINT: 'constraint',
};

let library: Promise<Sqlite3> | null = null;

/**
 * Loaded on first open, not at import: the core imports both bindings, and this native module
 * does not build on Windows (an optional dependency there).
 */
function loadLibrary(): Promise<Sqlite3> {
  library ??= import('@journeyapps/sqlcipher').then(
    (mod) => mod.default,
    (err: unknown) => {
      library = null;
      throw new Error('The database driver (@journeyapps/sqlcipher) could not be loaded; reinstall Depotline.', { cause: err });
    },
  );
  return library;
}

function wrap(db: sqlite3.Database): SqlConnection {
  return {
    exec: (sql) => new Promise((resolve, reject) => {
      db.exec(sql, (err) => (err ? reject(err) : resolve()));
    }),
    run: (sql, params: SqlParams = []) => new Promise((resolve, reject) => {
      db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes });
      });
    }),
    all: (sql, params: SqlParams = []) => new Promise((resolve, reject) => {
      db.all(sql, params, (err: Error | null, rows: SqlRow[]) => (err ? reject(err) : resolve(rows)));
    }),
    get: (sql, params: SqlParams = []) => new Promise((resolve, reject) => {
      db.get(sql, params, (err: Error | null, row: SqlRow | undefined) => (err ? reject(err) : resolve(row)));
    }),
    close: () => new Promise((resolve, reject) => {
      db.close((err) => (err ? reject(err) : resolve()));
    }),
  };
}
