import { describe, expect, it } from 'vitest';
import { useEmptyStoreFile } from '../../testing/migration-file';
import { migrate } from '../migrate';
import { migration0001 } from './0001-initial';
import { migration0002 } from './0002-board-index';

describe('migration 0002-board-index', () => {
  const db = useEmptyStoreFile();

  const stopIndexes = async () => (await db().conn.all("SELECT name FROM pragma_index_list('stops') WHERE origin = 'c' ORDER BY name")).map((r) => r['name']);

  it('upgrades a version 1 file with its data: adds the board index, drops the index it covers', async () => {
    await migrate(db().conn, [migration0001]);
    await db().conn.run("INSERT INTO locations VALUES ('l1', 'L', 'UTC', '[]', '[]', NULL)");
    for (let i = 0; i < 20; i++) {
      await db().conn.run(
        `INSERT INTO stops (id, location_id, route_id, sequence, window_start, window_end, status, version, updated_at)
         VALUES (?, 'l1', ?, ?, 0, 1, ?, 1, 0)`, [`s${i}`, `r${i % 3}`, i, i % 2 ? 'planned' : 'delivered']);
    }
    expect(await stopIndexes()).toEqual(['stops_by_location', 'stops_by_route']);

    expect(await migrate(db().conn, [migration0001, migration0002])).toEqual({ from: 1, to: 2 });
    expect(await stopIndexes()).toEqual(['stops_by_location_route_status', 'stops_by_route']);
    const columns = (await db().conn.all("SELECT name FROM pragma_index_info('stops_by_location_route_status') ORDER BY seqno")).map((r) => r['name']);
    expect(columns).toEqual(['location_id', 'route_id', 'status', 'id']);
    expect(await db().conn.get("SELECT count(*) AS n FROM stops WHERE location_id = 'l1'")).toEqual({ n: 20 });
    expect(await db().conn.get('PRAGMA integrity_check')).toEqual({ integrity_check: 'ok' });
  });

  it("the board's stop counts read the index alone, in route order", async () => {
    await migrate(db().conn, [migration0001, migration0002]);
    const plan = await db().conn.all(
      "EXPLAIN QUERY PLAN SELECT route_id, count(*), sum(status = 'planned') FROM stops WHERE location_id = ? GROUP BY route_id", ['l1']);
    const details = plan.map((r) => String(r['detail']));
    expect(details).toContain('SEARCH stops USING COVERING INDEX stops_by_location_route_status (location_id=?)');
    expect(details.join('\n')).not.toMatch(/TEMP B-TREE/);
  });
});
