import { afterEach, describe, expect, it } from 'vitest';
import { backends, createTestEnv, type TestEnv } from '../../../test/harness';
import { openDatabase } from '../database';
import { migrateToLatest } from '../migrate';

/**
 * 0022-driver-devices applies on both databases over 0021: a route whose stops are all closed is
 * taken as completed at its last stop's change, with an hour's grace for its driver; a route with
 * an open stop, or with none, is not complete; the position history and the session idle column
 * are there and empty.
 */
describe.each(backends)('migration 0022-driver-devices (%s)', (backend) => {
  let env: TestEnv | null = null;
  afterEach(async () => {
    await env?.dispose();
    env = null;
  });

  it('completes the routes whose stops are all delivered, failed or cancelled, and no other', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db, '0021-stop-lifecycle');
      await db.insertInto('locations').values({ id: 'l1', name: 'L', timezone: 'UTC', version: 0, created_at: 0 }).execute();
      for (const id of ['done', 'open', 'empty']) {
        await db.insertInto('routes').values({ id, location_id: 'l1', name: id, date: '2026-12-01', driver_id: null, vehicle_id: null, version: 1, updated_at: 0, updated_by: null }).execute();
      }
      const stops: [string, string, string, number][] = [
        ['d1', 'done', 'delivered', 1_000], ['d2', 'done', 'failed', 5_000], ['d3', 'done', 'cancelled', 3_000],
        ['o1', 'open', 'delivered', 2_000], ['o2', 'open', 'en_route', 1_000],
      ];
      for (const [id, routeId, status, at] of stops) {
        await db.insertInto('stops').values({
          id, location_id: 'l1', route_id: routeId, sequence: 0, customer_name_enc: 'x', address_enc: 'x', phone_enc: null, notes_enc: 'x',
          window_start: 0, window_end: 1, status, eta: null, version: 1, updated_at: at, updated_by: null,
        }).execute();
      }
      expect(await migrateToLatest(db, '0022-driver-devices')).toEqual(['0022-driver-devices']);
      const routes = await db.selectFrom('routes').select(['id', 'completed_at', 'driver_access_until', 'driver_removal_at']).orderBy('id').execute();
      const n = (v: number | null) => (v === null ? null : Number(v));
      expect(routes.map((r) => [r.id, n(r.completed_at), n(r.driver_access_until), n(r.driver_removal_at)])).toEqual([
        ['done', 5_000, 5_000 + 3_600_000, null],
        ['empty', null, null, null],
        ['open', null, null, null],
      ]);
      await db.insertInto('position_history').values({
        id: 'p1', driver_id: 'drv', location_id: 'l1', lat: 52.5, lng: 13.4, heading_deg: null, speed_kmh: null, recorded_at: 1_000,
      }).execute();
      expect(await db.selectFrom('position_history').select(['lat', 'lng']).execute()).toEqual([{ lat: 52.5, lng: 13.4 }]);
    } finally {
      await close();
    }
  });
});
