import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { createEncryptedDatabase, type EncryptedDatabase } from '../store/encrypted-database';
import { DatabaseKey } from '../vault/database-key';
import { storeTestBinding } from './store';
import { makeTempDir } from './temp-dir';

/**
 * For the store's migration tests: a fresh, empty SQLCipher file on the test driver (schema version 0, a key held in
 * memory) before each test, closed and removed after it. Call in a `describe` body; the returned
 * function gives the current test's database.
 */
export function useEmptyStoreFile(): () => EncryptedDatabase {
  let tmp: ReturnType<typeof makeTempDir>;
  let db: EncryptedDatabase;
  beforeEach(async () => {
    tmp = makeTempDir();
    db = await createEncryptedDatabase(storeTestBinding(), path.join(tmp.dir, 'm.db'), DatabaseKey.generate(), async () => {});
  });
  afterEach(async () => {
    await db.close();
    tmp.remove();
  });
  return () => db;
}
