import { describe, expect, it } from 'vitest';
import { useEmptyStoreFile } from '../../testing/migration-file';
import { readEntity, writeEntity } from '../entity-tables';
import { migrate } from '../migrate';
import { migrations } from './index';

describe('migration 0005-fleet-retired', () => {
  const db = useEmptyStoreFile();

  it('upgrades a version 4 file: drivers and vehicles kept active, a retirement stored and read back', async () => {
    await migrate(db().conn, migrations.filter((m) => m.version <= 4));
    await db().conn.run("INSERT INTO locations VALUES ('l1', 'L', 'UTC', '[]', '[]', NULL)");
    await db().conn.run("INSERT INTO drivers (id, location_id, name, user_id, version) VALUES ('d1', 'l1', 'Dana', NULL, 3)");
    expect(await migrate(db().conn, migrations.filter((m) => m.version <= 5))).toEqual({ from: 4, to: 5 });
    expect(await readEntity(db().conn, 'driver', 'd1')).toEqual({ id: 'd1', locationId: 'l1', name: 'Dana', userId: null, retiredAt: null });
    await writeEntity(db().conn, 'vehicle', { id: 'v1', locationId: 'l1', label: 'Van', plate: 'P', retiredAt: 1_800_000_000_000 }, 4);
    expect(await readEntity(db().conn, 'vehicle', 'v1')).toEqual({ id: 'v1', locationId: 'l1', label: 'Van', plate: 'P', retiredAt: 1_800_000_000_000 });
  });
});
