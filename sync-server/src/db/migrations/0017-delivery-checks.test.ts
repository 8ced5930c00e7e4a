import { afterEach, describe, expect, it } from 'vitest';
import { backends, createTestEnv, type TestEnv } from '../../../test/harness';
import { openDatabase } from '../database';
import { migrateToLatest } from '../migrate';

/** 0017-delivery-checks applies on both databases over 0016: stops keep working with no PIN, and a check names a real stop. */
describe.each(backends)('migration 0017-delivery-checks (%s)', (backend) => {
  let env: TestEnv | null = null;
  afterEach(async () => {
    await env?.dispose();
    env = null;
  });

  it('existing stops need no PIN and have no check; a recorded check belongs to a stop that exists', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db, '0016-proof-of-delivery');
      await db.insertInto('locations').values({ id: 'l1', name: 'L', timezone: 'UTC', version: 0, created_at: 0 }).execute();
      await db.insertInto('routes').values({ id: 'r1', location_id: 'l1', name: 'R', date: '2026-12-01', driver_id: null, vehicle_id: null, version: 1, updated_at: 0, updated_by: null }).execute();
      await db.insertInto('stops').values({
        id: 's1', location_id: 'l1', route_id: 'r1', sequence: 0, customer_name_enc: 'x', address_enc: 'x', phone_enc: null, notes_enc: 'x',
        window_start: 0, window_end: 1, status: 'planned', eta: null, version: 1, updated_at: 0, updated_by: null,
      }).execute();
      expect(await migrateToLatest(db, '0017-delivery-checks')).toEqual(['0017-delivery-checks']);
      expect(await db.selectFrom('stops').select(['pin_required', 'pin_hash', 'pin_enc', 'pin_failures', 'pin_verified_at', 'check_passed']).executeTakeFirstOrThrow())
        .toEqual({ pin_required: 0, pin_hash: null, pin_enc: null, pin_failures: 0, pin_verified_at: null, check_passed: null });
      const check = { id: 'c1', stop_id: 's1', location_id: 'l1', kind: 'age', document_type: 'passport', result: 'pass', over_threshold: 1, recorded_by: 'u1', device_time: null, recorded_at: 1_800_000_000_000 };
      await db.insertInto('delivery_checks').values(check).execute();
      expect(await db.selectFrom('delivery_checks').select(['recorded_at', 'over_threshold']).executeTakeFirstOrThrow()).toEqual({ recorded_at: 1_800_000_000_000, over_threshold: 1 });
      await expect(db.insertInto('delivery_checks').values({ ...check, id: 'c2', stop_id: 'no-such-stop' }).execute()).rejects.toThrow();
    } finally {
      await close();
    }
  });
});
