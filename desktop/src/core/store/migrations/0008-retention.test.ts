import { describe, expect, it } from 'vitest';
import { useEmptyStoreFile } from '../../testing/migration-file';
import { buildRoute, buildStop } from '../../testing/fixtures';
import { readEntity, writeEntity } from '../entity-tables';
import { migrate } from '../migrate';
import { migrations } from './index';

describe('migration 0008-retention', () => {
  const db = useEmptyStoreFile();

  it('upgrades a version 7 file: no periods known yet, existing stops not pseudonymised, a pseudonymised stop round-trips', async () => {
    await migrate(db().conn, migrations.filter((m) => m.version <= 7));
    await db().conn.run("INSERT INTO locations VALUES ('l1', 'L', 'UTC', '[]', '[]', NULL)");
    const route = buildRoute('l1');
    const old = buildStop('l1', route.id);
    await writeEntity(db().conn, 'route', route, 1);
    await db().conn.run(
      `INSERT INTO stops (id, location_id, route_id, sequence, customer_name, address, phone, notes, hidden_fields, window_start, window_end, status, version, updated_at)
       VALUES (?, 'l1', ?, 0, 'Ada', '1 Road', NULL, '', '[]', 0, 1, 'planned', 4, 0)`, [old.id, route.id]);
    expect(await migrate(db().conn, migrations.filter((m) => m.version <= 8))).toEqual({ from: 7, to: 8 });
    expect(await db().conn.all('SELECT retention FROM locations')).toEqual([{ retention: null }]);
    expect((await readEntity(db().conn, 'stop', old.id))?.pseudonymised).toBeUndefined();

    // Entities are written as the latest schema has them.
    await migrate(db().conn, migrations);
    const { customerName: _n, address: _a, notes: _o, ...facts } = buildStop('l1', route.id, { id: 's-p' });
    const pseudonymised = { ...facts, phone: null, email: null, pseudonymised: true };
    await writeEntity(db().conn, 'stop', pseudonymised, pseudonymised.version);
    expect(await readEntity(db().conn, 'stop', 's-p')).toEqual(pseudonymised);
    await expect(db().conn.run("UPDATE stops SET pseudonymised = 2 WHERE id = 's-p'")).rejects.toThrow();
  });
});
