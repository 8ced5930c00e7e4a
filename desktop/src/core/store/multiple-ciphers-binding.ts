import type BetterSqlite3 from 'better-sqlite3-multiple-ciphers';
import { lazyDriver, type SqlBinding, type SqlConnection, sqliteErrorKind, type SqlParams, type SqlRow, type SqlValue } from './sql-binding';

type Database = BetterSqlite3.Database;
type DatabaseConstructor = typeof BetterSqlite3;

/**
 * better-sqlite3-multiple-ciphers (SQLite3 Multiple Ciphers), the driver on Windows, where
 * @journeyapps/sqlcipher does not build. It reads and writes the same SQLCipher 4 files: each
 * connection selects the SQLCipher scheme with version 4 defaults (`cipher=sqlcipher`,
 * `legacy=4`: AES-256-CBC, HMAC-SHA512, 4096-byte pages, raw keys as `x'<hex>'`) before
 * encrypted-database.ts sends the key, https://utelle.github.io/SQLite3MultipleCiphers/docs/ciphers/cipher_sqlcipher/.
 * sqlcipher-interop.test.ts proves files move both ways with the same raw key.
 *
 * The library is synchronous: each call runs on the calling thread, so a long statement holds
 * the event loop (the SQLCipher binding runs on libuv's pool instead). The store's queries are
 * indexed and short; the store's own queue keeps the order either way. It is not an N-API
 * module: a packaged app carries a build for Electron's ABI (electron-builder rebuilds it).
 */
export const multipleCiphersBinding: SqlBinding = {
  name: 'better-sqlite3-multiple-ciphers',
  hasCipherIntegrityCheck: false,

  async open(path, { create }) {
    const Database = await loadLibrary();
    const db = new Database(path, { fileMustExist: !create });
    try {
      // Chosen before the key: the key pragma derives keys with the scheme selected now.
      db.exec("PRAGMA cipher = 'sqlcipher'");
      db.exec('PRAGMA legacy = 4');
    } catch (err) {
      db.close();
      throw err;
    }
    return wrap(db);
  },

  // better-sqlite3 reports extended result codes (SQLITE_CONSTRAINT_UNIQUE, SQLITE_BUSY_SNAPSHOT).
  errorKind: sqliteErrorKind,
};

const loadLibrary = lazyDriver<DatabaseConstructor>('better-sqlite3-multiple-ciphers', () => import('better-sqlite3-multiple-ciphers'));

/** better-sqlite3 binds Buffers, not other Uint8Array views. */
function bindable(params: SqlParams): SqlValue[] {
  return params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p));
}

/** Runs a synchronous call as the seam's promise: a throw becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => resolve(fn()));
}

function wrap(db: Database): SqlConnection {
  // Statements that return rows (a pragma that answers, INSERT ... RETURNING) and those that do
  // not are called differently in better-sqlite3; the seam's run/all/get take either, as the
  // SQLCipher binding does.
  const rowsOf = (sql: string, params: SqlParams): SqlRow[] => {
    const stmt = db.prepare(sql);
    if (!stmt.reader) {
      stmt.run(bindable(params));
      return [];
    }
    return stmt.all(bindable(params)) as SqlRow[];
  };
  return {
    exec: (sql) => settle(() => {
      db.exec(sql);
    }),
    run: (sql, params = []) => settle(() => {
      const stmt = db.prepare(sql);
      if (!stmt.reader) return { changes: stmt.run(bindable(params)).changes };
      stmt.all(bindable(params));
      const row = db.prepare('SELECT changes() AS n').get() as { n: number };
      return { changes: row.n };
    }),
    all: (sql, params = []) => settle(() => rowsOf(sql, params)),
    get: (sql, params = []) => settle(() => {
      const stmt = db.prepare(sql);
      if (!stmt.reader) {
        stmt.run(bindable(params));
        return undefined;
      }
      return stmt.get(bindable(params)) as SqlRow | undefined;
    }),
    close: () => settle(() => {
      db.close();
    }),
  };
}
