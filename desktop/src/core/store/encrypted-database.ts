import fs from 'node:fs';
import path from 'node:path';
import { DatabaseCorruptError, DatabaseKeyMismatchError } from '../errors';
import type { DatabaseKey } from '../vault/database-key';
import type { SqlBinding, SqlConnection } from './sql-binding';
import { pagesFailingHmac } from './sqlcipher-page-check';

/** SQLCipher 4 pages are 4096 bytes; every intact database file is a whole number of them. */
const pageSize = 4096;
const plaintextHeader = Buffer.from('SQLite format 3\0', 'latin1');

/** Files SQLite may keep beside the database; a wipe or a set-aside moves them too. */
export const sidecarSuffixes = ['-wal', '-shm', '-journal'] as const;

export interface EncryptedDatabase {
  readonly path: string;
  readonly conn: SqlConnection;
  /** `PRAGMA rekey`, then proves the new key reads the file. */
  rekey(key: DatabaseKey): Promise<void>;
  /** Folds the WAL into the file and truncates it, so no old page versions linger beside it. */
  checkpoint(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /**
   * Check every page's HMAC (`PRAGMA cipher_integrity_check`) and the b-tree structure
   * (`PRAGMA quick_check`) on open. Costs one read of the file; catches damage at open instead
   * of in the middle of a sync. On by default.
   */
  verifyPages?: boolean;
}

/**
 * Opens an existing SQLCipher 4 database with a raw key. Nothing is written until the key has
 * been proven to decrypt the file, so a wrong key or a damaged file leaves it byte-for-byte
 * unchanged.
 */
export async function openEncryptedDatabase(
  binding: SqlBinding,
  file: string,
  key: DatabaseKey,
  options: OpenOptions = {},
): Promise<EncryptedDatabase> {
  inspectFileShape(file);
  const conn = await binding.open(file, { create: false });
  try {
    await applyKey(conn, key);
    try {
      // A wrong key shows only on the first read of page 1 (SQLCipher decrypts lazily).
      await conn.get('SELECT count(*) AS n FROM sqlite_master');
    } catch (err) {
      const kind = binding.errorKind(err);
      // With a structurally plausible file (checked above), SQLITE_NOTADB on page 1 means its
      // HMAC did not verify: the key is not this file's key. A damaged page 1 looks the same
      // to SQLCipher; the key is by far the likelier cause, and both leave the file untouched.
      if (kind === 'not_a_database') throw new DatabaseKeyMismatchError(file);
      if (kind === 'corrupt') throw new DatabaseCorruptError(file, 'malformed', 'its first page is malformed', { cause: err });
      throw err;
    }
    if (options.verifyPages ?? true) await verifyPages(binding, conn, file, key);
    await applySettings(conn);
    return handle(file, conn);
  } catch (err) {
    await conn.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Creates a new database atomically: it is built under a temporary name, initialized with
 * `init` (migrations), closed, and only then renamed into place. So a file at `file` is always
 * a complete database, and an empty or short file there can safely be called damaged.
 */
export async function createEncryptedDatabase(
  binding: SqlBinding,
  file: string,
  key: DatabaseKey,
  init: (conn: SqlConnection) => Promise<void>,
): Promise<EncryptedDatabase> {
  if (fs.existsSync(file)) throw new Error(`refusing to create a database over an existing file: ${path.basename(file)}`);
  const building = `${file}.creating`;
  removeWithSidecars(building); // a crash during an earlier creation left nothing worth keeping
  const conn = await binding.open(building, { create: true });
  try {
    await applyKey(conn, key);
    await applySettings(conn);
    await init(conn);
    await conn.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  } catch (err) {
    await conn.close().catch(() => undefined);
    removeWithSidecars(building);
    throw err;
  }
  await conn.close();
  fs.renameSync(building, file);
  return openEncryptedDatabase(binding, file, key, { verifyPages: false });
}

export function removeWithSidecars(file: string): string[] {
  const removed: string[] = [];
  for (const f of [file, ...sidecarSuffixes.map((s) => file + s)]) {
    if (fs.existsSync(f)) {
      fs.rmSync(f, { force: true });
      removed.push(f);
    }
  }
  return removed;
}

function inspectFileShape(file: string): void {
  const size = fs.statSync(file).size; // throws ENOENT: opening never creates a file
  if (size === 0) throw new DatabaseCorruptError(file, 'empty', 'the file is empty');
  const head = Buffer.alloc(plaintextHeader.length);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  // An SQLCipher file starts with its random salt; a plain SQLite header means someone put an
  // unencrypted database here. Never read it as ours and never "upgrade" it in place.
  if (head.equals(plaintextHeader)) throw new DatabaseCorruptError(file, 'plaintext', 'the file is an unencrypted SQLite database');
  if (size < pageSize || size % pageSize !== 0) {
    throw new DatabaseCorruptError(file, 'truncated', `the file is ${size} bytes, not a whole number of ${pageSize}-byte pages`);
  }
}

async function applyKey(conn: SqlConnection, key: DatabaseKey): Promise<void> {
  try {
    // Must be the first statement on the handle: SQLCipher reads the key before any page.
    await conn.exec(`PRAGMA key = ${key.toSqlLiteral()}`);
  } catch {
    // Drop the driver's error: it is never worth the risk of echoing the statement text.
    throw new Error('SQLCipher refused the key pragma');
  }
  // Pin SQLCipher 4 settings (AES-256-CBC, HMAC-SHA512, 4096-byte pages) so that a later
  // SQLCipher major with new defaults, or the Windows binding, reads the same files.
  await conn.exec('PRAGMA cipher_compatibility = 4');
  // SQLCipher logs HMAC failures to stderr; we report them as typed errors instead.
  await conn.exec('PRAGMA cipher_log_level = NONE');
}

async function verifyPages(binding: SqlBinding, conn: SqlConnection, file: string, key: DatabaseKey): Promise<void> {
  try {
    const bad = binding.hasCipherIntegrityCheck ? (await conn.all('PRAGMA cipher_integrity_check')).length : pagesFailingHmac(file, key).length;
    if (bad > 0) {
      throw new DatabaseCorruptError(file, 'page_check_failed', `${bad} page(s) failed their integrity check`);
    }
    const quick = await conn.all('PRAGMA quick_check');
    const firstResult = quick[0] ? Object.values(quick[0])[0] : 'ok';
    if (quick.length !== 1 || firstResult !== 'ok') {
      throw new DatabaseCorruptError(file, 'malformed', 'its structure check failed');
    }
  } catch (err) {
    if (err instanceof DatabaseCorruptError) throw err;
    const kind = binding.errorKind(err);
    if (kind === 'corrupt' || kind === 'not_a_database') {
      throw new DatabaseCorruptError(file, 'malformed', 'pages could not be read', { cause: err });
    }
    throw err;
  }
}

/**
 * Settings of every connection to a profile database, applied once the key is proven.
 * secure_delete zeroes deleted rows and freed pages, so a dropped location leaves nothing in
 * the file even for someone who later holds the key. WAL frames are encrypted like pages;
 * checkpoint() truncates the WAL after purges. synchronous=FULL makes a committed outbox
 * entry survive a power cut; temp_store=MEMORY keeps sort spills off the disk.
 * cache_size: a 64 MB page cache (SQLite's default is 2 MB) holds a depot's whole file, so a
 * board refresh reads decrypted pages instead of decrypting (AES-256-CBC + HMAC-SHA512) most
 * of the stops table again each time; the store's plaintext reads put those pages in process
 * memory anyway. Exported for the benchmark's unencrypted twin (bench/board-query.ts).
 */
export const connectionSettings: readonly string[] = [
  'PRAGMA secure_delete = ON',
  'PRAGMA foreign_keys = ON',
  'PRAGMA journal_mode = WAL',
  'PRAGMA synchronous = FULL',
  'PRAGMA temp_store = MEMORY',
  'PRAGMA busy_timeout = 5000',
  'PRAGMA cache_size = -65536',
];

async function applySettings(conn: SqlConnection): Promise<void> {
  await conn.exec(connectionSettings.join(';\n'));
}

function handle(file: string, conn: SqlConnection): EncryptedDatabase {
  const checkpoint = async () => {
    await conn.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  };
  return {
    path: file,
    conn,
    checkpoint,
    async rekey(key) {
      await checkpoint();
      // SQLite3 Multiple Ciphers refuses to rekey in WAL mode; a rollback journal for the
      // rekey suits SQLCipher as well (the rekey is one transaction either way).
      await conn.get('PRAGMA journal_mode = DELETE');
      try {
        await conn.exec(`PRAGMA rekey = ${key.toSqlLiteral()}`);
      } catch {
        throw new Error('SQLCipher could not re-encrypt the database with the new key');
      } finally {
        await conn.get('PRAGMA journal_mode = WAL');
      }
      // Frames written under the old key must not survive in the WAL.
      await checkpoint();
      await conn.get('SELECT count(*) AS n FROM sqlite_master');
    },
    async close() {
      await checkpoint().catch(() => undefined);
      await conn.close();
    },
  };
}
