import { afterEach, describe, expect, it } from 'vitest';
import { backends, createTestEnv, type TestEnv } from '../../../test/harness';
import { openDatabase } from '../database';
import { migrateToLatest, migrations } from '../migrate';

/**
 * 0028-job-runs applies on both databases over the migration before it: one row per job name
 * (a second is refused, so two processes cannot keep two schedules of one job), an unfinished
 * run has no end, and the leases of 0013 are untouched.
 */
describe.each(backends)('migration 0028-job-runs (%s)', (backend) => {
  let env: TestEnv | null = null;
  afterEach(async () => {
    await env?.dispose();
    env = null;
  });

  it('adds the shared schedule: one row per job, its latest start and end', async () => {
    env = await createTestEnv(backend);
    const { db, close } = openDatabase(env.config.database);
    try {
      const names = Object.keys(migrations);
      await migrateToLatest(db, names[names.indexOf('0028-job-runs') - 1]);
      await db.insertInto('job_leases').values({ name: 'webhooks', holder: 'p1', acquired_at: 1, expires_at: 30_001 }).execute();
      expect(await migrateToLatest(db, '0028-job-runs')).toContain('0028-job-runs');

      await db.insertInto('job_runs').values({ name: 'retention-purge', holder: 'p1', started_at: 1_000, finished_at: null }).execute();
      await expect(db.insertInto('job_runs').values({ name: 'retention-purge', holder: 'p2', started_at: 2_000, finished_at: 2_500 }).execute()).rejects.toThrow();
      const run = await db.selectFrom('job_runs').selectAll().executeTakeFirstOrThrow();
      expect({ ...run, started_at: Number(run.started_at) }).toEqual({ name: 'retention-purge', holder: 'p1', started_at: 1_000, finished_at: null });
      expect(await db.selectFrom('job_leases').select(['name', 'holder']).execute()).toEqual([{ name: 'webhooks', holder: 'p1' }]);
    } finally {
      await close();
    }
  });
});
