import { describe, expect, it } from 'vitest';
import { useEmptyStoreFile } from '../../testing/migration-file';
import { buildRoute, buildStop } from '../../testing/fixtures';
import { readEntity, writeEntity } from '../entity-tables';
import { migrate } from '../migrate';
import { migrations } from './index';

describe('migration 0006-delivery-checks', () => {
  const db = useEmptyStoreFile();

  it('upgrades a version 5 file: its stops come again from the server; the PIN requirement and the door state round-trip', async () => {
    await migrate(db().conn, migrations.filter((m) => m.version <= 5));
    await db().conn.run("INSERT INTO locations VALUES ('l1', 'L', 'UTC', '[]', '[]', NULL)");
    const route = buildRoute('l1');
    await writeEntity(db().conn, 'route', route, 1);
    await db().conn.run(
      `INSERT INTO stops (id, location_id, route_id, sequence, customer_name, address, phone, notes, hidden_fields, window_start, window_end, status, version, updated_at)
       VALUES ('s-old', 'l1', ?, 0, 'Ada', '1 Road', NULL, '', '[]', 0, 1, 'planned', 40, 0)`, [route.id]);
    await db().conn.run("INSERT INTO sync_cursors (location_id, cursor) VALUES ('l1', 42)");
    expect(await migrate(db().conn, migrations.filter((m) => m.version <= 6))).toEqual({ from: 5, to: 6 });
    // Not known yet: absent, and the next pull brings the stop again whole.
    const read = await readEntity(db().conn, 'stop', 's-old');
    expect(read?.pinRequired).toBeUndefined();
    expect(read?.handover).toBeUndefined();
    expect(await db().conn.all('SELECT cursor FROM sync_cursors')).toEqual([{ cursor: 0 }]);
    expect(await db().conn.all("SELECT version FROM stops WHERE id = 's-old'")).toEqual([{ version: 0 }]);

    const withPin = buildStop('l1', route.id, { id: 's-pin', pinRequired: true, handover: { pinVerified: false, pinLocked: true, checkPassed: false } });
    // Today's stop code writes today's columns: the rest of the way first.
    await migrate(db().conn);
    await writeEntity(db().conn, 'stop', withPin, withPin.version);
    expect(await readEntity(db().conn, 'stop', 's-pin')).toEqual(withPin);
    // Nothing that could be a PIN is stored.
    expect(JSON.stringify(await db().conn.all("SELECT * FROM stops WHERE id = 's-pin'"))).not.toMatch(/"pin"\s*:/);
  });
});
