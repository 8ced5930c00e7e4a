import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { backends, createTestEnv, type TestEnv } from '../../test/harness';
import { openDatabase } from './database';
import { migrateToLatest, migrations } from './migrate';

/** One test per migration: it applies cleanly on both databases, and re-running is a no-op. */
describe.each(backends)('migrations (%s)', (backend) => {
  let env: TestEnv | null = null;
  afterEach(async () => {
    await env?.dispose();
    env = null;
  });

  it('0001-initial creates the schema with an empty audit chain head', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      expect(await migrateToLatest(db, '0001-initial')).toEqual(['0001-initial']);
      const head = await db.selectFrom('audit_head').selectAll().execute();
      expect(head).toEqual([{ id: 1, seq: 0, hash: '0'.repeat(64) }]);
      for (const table of ['locations', 'users', 'grants', 'grant_locations', 'sessions', 'refresh_tokens', 'drivers', 'vehicles', 'routes', 'stops', 'positions', 'changes', 'applied_mutations', 'audit_log'] as const) {
        await expect(sql`select count(*) as n from ${sql.table(table)}`.execute(db)).resolves.toBeTruthy();
      }
      expect(await migrateToLatest(db)).toEqual(Object.keys(migrations).slice(1));
      expect(await migrateToLatest(db)).toEqual([]);
    } finally {
      await close();
    }
  });
});

describe('SQLite file', () => {
  it('is created readable by its owner only', async () => {
    const env = await createTestEnv('sqlite');
    const { db, close } = openDatabase(env.config.database);
    try {
      await migrateToLatest(db);
      const fs = await import('node:fs');
      expect(fs.statSync(env.sqliteFile!).mode & 0o777).toBe(0o600);
    } finally {
      await close();
      await env.dispose();
    }
  });
});
