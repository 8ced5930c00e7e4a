import { afterEach, describe, expect, it } from 'vitest';
import { backends, createTestEnv, type TestEnv } from '../../test/harness';
import { openDatabase } from '../db/database';
import { migrateToLatest } from '../db/migrate';

/** Migration 0010-integrations on both databases: unique names, scopes tied to real integrations and locations. */
describe.each(backends)('migration 0010-integrations (%s)', (backend) => {
  let env: TestEnv | null = null;
  afterEach(async () => {
    await env?.dispose();
    env = null;
  });

  it('adds integrations (names unique, allowlist empty by default) and their scopes, one permission per location per row', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db, '0009-fleet');
      await db.insertInto('locations').values({ id: 'loc-1', name: 'North', timezone: 'UTC', version: 0, created_at: 1 }).execute();
      expect(await migrateToLatest(db, '0010-integrations')).toEqual(['0010-integrations']);
      const row = {
        id: 'i1', name: 'acme-shop', kind: 'shop', contact: 'ops', data_profile: '["orderRef"]', auto_suspend_on_alert: 0,
        suspended_at: null, suspended_reason: null, suspended_by: null, version: 1, created_at: 1, created_by: 'cli:root', updated_at: 1, updated_by: 'cli:root',
      };
      // ip_allowlist left out: it defaults to the empty list.
      await db.insertInto('integrations').values(row as never).execute();
      expect(await db.selectFrom('integrations').select(['ip_allowlist', 'version']).executeTakeFirstOrThrow()).toEqual({ ip_allowlist: '[]', version: 1 });
      await expect(db.insertInto('integrations').values({ ...row, id: 'i2', ip_allowlist: '[]' }).execute()).rejects.toThrow();
      await db.insertInto('integration_scopes').values([
        { integration_id: 'i1', location_id: 'loc-1', permission: 'orders.write' },
        { integration_id: 'i1', location_id: 'loc-1', permission: 'status.read' },
      ]).execute();
      await expect(db.insertInto('integration_scopes').values({ integration_id: 'i1', location_id: 'loc-1', permission: 'orders.write' }).execute()).rejects.toThrow();
      await expect(db.insertInto('integration_scopes').values({ integration_id: 'nope', location_id: 'loc-1', permission: 'status.read' }).execute()).rejects.toThrow();
      await expect(db.insertInto('integration_scopes').values({ integration_id: 'i1', location_id: 'nowhere', permission: 'status.read' }).execute()).rejects.toThrow();
    } finally {
      await close();
    }
  });
});
