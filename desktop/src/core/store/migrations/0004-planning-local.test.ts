import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../testing/temp-dir';
import { DatabaseKey } from '../../vault/database-key';
import { createEncryptedDatabase, type EncryptedDatabase } from '../encrypted-database';
import { readImportMapping, writeImportMapping } from '../import-store';
import { migrate } from '../migrate';
import { migrations } from './index';

describe('migration 0004-planning-local', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let db: EncryptedDatabase;

  beforeEach(async () => {
    tmp = makeTempDir();
    db = await createEncryptedDatabase((await import('../sqlcipher-binding')).sqlcipherBinding, path.join(tmp.dir, 'm.db'), DatabaseKey.generate(), async () => {});
  });
  afterEach(async () => {
    await db.close();
    tmp.remove();
  });

  it('upgrades a version 3 file: the import mapping is kept per depot and goes with it', async () => {
    await migrate(db.conn, migrations.filter((m) => m.version <= 3));
    await db.conn.run("INSERT INTO locations VALUES ('l1', 'L', 'UTC', '[]', '[]', NULL)");
    expect(await migrate(db.conn, migrations.filter((m) => m.version <= 4))).toEqual({ from: 3, to: 4 });
    expect(await readImportMapping(db.conn, 'l1')).toBeNull();
    await writeImportMapping(db.conn, 'l1', { orderRef: 'Order #', customerName: 'Name' }, 1);
    await writeImportMapping(db.conn, 'l1', { orderRef: 'Ref' }, 2);
    expect(await readImportMapping(db.conn, 'l1')).toEqual({ orderRef: 'Ref' });
    await db.conn.run('PRAGMA foreign_keys = ON');
    await db.conn.run("DELETE FROM locations WHERE id = 'l1'");
    expect(await db.conn.get('SELECT count(*) AS n FROM import_mappings')).toEqual({ n: 0 });
  });
});
