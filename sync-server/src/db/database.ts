import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresAdapter, type PostgresCursor, PostgresDialect, type PostgresPool, type PostgresPoolClient, SqliteDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from './schema';

export type Db = Kysely<Database>;
export type DbKind = 'sqlite' | 'postgres';

export interface OpenDatabase {
  db: Db;
  kind: DbKind;
  close(): Promise<void>;
}

// int8 columns (our millisecond timestamps and versions) come back from pg as strings by
// default; every value we store is far below 2^53, so numbers are exact.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type DatabaseTarget = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; poolSize?: number };

/**
 * PostgreSQL connections per server process when DATABASE_POOL_SIZE is unset. A push holds one
 * connection for its whole transaction, and pushes at one location queue on that location's row
 * anyway, so more connections than concurrent pushes at different locations buy nothing; pg's own
 * default of 10 left pushes waiting for a connection with 50 consoles pushing over 20 locations
 * (docs/performance.md, "PostgreSQL throughput").
 */
export const defaultPoolSize = 20;

/**
 * The driver handle behind a `Db` from `openDatabase`, for the few bulk reads where Kysely's
 * per-row objects dominate (audit verification reads millions of rows as arrays) and for
 * worker threads that open their own connection to the same database.
 */
export type RawDatabase =
  | { kind: 'sqlite'; sqlite: SqliteDatabase.Database; file: string }
  | { kind: 'postgres'; pool: pg.Pool; url: string };

/** The engine behind a handle or one of its transactions, for the few statements written per engine. */
export function dbKindOf(db: Db | Transaction<Database>): DbKind {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

const rawHandles = new WeakMap<Db, RawDatabase>();

/** `undefined` for a `Db` not made by `openDatabase` (or derived from one, e.g. a transaction). */
export function rawDatabaseOf(db: Db): RawDatabase | undefined {
  return rawHandles.get(db);
}

/**
 * @param onIdleClientError an idle pooled connection failed (PostgreSQL restarted, or an
 *   admin terminated it). pg's Pool emits this as an 'error' event, which would crash the
 *   process unhandled; the pool replaces the connection on the next query.
 */
export function openDatabase(target: DatabaseTarget, onIdleClientError: (err: Error) => void = () => {}): OpenDatabase {
  if (target.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: target.url, max: target.poolSize ?? defaultPoolSize });
    pool.on('error', onIdleClientError);
    const statements = new NamedStatements();
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: statements.over(pool) }) });
    namedStatementSwitches.set(db, statements);
    rawHandles.set(db, { kind: 'postgres', pool, url: target.url });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  if (target.file !== ':memory:') fs.mkdirSync(path.dirname(target.file), { recursive: true, mode: 0o700 });
  const created = target.file !== ':memory:' && !fs.existsSync(target.file);
  const sqlite = new SqliteDatabase(target.file);
  // Owner-only, like the key files: SQLite gives its -wal and -shm files the same mode.
  if (created) fs.chmodSync(target.file, 0o600);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Freed pages are zeroed, so erased data does not linger in the file.
  sqlite.pragma('secure_delete = ON');
  // A 64 MiB page cache (SQLite's default is 2 MiB): a depot's database of a million stops is
  // about a gigabyte, and batch work over it (the retention purge, catch-up pulls) otherwise
  // re-reads the same index pages from the operating system's cache all the time.
  sqlite.pragma('cache_size = -65536');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  rawHandles.set(db, { kind: 'sqlite', sqlite, file: target.file });
  return { db, kind: 'sqlite', close: () => db.destroy() };
}

/**
 * Has a PostgreSQL `Db` send its statements as named prepared statements from now on (a no-op on
 * SQLite). Call it once the schema is migrated, never before: a prepared statement that selects
 * `*` fails ("cached plan must not change result type") once a migration adds a column to its table.
 */
export function useNamedStatements(db: Db): void {
  const statements = namedStatementSwitches.get(db);
  if (statements) statements.enabled = true;
}

const namedStatementSwitches = new WeakMap<Db, NamedStatements>();

/**
 * PostgreSQL parses and plans every unnamed statement anew; the server sends a few fixed shapes
 * thousands of times a second, and on a 2-core machine that planning was half of PostgreSQL's CPU
 * per pushed mutation (docs/performance.md, "PostgreSQL throughput"). A named statement is parsed
 * once per connection and then only bound and executed (node-postgres `name`; PostgreSQL keeps
 * it for the connection's life). Names go to the first `maxNames` SQL texts with few parameters,
 * which are the hot ones; the rest (long `in` lists, large multi-row inserts) stay unnamed, so the
 * backends' memory stays bounded.
 *
 * A schema change under a running process (a rolling upgrade migrating before every process
 * restarted) can make a named `select *` fail once: then every name gets a new generation, so
 * the next use prepares the statement afresh; the failed transaction is retried by its client.
 */
class NamedStatements {
  enabled = false;
  private readonly names = new Map<string, number>();
  private generation = 0;

  constructor(private readonly maxNames = 300, private readonly maxParameters = 100) {}

  over(pool: pg.Pool): PostgresPool {
    return {
      connect: async () => {
        const client = await pool.connect();
        return {
          query: ((query: string | PostgresCursor<unknown>, parameters?: readonly unknown[]) => {
            if (typeof query !== 'string') return client.query(query as never);
            const name = this.nameOf(query, parameters?.length ?? 0);
            if (name === null) return client.query(query, parameters as unknown[]);
            return client.query({ name, text: query, values: parameters as unknown[] }).catch((err: unknown) => {
              if (err instanceof Error && (err as { code?: string }).code === '0A000' && err.message.includes('cached plan must not change result type')) {
                this.generation++;
              }
              throw err;
            });
          }) as unknown as PostgresPoolClient['query'],
          release: () => client.release(),
        };
      },
      end: () => pool.end(),
    };
  }

  private nameOf(text: string, parameters: number): string | null {
    if (!this.enabled || parameters > this.maxParameters) return null;
    let n = this.names.get(text);
    if (n === undefined) {
      if (this.names.size >= this.maxNames) return null;
      n = this.names.size;
      this.names.set(text, n);
    }
    return `depotline_${this.generation}_${n}`;
  }
}

/**
 * Kysely's SQLite driver prepares every statement anew on each run, about a fifth of the
 * server's CPU per mutation. The queries are built from a fixed set of shapes, so a small LRU
 * cache of prepared statements by SQL text removes that cost. Kysely runs one query at a time
 * on the connection, so a cached statement is never in use twice at once.
 */
function withStatementCache(sqlite: SqliteDatabase.Database, max = 512): { close(): void; prepare(sql: string): SqliteDatabase.Statement } {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => {
      cache.clear();
      sqlite.close();
    },
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) {
        cache.delete(sql); // re-insert: most recently used last
      } else {
        statement = sqlite.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}

