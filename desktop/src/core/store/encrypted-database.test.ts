import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseCorruptError, DatabaseKeyMismatchError } from '../errors';
import { decryptDatabaseFile, findNeedles } from '../testing/sqlcipher-pages';
import { storeTestBinding } from '../testing/store';
import { makeTempDir, readDatabaseFiles, sha256File } from '../testing/temp-dir';
import { DatabaseKey } from '../vault/database-key';
import { createEncryptedDatabase, openEncryptedDatabase } from './encrypted-database';
import { pagesFailingHmac } from './sqlcipher-page-check';

/** The driver under test (testing/store.ts): the suite runs once per driver. */
const binding = storeTestBinding();

const secrets = ['Hildegard Quarzstaub', '17 Ahornweg, Potsdam', '+49 331 5550123'];

describe('encrypted database file (SQLCipher 4, raw key)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let file: string;
  let key: DatabaseKey;

  beforeEach(async () => {
    tmp = makeTempDir();
    file = path.join(tmp.dir, 'profile.db');
    key = DatabaseKey.generate();
    const db = await createEncryptedDatabase(binding, file, key, async (conn) => {
      await conn.exec('CREATE TABLE customers (name TEXT, address TEXT, phone TEXT)');
      // Enough rows to span several pages, so page-level damage lands on real data.
      for (let i = 0; i < 200; i++) {
        await conn.run('INSERT INTO customers VALUES (?, ?, ?)', i === 0 ? secrets : [`Filler ${i} ${'x'.repeat(80)}`, `Street ${i}`, `+49 ${i}`]);
      }
    });
    await db.close();
  });
  afterEach(() => tmp.remove());

  it('keeps no plaintext of customer data in the file, though the key reveals it', () => {
    const raw = readDatabaseFiles(file);
    expect(findNeedles(raw, secrets)).toEqual([]);
    expect(raw[0]!.subarray(0, 16).toString('latin1')).not.toBe('SQLite format 3\0');
    // Control: the same scan over decrypted pages finds them, so the scan above can fail.
    expect(findNeedles(decryptDatabaseFile(file, key), secrets)).toEqual(secrets);
  });

  it('writes SQLCipher 4 pages: 4096 bytes each, every one signed with HMAC-SHA512 under the key', () => {
    // Read from the file rather than asked of the driver, so both drivers are held to one format.
    const pages = fs.statSync(file).size / 4096;
    expect(Number.isInteger(pages) && pages > 2).toBe(true);
    expect(pagesFailingHmac(file, key)).toEqual([]);
    expect(pagesFailingHmac(file, DatabaseKey.generate())).toHaveLength(pages);
  });

  it('uses SQLCipher 4 settings', async () => {
    const db = await openEncryptedDatabase(binding, file, key);
    if (binding.hasCipherIntegrityCheck) {
      const settings = (await db.conn.all('PRAGMA cipher_settings')).map((r) => String(r['pragma']));
      expect(settings).toEqual(expect.arrayContaining([
        'PRAGMA cipher_page_size = 4096;', 'PRAGMA cipher_hmac_algorithm = HMAC_SHA512;', 'PRAGMA cipher_kdf_algorithm = PBKDF2_HMAC_SHA512;',
      ]));
    } else {
      // SQLite3 Multiple Ciphers names its scheme and version instead (multiple-ciphers-binding.ts).
      // (its pragmas answer in a column named after the value, hence Object.values).
      const answer = async (pragma: string) => Object.values((await db.conn.get(`PRAGMA ${pragma}`)) ?? {}).map(String);
      expect(await answer('cipher')).toEqual(['sqlcipher']);
      expect(await answer('legacy')).toEqual(['4']);
    }
    expect(await db.conn.get('PRAGMA secure_delete')).toEqual({ secure_delete: 1 });
    expect(await db.conn.get('PRAGMA foreign_keys')).toEqual({ foreign_keys: 1 });
    expect(await db.conn.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
    // A page cache that holds a depot's file, so board refreshes do not decrypt it again each time.
    expect(await db.conn.get('PRAGMA cache_size')).toEqual({ cache_size: -65536 });
    await db.close();
  });

  it('a wrong key gives DatabaseKeyMismatchError and leaves the file byte-for-byte unchanged', async () => {
    const before = sha256File(file);
    const err = await openEncryptedDatabase(binding, file, DatabaseKey.generate()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseKeyMismatchError);
    expect((err as Error).message).toMatch(/key in the keychain does not open this database/);
    expect(sha256File(file)).toBe(before);
    expect(fs.readdirSync(tmp.dir)).toEqual(['profile.db']);
    // And the right key still opens it afterwards.
    const db = await openEncryptedDatabase(binding, file, key);
    expect(await db.conn.get('SELECT name FROM customers WHERE phone = ?', [secrets[2]!])).toEqual({ name: secrets[0] });
    await db.close();
  });

  it.each([
    ['cut mid-page', (size: number) => size - 1000, 'truncated'],
    ['cut to a few bytes', () => 100, 'truncated'],
    ['emptied', () => 0, 'empty'],
    ['cut at a page boundary', (size: number) => size - 4096 * 2, 'malformed'],
  ] as const)('a file %s gives DatabaseCorruptError and is left unchanged', async (_label, cut, kind) => {
    fs.truncateSync(file, cut(fs.statSync(file).size));
    const before = sha256File(file);
    const err = await openEncryptedDatabase(binding, file, key).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseCorruptError);
    expect((err as DatabaseCorruptError).kind).toBe(kind);
    expect(sha256File(file)).toBe(before);
  });

  it('a damaged page past the first gives DatabaseCorruptError from the page check', async () => {
    const bytes = fs.readFileSync(file);
    bytes[4096 * 2 + 100] = bytes[4096 * 2 + 100]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    const before = sha256File(file);
    const err = await openEncryptedDatabase(binding, file, key).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseCorruptError);
    expect((err as DatabaseCorruptError).kind).toBe('page_check_failed');
    expect(sha256File(file)).toBe(before);
  });

  it('refuses an unencrypted SQLite file put in its place', async () => {
    const plain = path.join(tmp.dir, 'plain.db');
    const conn = await binding.open(plain, { create: true });
    await conn.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    await conn.close();
    const err = await openEncryptedDatabase(binding, plain, key).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseCorruptError);
    expect((err as DatabaseCorruptError).kind).toBe('plaintext');
  });

  it('opening a missing file never creates it', async () => {
    const missing = path.join(tmp.dir, 'missing.db');
    await expect(openEncryptedDatabase(binding, missing, key)).rejects.toThrow(/ENOENT/);
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('rekey: the old key no longer opens the file, the new one does, data intact', async () => {
    const db = await openEncryptedDatabase(binding, file, key);
    await db.conn.run('INSERT INTO customers VALUES (?, ?, ?)', ['After Open', 'x', '+49 1']);
    const newKey = DatabaseKey.generate();
    await db.rekey(newKey);
    await db.conn.run('INSERT INTO customers VALUES (?, ?, ?)', ['After Rekey', 'y', '+49 2']);
    await db.close();

    await expect(openEncryptedDatabase(binding, file, key)).rejects.toBeInstanceOf(DatabaseKeyMismatchError);
    const reopened = await openEncryptedDatabase(binding, file, newKey);
    expect(await reopened.conn.get('SELECT count(*) AS n FROM customers')).toEqual({ n: 202 });
    expect(await reopened.conn.get('SELECT name FROM customers WHERE phone = ?', [secrets[2]!])).toEqual({ name: secrets[0] });
    await reopened.close();
    // Nothing in the file still decrypts under the old key.
    expect(findNeedles(decryptDatabaseFile(file, key), secrets)).toEqual([]);
    expect(findNeedles(decryptDatabaseFile(file, newKey), secrets)).toEqual(secrets);
  });

  it('creation is atomic: a leftover half-built file is discarded, never opened', async () => {
    const other = path.join(tmp.dir, 'other.db');
    fs.writeFileSync(`${other}.creating`, 'half-written junk');
    const db = await createEncryptedDatabase(binding, other, key, async (conn) => {
      await conn.exec('CREATE TABLE t (x)');
    });
    await db.close();
    expect(fs.existsSync(`${other}.creating`)).toBe(false);
    await expect(createEncryptedDatabase(binding, other, key, async () => {})).rejects.toThrow(/existing file/);
  });
});
