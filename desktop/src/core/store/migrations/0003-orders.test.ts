import { describe, expect, it } from 'vitest';
import { useEmptyStoreFile } from '../../testing/migration-file';
import { tables } from '../entity-tables';
import { migrate } from '../migrate';
import { migration0001 } from './0001-initial';
import { migration0002 } from './0002-board-index';
import { migration0003 } from './0003-orders';

describe('migration 0003-orders', () => {
  const db = useEmptyStoreFile();

  it('upgrades a version 2 file with its data: stops read with no order, and are fetched again whole at the next pull', async () => {
    await migrate(db().conn, [migration0001, migration0002]);
    await db().conn.run("INSERT INTO locations VALUES ('l1', 'L', 'UTC', '[]', '[]', NULL)");
    await db().conn.run('INSERT INTO sync_cursors (location_id, cursor, synced_at) VALUES (?, ?, ?)', ['l1', 42, 1]);
    await db().conn.run(
      `INSERT INTO stops (id, location_id, route_id, sequence, customer_name, address, phone, notes, hidden_fields, window_start, window_end, status, version, updated_at)
       VALUES ('s1', 'l1', 'r1', 0, 'Ada', '1 Road', NULL, '', '[]', 0, 1, 'planned', 40, 0)`);
    // A stop with a pending edit keeps its last server copy as JSON, from before orders.
    const old = { id: 's2', locationId: 'l1', routeId: 'r1', sequence: 1, customerName: 'Bo', address: '2 Road', phone: null, notes: '', window: { start: 0, end: 1 }, status: 'planned', eta: null, version: 41, updatedAt: 0, updatedBy: null };
    await db().conn.run("INSERT INTO confirmed (kind, id, location_id, version, data) VALUES ('stop', 's2', 'l1', 41, ?)", [JSON.stringify(old)]);

    expect(await migrate(db().conn, [migration0001, migration0002, migration0003])).toEqual({ from: 2, to: 3 });

    const row = await db().conn.get("SELECT * FROM stops WHERE id = 's1'");
    expect(tables.stop.fromRow(row!)).toMatchObject({
      id: 's1', customerName: 'Ada', orderRef: null, parcelCount: 1, barcodes: [], coordinates: null, email: null,
      minimumAge: null, idCheck: false, failureReason: null, failureNote: null, paymentRef: null, codAmount: null, version: 0,
    });
    const confirmed = await db().conn.get("SELECT version, data FROM confirmed WHERE id = 's2'");
    expect(confirmed!['version']).toBe(0);
    expect(JSON.parse(String(confirmed!['data']))).toEqual({ ...old, orderRef: null, parcelCount: 1, barcodes: [], minimumAge: null, idCheck: false, failureReason: null });
    // Back to the start: the next pull brings every stop again, with its order.
    expect(await db().conn.get("SELECT cursor FROM sync_cursors WHERE location_id = 'l1'")).toEqual({ cursor: 0 });
    const indexes = (await db().conn.all("SELECT name FROM pragma_index_list('stops') WHERE origin = 'c' ORDER BY name")).map((r) => r['name']);
    expect(indexes).toContain('stops_by_order_ref');
    expect(await db().conn.get('PRAGMA integrity_check')).toEqual({ integrity_check: 'ok' });
  });

  it('keeps the table STRICT: an ID check is 0 or 1, a parcel count a number', async () => {
    await migrate(db().conn, [migration0001, migration0002, migration0003]);
    await db().conn.run("INSERT INTO locations VALUES ('l1', 'L', 'UTC', '[]', '[]', NULL)");
    const insert = (col: string, value: unknown) => db().conn.run(
      `INSERT INTO stops (id, location_id, route_id, sequence, window_start, window_end, status, version, updated_at, ${col})
       VALUES ('x', 'l1', 'r1', 0, 0, 1, 'planned', 1, 0, ?)`, [value as string]);
    await expect(insert('id_check', 2)).rejects.toThrow();
    await expect(insert('parcel_count', 'many')).rejects.toThrow();
  });
});
