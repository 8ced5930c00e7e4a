/**
 * The fast path of audit verification, shared by the verifying thread and its worker threads
 * (verify-worker.ts): one range of seqs ("chunk") is read as arrays whose second column is the
 * entry's hash input, built by the database itself, and each entry is hashed and linked to
 * the one before it. Kept free of Kysely and of the rest of the server so a worker loads fast.
 *
 * The database builds `JSON.stringify([seq, at, ..., prev_hash])`, the encoding `hashEntry`
 * (audit-log.ts) hashes, in SQL: SQLite's `json_array` and PostgreSQL's `to_json(text)` escape
 * exactly the characters `JSON.stringify` escapes, in the same way. That is an accelerator,
 * never an authority: a chunk where any entry fails to reproduce its stored hash this way is
 * handed back for the exact check (`hashEntry` over the columns as the driver returns them),
 * which alone decides what is broken. A match is sound: the encoding is a JSON text of the
 * row's values, so equal to the one that was hashed only if the values are.
 */
import crypto from 'node:crypto';
import type SqliteDatabase from 'better-sqlite3';

/** The first thing wrong inside one chunk, checking entries in seq order. */
export type ChunkProblem =
  /** No entry at `seq`; `found` is the next seq present in the chunk, null if none. */
  | { kind: 'missing'; seq: number; found: number | null }
  /** The entry at `seq` does not hash to its stored hash; `prevHash` is the stored hash of entry seq - 1, null when seq is the chunk's first. */
  | { kind: 'altered'; seq: number; prevHash: string | null }
  /** The entry at `seq` (not the chunk's first) is intact but its prev_hash is not entry seq - 1's hash. */
  | { kind: 'link'; seq: number };

export interface ChunkResult {
  /** prev_hash of the chunk's first entry (null when it is absent): linked by the caller. */
  firstPrevHash: string | null;
  /** Hash of the chunk's last entry (valid when there is no problem). */
  lastHash: string | null;
  problem: ChunkProblem | null;
  /** The fast path could not decide (an entry's database-built encoding did not reproduce its hash, or a value is a blob): check this chunk exactly. */
  recheck: boolean;
}

/** Where a worker opens its own connection to the same database. */
export type ChunkSource = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/** [seq, hash input (the NUL and the encoded fields), stored hash, (SQLite) 1 when any value is a blob]. */
type FastRow = unknown[];

export interface FastChunkReader {
  read: (from: number, to: number) => FastRow[] | Promise<FastRow[]>;
  close: () => void | Promise<void>;
}

const encodedColumns = ['seq', 'at', 'actor_user_id', 'actor', 'action', 'outcome', 'target_type', 'target_id', 'location_id', 'details', 'device_id', 'ip', 'prev_hash'] as const;
const integerColumns = new Set<string>(['seq', 'at']);

/*
 * SQLite: `json_array` reads a BLOB argument that is valid JSONB as the JSON it encodes, so a
 * value rewritten as such a blob would encode like the original while the driver returns a
 * Buffer for it (which `hashEntry` would not accept). The last column flags any blob in the
 * row: blobs sort after every other value, so the greatest of the row's values (`max` of
 * several arguments; none is NULL after `coalesce`) is at least the empty blob only if one
 * is a blob. The row then goes to the exact check. Any other blob makes `json_array` fail,
 * which also sends the chunk to the exact check.
 */
const sqliteChunkSql = `select seq, char(0) || json_array(${encodedColumns.join(', ')}), hash,
    max(${[...encodedColumns, 'hash'].map((c) => `coalesce(${c}, 0)`).join(', ')}) >= x''
  from audit_log where seq >= ? and seq <= ? order by seq`;

/*
 * PostgreSQL: columns are typed (bigint, text), so no blobs; `to_json(text)` is JSON string
 * escaping. Text cannot hold the NUL, which is prepended here.
 */
const pgChunkSql = `select seq, '[' || ${encodedColumns
  .map((c) => (integerColumns.has(c) ? `coalesce(${c}::text, 'null')` : `coalesce(to_json(${c})::text, 'null')`))
  .join(` || ',' || `)} || ']', hash
  from audit_log where seq >= $1 and seq <= $2 order by seq`;

/** Reads chunks through an open better-sqlite3 connection (the caller's, or a worker's own). */
export function sqliteChunkReader(sqlite: SqliteDatabase.Database): FastChunkReader {
  const statement = sqlite.prepare(sqliteChunkSql).raw(true);
  return { read: (from, to) => statement.all(from, to) as FastRow[], close: () => {} };
}

type PgQuery = (config: { name?: string; text: string; values: unknown[]; rowMode: 'array' }) => Promise<{ rows: unknown[] }>;

/**
 * Reads chunks through `query` of a pg Pool (`client: false`: reads may overlap, each on a
 * pooled connection) or of one Client (one read at a time: pg no longer queues queries on a
 * busy client; its statement is then prepared once), rows as arrays.
 */
export function pgChunkReader(query: PgQuery, client: boolean): FastChunkReader {
  let previous: Promise<unknown> = Promise.resolve();
  const run = async (from: number, to: number): Promise<FastRow[]> => {
    const config = { text: pgChunkSql, values: [from, to], rowMode: 'array' as const };
    const result = await query(client ? { ...config, name: 'depotline_audit_verify_chunk' } : config);
    const rows = result.rows as FastRow[];
    for (const row of rows) row[1] = `\u0000${row[1] as string}`;
    return rows;
  };
  return {
    read: (from, to) => {
      if (!client) return run(from, to);
      const read = previous.then(() => run(from, to));
      previous = read.catch(() => {});
      return read;
    },
    close: () => {},
  };
}

/** A worker's own connection, read-only where the database allows it. */
export async function openChunkReader(source: ChunkSource): Promise<FastChunkReader> {
  if (source.kind === 'sqlite') {
    const { default: Sqlite } = await import('better-sqlite3');
    const sqlite = new Sqlite(source.file, { readonly: true, fileMustExist: true });
    sqlite.pragma('busy_timeout = 5000');
    const reader = sqliteChunkReader(sqlite);
    return { read: reader.read, close: () => { sqlite.close(); } };
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: source.url, connectionTimeoutMillis: 10_000 });
  // A connection dropped while idle would otherwise be an unhandled 'error' event.
  client.on('error', () => {});
  await client.connect();
  await client.query('set default_transaction_read_only = on');
  const reader = pgChunkReader((config) => client.query(config), true);
  return { read: reader.read, close: () => client.end() };
}

/**
 * Checks the entries with seqs `from`..`to`, in order: each present, hashing to its stored
 * hash, linked to the one before (the first one's link is the caller's, across chunks).
 */
export async function checkChunk(reader: FastChunkReader, from: number, to: number): Promise<ChunkResult> {
  let rows: FastRow[];
  try {
    rows = await reader.read(from, to);
  } catch {
    // A value the database cannot encode (a non-JSONB blob in SQLite): the exact check decides.
    // A real read failure happens again there and is reported from there.
    return { firstPrevHash: null, lastHash: null, problem: null, recheck: true };
  }
  return checkRows(rows, from, to);
}

function checkRows(rows: readonly FastRow[], from: number, to: number): ChunkResult {
  let expected = from;
  let firstPrevHash: string | null = null;
  let prev: string | null = null;
  const undecided = (): ChunkResult => ({ firstPrevHash, lastHash: prev, problem: null, recheck: true });
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const seq = Number(row[0]);
    if (seq !== expected) return { firstPrevHash, lastHash: prev, problem: { kind: 'missing', seq: expected, found: seq }, recheck: false };
    const input = row[1];
    const hash = row[2];
    if (row[3] === 1 || typeof input !== 'string' || typeof hash !== 'string' || crypto.hash('sha256', input, 'hex') !== hash) return undecided();
    // From here the input is the entry as written, so its last element is its prev_hash.
    if (prev === null) {
      const prevHash = (JSON.parse(input.slice(1)) as unknown[])[12];
      if (typeof prevHash !== 'string') return undecided();
      firstPrevHash = prevHash;
    } else if (!endsWithLinkTo(input, prev)) {
      return { firstPrevHash, lastHash: prev, problem: { kind: 'link', seq }, recheck: false };
    }
    prev = hash;
    expected++;
  }
  if (expected <= to) return { firstPrevHash, lastHash: prev, problem: { kind: 'missing', seq: expected, found: null }, recheck: false };
  return { firstPrevHash, lastHash: prev, problem: null, recheck: false };
}

/**
 * Whether an entry's hash input ends with `,"<prevHash>"]`, i.e. its last element, prev_hash,
 * is exactly `prevHash`: a stored hash that matched a computed one, so hex, with no character
 * JSON escapes. The quote before it follows a comma, so it opens the last string, and a string
 * cannot hold an unescaped quote: no other reading of that tail exists. Without allocating.
 */
function endsWithLinkTo(input: string, prevHash: string): boolean {
  const end = input.length - 2;
  const start = end - prevHash.length;
  return input.charCodeAt(end) === 34 && input.charCodeAt(end + 1) === 93 && input.charCodeAt(start - 1) === 34
    && input.charCodeAt(start - 2) === 44 && input.endsWith(prevHash, end);
}
