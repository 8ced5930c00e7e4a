import { describe, expect, it } from 'vitest';
import { useEmptyStoreFile } from '../../testing/migration-file';
import { DatabaseTooNewError } from '../../errors';
import { migrate, schemaVersion } from '../migrate';
import { migration0001 } from './0001-initial';

describe('migration 0001-initial', () => {
  const db = useEmptyStoreFile();

  it('creates every table as STRICT and sets user_version 1', async () => {
    expect(await migrate(db().conn, [migration0001])).toEqual({ from: 0, to: 1 });
    const tables = await db().conn.all("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite_%' ORDER BY name");
    expect(tables).toEqual([
      'confirmed', 'drivers', 'locations', 'meta', 'outbox', 'positions', 'rejected_mutations', 'routes', 'stops',
      'sync_cursors', 'tombstones', 'vehicles',
    ].map((name) => ({ name, strict: 1 })));
  });

  it('every table holding location data cascades from locations', async () => {
    await migrate(db().conn, [migration0001]);
    const perLocation = ['confirmed', 'drivers', 'outbox', 'positions', 'rejected_mutations', 'routes', 'stops', 'sync_cursors', 'tombstones', 'vehicles'];
    for (const table of perLocation) {
      const fks = await db().conn.all(`SELECT "table", "from", on_delete FROM pragma_foreign_key_list('${table}')`);
      expect(fks, table).toContainEqual({ table: 'locations', from: 'location_id', on_delete: 'CASCADE' });
    }
  });

  it('rejects a stop with an unknown status (STRICT + CHECK)', async () => {
    await migrate(db().conn, [migration0001]);
    await db().conn.run("INSERT INTO locations VALUES ('l1', 'L', 'UTC', '[]', '[]', NULL)");
    const insert = (status: string) => db().conn.run(
      `INSERT INTO stops (id, location_id, route_id, sequence, window_start, window_end, status, version, updated_at)
       VALUES (?, 'l1', 'r1', 0, 0, 1, ?, 1, 0)`, [`s-${status}`, status]);
    await expect(insert('planned')).resolves.toEqual({ changes: 1 });
    await expect(insert('teleported')).rejects.toThrow(/CHECK constraint/);
  });

  it('is idempotent and refuses a file from a newer app without touching it', async () => {
    await migrate(db().conn, [migration0001]);
    expect(await migrate(db().conn, [migration0001])).toEqual({ from: 1, to: 1 });
    await db().conn.exec('PRAGMA user_version = 7');
    await expect(migrate(db().conn, [migration0001])).rejects.toBeInstanceOf(DatabaseTooNewError);
    expect(await schemaVersion(db().conn)).toBe(7);
  });
});
