import { afterEach, describe, expect, it } from 'vitest';
import { backends, createTestEnv, type TestEnv } from '../../../test/harness';
import { openDatabase } from '../database';
import { migrateToLatest } from '../migrate';

/** 0012 applies on both databases: one claim per integration and key, only at a real location. */
describe.each(backends)('migration 0012-integration-orders (%s)', (backend) => {
  let env: TestEnv | null = null;
  afterEach(async () => {
    await env?.dispose();
    env = null;
  });

  it('keeps one idempotency key per integration and key hash, at a real location', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      expect(await migrateToLatest(db, '0012-integration-orders')).toContain('0012-integration-orders');
      await db.insertInto('locations').values({ id: 'loc-1', name: 'North', timezone: 'UTC', version: 0, created_at: 1 }).execute();
      const key = { integration_id: 'i1', key_hash: 'a'.repeat(64), request_hash: 'b'.repeat(64), location_id: 'loc-1', operation: 'order.create', status: 201, stop_id: null, created_at: 1, expires_at: 2 };
      await db.insertInto('idempotency_keys').values(key).execute();
      // The same key of another integration is its own.
      await db.insertInto('idempotency_keys').values({ ...key, integration_id: 'i2' }).execute();
      await expect(db.insertInto('idempotency_keys').values({ ...key, request_hash: 'c'.repeat(64) }).execute()).rejects.toThrow();
      await expect(db.insertInto('idempotency_keys').values({ ...key, key_hash: 'd'.repeat(64), location_id: 'nowhere' }).execute()).rejects.toThrow();
      // A stop is created by one integration at most, and must exist.
      await expect(db.insertInto('integration_orders').values({ stop_id: 'no-such-stop', integration_id: 'i1', location_id: 'loc-1', created_at: 1 }).execute()).rejects.toThrow();
      expect(await migrateToLatest(db)).not.toContain('0012-integration-orders');
    } finally {
      await close();
    }
  });
});
