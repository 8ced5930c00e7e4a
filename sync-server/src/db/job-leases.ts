import crypto from 'node:crypto';
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

/** A scheduled job started with `startLeasedJob`. */
export interface LeasedJob<R> {
  /** Runs the job now if this process holds (or gets) the lease; null when another does, or the run failed. */
  runOnce(): Promise<R | null>;
  /** Stops the timer, waits for a run in progress and hands the lease back. */
  stop(): Promise<void>;
}

/**
 * Runs `work` every `everyMs` (first after `firstAfterMs`, when given) in the one process holding
 * the lease `name`, taken for `leaseMs` and renewed at each run. Runs never overlap in a process;
 * a failed run is logged with `failure` and tried again at the next one.
 */
export function startLeasedJob<R>(
  ctx: { db: Db; now(): number; log: { error(msg: string, fields?: Record<string, unknown>): void } },
  job: { name: string; everyMs: number; leaseMs: number; firstAfterMs?: number; failure: string },
  work: (now: number) => Promise<R>,
): LeasedJob<R> {
  const holder = `${job.name}:${crypto.randomUUID()}`;
  let running: Promise<R | null> | null = null;
  let stopped = false;

  async function run(): Promise<R | null> {
    const now = ctx.now();
    if (!(await holdJobLease(ctx.db, job.name, holder, now, job.leaseMs))) return null;
    return work(now);
  }

  function runOnce(): Promise<R | null> {
    running ??= run()
      .catch((err: unknown) => {
        ctx.log.error(job.failure, { err: err instanceof Error ? err.message : String(err) });
        return null;
      })
      .finally(() => { running = null; });
    return running;
  }

  const timer = setInterval(() => void runOnce(), job.everyMs);
  timer.unref();
  const first = job.firstAfterMs === undefined ? null : setTimeout(() => void runOnce(), job.firstAfterMs);
  first?.unref();
  return {
    runOnce,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (first) clearTimeout(first);
      if (running) await running;
      await releaseJobLease(ctx.db, job.name, holder).catch(() => undefined);
    },
  };
}
