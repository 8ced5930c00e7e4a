import { afterEach, describe, expect, it } from 'vitest';
import { backends, createTestEnv, type TestEnv } from '../../../test/harness';
import { openDatabase } from '../database';
import { migrateToLatest } from '../migrate';

/** 0013-webhooks applies on both databases over 0012, and its keys hold what the outbox and the worker rely on. */
describe.each(backends)('migration 0013-webhooks (%s)', (backend) => {
  let env: TestEnv | null = null;
  afterEach(async () => {
    await env?.dispose();
    env = null;
  });

  it('adds subscriptions, the outbox tied to them, attempts that go with their delivery, and one lease row per job', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db, '0012-integration-orders');
      expect(await migrateToLatest(db, '0013-webhooks')).toEqual(['0013-webhooks']);
      const at = 1_800_000_000_000;
      await db.insertInto('webhook_subscriptions').values({
        id: 'whsub_1', integration_id: 'i1', url: 'https://hooks.example/in', events: '["stop.delivered"]', secret_enc: 'v1.x.y.z', previous_secret_enc: null,
        previous_secret_expires_at: null, status: 'active', pause_reason: null, paused_at: null, failing_since: null, last_success_at: null, version: 1,
        created_at: at, created_by: 'test', updated_at: at,
      }).execute();
      const delivery = {
        id: 'msg_1', subscription_id: 'whsub_1', integration_id: 'i1', event_type: 'stop.delivered', location_id: 'depot-a', stop_id: 's1', data: '{}',
        occurred_at: at, created_at: at, next_attempt_at: Number.MAX_SAFE_INTEGER, retry_until: at + 86_400_000, attempts: 0, status: 'pending' as const,
        delivered_at: null, last_attempt_at: null, last_status: null,
      };
      await db.insertInto('webhook_deliveries').values(delivery).execute();
      // The id is the receivers' dedup key: never twice. A delivery names a real subscription.
      await expect(db.insertInto('webhook_deliveries').values(delivery).execute()).rejects.toThrow();
      await expect(db.insertInto('webhook_deliveries').values({ ...delivery, id: 'msg_2', subscription_id: 'whsub_none' }).execute()).rejects.toThrow();
      // A held delivery's far-future time survives the round trip on both engines.
      expect(Number((await db.selectFrom('webhook_deliveries').select('next_attempt_at').executeTakeFirstOrThrow()).next_attempt_at)).toBe(Number.MAX_SAFE_INTEGER);
      await db.insertInto('webhook_attempts').values({
        id: 'a1', delivery_id: 'msg_1', subscription_id: 'whsub_1', integration_id: 'i1', event_type: 'stop.delivered', attempt: 1, at, status_code: 503,
        error: 'http', latency_ms: 12, next_retry_at: at + 5000,
      }).execute();
      await db.deleteFrom('webhook_deliveries').where('id', '=', 'msg_1').execute();
      expect(await db.selectFrom('webhook_attempts').select('id').execute()).toEqual([]);
      await db.insertInto('job_leases').values({ name: 'webhooks', holder: 'p1', acquired_at: at, expires_at: at + 30_000 }).execute();
      await expect(db.insertInto('job_leases').values({ name: 'webhooks', holder: 'p2', acquired_at: at, expires_at: at + 30_000 }).execute()).rejects.toThrow();
    } finally {
      await close();
    }
  });
});
