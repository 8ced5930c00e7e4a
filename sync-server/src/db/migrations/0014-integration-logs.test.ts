import { afterEach, describe, expect, it } from 'vitest';
import { backends, createTestEnv, type TestEnv } from '../../../test/harness';
import { openDatabase } from '../database';
import { migrateToLatest } from '../migrate';

/** 0014-integration-logs applies on both databases over 0013, and its keys hold what the call log relies on. */
describe.each(backends)('migration 0014-integration-logs (%s)', (backend) => {
  let env: TestEnv | null = null;
  afterEach(async () => {
    await env?.dispose();
    env = null;
  });

  it('adds the call log, hourly counts keyed by credential and hour, seen networks and alert claims', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db, '0013-webhooks');
      expect(await migrateToLatest(db, '0014-integration-logs')).toEqual(['0014-integration-logs']);
      await db.insertInto('integration_calls').values({
        id: 'c1', integration_id: 'i1', credential_id: null, method: 'GET', route: '/api/v1/x', status: 200, latency_ms: 3, ip: null, at: 1_800_000_000_000,
      }).execute();
      expect(await db.selectFrom('integration_calls').select(['at', 'status']).executeTakeFirstOrThrow()).toEqual({ at: 1_800_000_000_000, status: 200 });
      const count = { credential_id: 'k1', integration_id: 'i1', hour: 3_600_000, calls: 1, refused: 0 };
      await db.insertInto('integration_call_counts').values(count).execute();
      await expect(db.insertInto('integration_call_counts').values(count).execute()).rejects.toThrow();
      const network = { credential_id: 'k1', network: '192.0.2.0/24', first_seen_at: 1, last_seen_at: 1 };
      await db.insertInto('integration_networks').values(network).execute();
      await expect(db.insertInto('integration_networks').values(network).execute()).rejects.toThrow();
      const claim = { subject: 'credential:k1', kind: 'new_network', integration_id: 'i1', alerted_at: 1 };
      await db.insertInto('integration_alert_claims').values(claim).execute();
      await expect(db.insertInto('integration_alert_claims').values(claim).execute()).rejects.toThrow();
    } finally {
      await close();
    }
  });
});
