import { describe, expect, it } from 'vitest';
import { useEmptyStoreFile } from '../../testing/migration-file';
import { buildRoute, buildStop } from '../../testing/fixtures';
import { readEntity, writeEntity } from '../entity-tables';
import { migrate } from '../migrate';
import { migrations } from './index';

describe('migration 0009-held-stops', () => {
  const db = useEmptyStoreFile();

  it('upgrades a version 8 file: existing stops not held; a held stop round-trips, and the flag is 0 or 1 only', async () => {
    await migrate(db().conn, migrations.filter((m) => m.version <= 8));
    await db().conn.run("INSERT INTO locations VALUES ('l1', 'L', 'UTC', '[]', '[]', NULL, NULL)");
    const route = buildRoute('l1');
    await db().conn.run(
      `INSERT INTO stops (id, location_id, route_id, sequence, customer_name, address, phone, notes, hidden_fields, window_start, window_end, status, version, updated_at)
       VALUES ('s-old', 'l1', ?, 0, 'Ada', '1 Road', NULL, '', '[]', 0, 1, 'planned', 4, 0)`, [route.id]);
    expect(await migrate(db().conn, migrations.filter((m) => m.version <= 9))).toEqual({ from: 8, to: 9 });
    await writeEntity(db().conn, 'route', route, 1);
    expect((await readEntity(db().conn, 'stop', 's-old'))?.held).toBeUndefined();

    const held = buildStop('l1', route.id, { id: 's-h', held: true });
    await writeEntity(db().conn, 'stop', held, held.version);
    expect(await readEntity(db().conn, 'stop', 's-h')).toEqual(held);
    const { held: _h, ...released } = { ...held, version: held.version + 1 };
    await writeEntity(db().conn, 'stop', released, released.version);
    expect(await readEntity(db().conn, 'stop', 's-h')).toEqual(released);
    await expect(db().conn.run("UPDATE stops SET held = 2 WHERE id = 's-h'")).rejects.toThrow();
  });
});
