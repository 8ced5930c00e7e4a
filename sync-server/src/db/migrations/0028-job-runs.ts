import type { Kysely } from 'kysely';

/**
 * `job_runs`: when each scheduled job last started and finished, in whichever process
 * (db/job-leases.ts). The processes share one schedule through it: a job is due one period after
 * its latest start, and at once when that run never finished (its holder died mid-run), so a
 * handover neither skips a period nor repeats a run just done. `holder` is the lease holder that
 * started the latest run; only it may mark that run finished.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('job_runs')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    // null while the run goes on, or when its holder died before it ended
    .addColumn('finished_at', 'bigint')
    .execute();
}
/* eslint-enable @typescript-eslint/no-explicit-any */
