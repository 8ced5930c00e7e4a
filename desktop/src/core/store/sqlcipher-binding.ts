import type sqlite3 from '@journeyapps/sqlcipher';
import { lazyDriver, type SqlBinding, type SqlConnection, sqliteErrorKind, type SqlParams, type SqlRow } from './sql-binding';

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

  errorKind: sqliteErrorKind,
};

/** Not at import: this native module does not build on Windows (an optional dependency there). */
const loadLibrary = lazyDriver<Sqlite3>('@journeyapps/sqlcipher', () => import('@journeyapps/sqlcipher'));

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
