import { afterEach, describe, expect, it } from 'vitest';
import { backends, createTestEnv, type TestEnv } from '../../test/harness';
import { openDatabase } from '../db/database';
import { migrateToLatest } from '../db/migrate';

/** Migration 0011-integration-credentials on both databases: hashes only, every credential tied to a real integration (and a token to a real client). */
describe.each(backends)('migration 0011-integration-credentials (%s)', (backend) => {
  let env: TestEnv | null = null;
  afterEach(async () => {
    await env?.dispose();
    env = null;
  });

  it('creates keys, clients and tokens that must name an existing integration and client', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      expect(await migrateToLatest(db, '0011-integration-credentials')).toContain('0011-integration-credentials');
      await db.insertInto('integrations').values({
        id: 'i1', name: 'acme', kind: 'shop', contact: 'x', data_profile: '[]', ip_allowlist: '[]', auto_suspend_on_alert: 0, suspended_at: null,
        suspended_reason: null, suspended_by: null, version: 1, created_at: 1, created_by: 'test', updated_at: 1, updated_by: 'test',
      }).execute();
      const key = {
        id: 'dlk_0000000000000000', integration_id: 'i1', name: 'k', secret_hash: 'a'.repeat(64), scopes: '["orders.read"]', created_at: 1, created_by: null,
        created_by_label: 'test', expires_at: 2, ends_at: null, replaced_by: null, revoked_at: null, revoked_by_label: null, last_used_at: null, last_used_ip: null,
      };
      await db.insertInto('api_keys').values(key).execute();
      await expect(db.insertInto('api_keys').values({ ...key, id: 'dlk_1111111111111111', integration_id: 'nope' }).execute()).rejects.toThrow();
      await expect(db.insertInto('api_keys').values(key).execute()).rejects.toThrow();
      // expires_at is required.
      await expect(db.insertInto('api_keys').values({ ...key, id: 'dlk_2222222222222222', expires_at: null as unknown as number }).execute()).rejects.toThrow();

      await db.insertInto('oauth_clients').values({
        id: 'dlc_0000000000000000', integration_id: 'i1', name: 'c', secret_hash: 'b'.repeat(64), previous_secret_hash: null, previous_secret_ends_at: null,
        scopes: '[]', created_at: 1, created_by: null, created_by_label: 'test', expires_at: 2, rotated_at: null, revoked_at: null, revoked_by_label: null,
        last_used_at: null, last_used_ip: null,
      }).execute();
      const token = { id: 'dlt_0000000000000000', client_id: 'dlc_0000000000000000', integration_id: 'i1', secret_hash: 'c'.repeat(64), scopes: '[]', issued_at: 1, expires_at: 2 };
      await db.insertInto('oauth_tokens').values(token).execute();
      await expect(db.insertInto('oauth_tokens').values({ ...token, id: 'dlt_1111111111111111', client_id: 'dlc_nope' }).execute()).rejects.toThrow();
      expect(await migrateToLatest(db)).not.toContain('0011-integration-credentials');
    } finally {
      await close();
    }
  });
});
