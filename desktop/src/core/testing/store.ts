import path from 'node:path';
import { createEncryptedDatabase, openEncryptedDatabase } from '../store/encrypted-database';
import { EncryptedStore } from '../store/encrypted-store';
import { migrate } from '../store/migrate';
import { sqlcipherBinding } from '../store/sqlcipher-binding';
import { DatabaseKey } from '../vault/database-key';

/**
 * A real encrypted store on a temp file with a key held in memory: for tests of the store's
 * own behaviour. Tests of how the key gets there use openProfileStore and the real keychain.
 */
export async function createTestStore(dir: string, name = 'store.db') {
  const file = path.join(dir, name);
  const key = DatabaseKey.generate();
  const db = await createEncryptedDatabase(sqlcipherBinding, file, key, async (conn) => {
    await migrate(conn);
  });
  return { store: new EncryptedStore(db), file, key };
}

export async function reopenTestStore(file: string, key: DatabaseKey): Promise<EncryptedStore> {
  return new EncryptedStore(await openEncryptedDatabase(sqlcipherBinding, file, key));
}
