import { afterEach, describe, expect, it } from 'vitest';
import { backends, createTestEnv, type TestEnv } from '../../../test/harness';
import { openDatabase } from '../database';
import { migrateToLatest } from '../migrate';

/**
 * 0019-check-age applies on both databases over 0018: a passing age check on a stop that is over
 * keeps counting (taken as made at the stop's age), one on an open stop lapses, an ID check and a
 * stop with no check are untouched.
 */
describe.each(backends)('migration 0019-check-age (%s)', (backend) => {
  let env: TestEnv | null = null;
  afterEach(async () => {
    await env?.dispose();
    env = null;
  });

  it('closed stops keep their age pass at the stop\u2019s age; open stops must check again', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db, '0018-tracking-links');
      await db.insertInto('locations').values({ id: 'l1', name: 'L', timezone: 'UTC', version: 0, created_at: 0 }).execute();
      await db.insertInto('routes').values({ id: 'r1', location_id: 'l1', name: 'R', date: '2026-12-01', driver_id: null, vehicle_id: null, version: 1, updated_at: 0, updated_by: null }).execute();
      const stops: [string, string, number | null, string | null][] = [
        ['done', 'delivered', 18, 'age'], ['open', 'arrived', 18, 'age'], ['id', 'delivered', null, 'id'], ['none', 'planned', 16, null],
      ];
      for (const [id, status, minimumAge, passed] of stops) {
        await db.insertInto('stops').values({
          id, location_id: 'l1', route_id: 'r1', sequence: 0, customer_name_enc: 'x', address_enc: 'x', phone_enc: null, notes_enc: 'x',
          window_start: 0, window_end: 1, status, eta: null, version: 1, updated_at: 0, updated_by: null, minimum_age: minimumAge, check_passed: passed,
        }).execute();
      }
      expect(await migrateToLatest(db, '0019-check-age')).toEqual(['0019-check-age']);
      const rows = await db.selectFrom('stops').select(['id', 'check_passed', 'check_min_age']).orderBy('id').execute();
      expect(rows.map((r) => ({ ...r, check_min_age: r.check_min_age === null ? null : Number(r.check_min_age) }))).toEqual([
        { id: 'done', check_passed: 'age', check_min_age: 18 },
        { id: 'id', check_passed: 'id', check_min_age: null },
        { id: 'none', check_passed: null, check_min_age: null },
        { id: 'open', check_passed: 'age', check_min_age: null },
      ]);
    } finally {
      await close();
    }
  });
});
