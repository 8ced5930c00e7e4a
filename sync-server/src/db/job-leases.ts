import { sql } from 'kysely';
import type { Db } from './database';

/**
 * Leases on scheduled jobs (table `job_leases`): when several server processes share one
 * database, each job runs in the process holding its lease. The holder renews it well before it
 * expires; a holder that dies stops renewing, and another process takes the job over once the
 * lease has expired. A lease is a promise about who is working, not a lock around each write:
 * a job's own writes must stay correct if two processes briefly both believe they hold it
 * (a paused holder that wakes after expiry), e.g. by claiming each item with a conditional update.
 */

/**
 * Takes or renews the lease `name` for `holder` until `now + ttlMs`. True when `holder` holds it
 * now: it was free, expired, or already its own.
 */
export async function holdJobLease(db: Db, name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
  // One statement on both engines: insert, or take over an expired or own row; a live row of
  // another holder is left alone (the WHERE of DO UPDATE), and then nothing is returned.
  const row = await db.insertInto('job_leases')
    .values({ name, holder, acquired_at: now, expires_at: now + ttlMs })
    .onConflict((oc) => oc.column('name').doUpdateSet({
      holder,
      acquired_at: sql<number>`case when job_leases.holder = ${holder} then job_leases.acquired_at else ${now} end`,
      expires_at: now + ttlMs,
    }).where((eb) => eb.or([eb('job_leases.holder', '=', holder), eb('job_leases.expires_at', '<=', now)])))
    .returning('holder')
    .executeTakeFirst();
  return row?.holder === holder;
}

/** Gives the lease up at once (a clean shutdown), so another process need not wait for it to expire. */
export async function releaseJobLease(db: Db, name: string, holder: string): Promise<void> {
  await db.deleteFrom('job_leases').where('name', '=', name).where('holder', '=', holder).execute();
}

/** Who holds `name` and until when; null when nobody does. */
export async function jobLeaseHolder(db: Db, name: string, now: number): Promise<{ holder: string; expiresAt: number } | null> {
  const row = await db.selectFrom('job_leases').select(['holder', 'expires_at']).where('name', '=', name).executeTakeFirst();
  return row && Number(row.expires_at) > now ? { holder: row.holder, expiresAt: Number(row.expires_at) } : null;
}
