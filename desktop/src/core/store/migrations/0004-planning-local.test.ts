import { describe, expect, it } from 'vitest';
import { useEmptyStoreFile } from '../../testing/migration-file';
import { readImportMapping, writeImportMapping } from '../import-store';
import { migrate } from '../migrate';
import { migrations } from './index';

describe('migration 0004-planning-local', () => {
  const db = useEmptyStoreFile();

  it('upgrades a version 3 file: the import mapping is kept per depot and goes with it', async () => {
    await migrate(db().conn, migrations.filter((m) => m.version <= 3));
    await db().conn.run("INSERT INTO locations VALUES ('l1', 'L', 'UTC', '[]', '[]', NULL)");
    expect(await migrate(db().conn, migrations.filter((m) => m.version <= 4))).toEqual({ from: 3, to: 4 });
    expect(await readImportMapping(db().conn, 'l1')).toBeNull();
    await writeImportMapping(db().conn, 'l1', { orderRef: 'Order #', customerName: 'Name' }, 1);
    await writeImportMapping(db().conn, 'l1', { orderRef: 'Ref' }, 2);
    expect(await readImportMapping(db().conn, 'l1')).toEqual({ orderRef: 'Ref' });
    await db().conn.run('PRAGMA foreign_keys = ON');
    await db().conn.run("DELETE FROM locations WHERE id = 'l1'");
    expect(await db().conn.get('SELECT count(*) AS n FROM import_mappings')).toEqual({ n: 0 });
  });
});
