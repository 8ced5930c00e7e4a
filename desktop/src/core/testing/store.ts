import path from 'node:path';
import { createEncryptedDatabase, openEncryptedDatabase } from '../store/encrypted-database';
import { EncryptedStore } from '../store/encrypted-store';
import { migrate } from '../store/migrate';
import type { SqlBinding } from '../store/sql-binding';
import { platformStoreBinding } from '../store/store-driver';
import { DatabaseKey } from '../vault/database-key';

/**
 * The driver the store's tests run on: the platform's, or the one DEPOTLINE_STORE_DRIVER names.
 * The store suite runs once per driver (vitest.config.ts, project store-multiple-ciphers), so
 * every test that opens a database through these helpers, or through this binding, proves both
 * drivers behave alike on the same SQLCipher 4 files.
 */
export function storeTestBinding(): SqlBinding {
  return platformStoreBinding();
}

/**
 * A real encrypted store on a temp file with a key held in memory: for tests of the store's
 * own behaviour. Tests of how the key gets there use openProfileStore and the real keychain.
 */
export async function createTestStore(dir: string, name = 'store.db') {
  const file = path.join(dir, name);
  const key = DatabaseKey.generate();
  const db = await createEncryptedDatabase(storeTestBinding(), file, key, async (conn) => {
    await migrate(conn);
  });
  return { store: new EncryptedStore(db), file, key };
}

export async function reopenTestStore(file: string, key: DatabaseKey): Promise<EncryptedStore> {
  return new EncryptedStore(await openEncryptedDatabase(storeTestBinding(), file, key));
}
