import crypto from 'node:crypto';
import os from 'node:os';
import { sql } from 'kysely';
import type { Db } from './database';

/**
 * Scheduled jobs across server processes (docs/operations.md, "Scheduled jobs and leases").
 *
 * - A lease (table `job_leases`) says which process runs a job now. It is taken when a run is due,
 *   for DEPOTLINE_JOB_LEASE_S, renewed every third of that by a heartbeat for as long as the run
 *   lasts (whatever the job's period), and handed back when the run ends. A holder that dies stops
 *   renewing, and another process takes the job over once the lease has expired.
 * - The schedule is shared (table `job_runs`): a job is due one period after its latest start, in
 *   whichever process that was, and at once when that run never finished (its holder died or was
 *   stopped mid-run). A scheduled run is claimed in `job_runs` under the lease, on condition that
 *   it is still due then, so a handover neither skips a period nor repeats a run just done (even
 *   when another process ran it between this one's "is it due?" and its taking the lease).
 * - A holder that loses its lease (a refused renewal, or none for two thirds of the lease: a paused
 *   process) aborts its run's signal; jobs check it between batches and stop there.
 *
 * A lease is a promise about who is working, not a lock around each write: a job's own writes must
 * stay correct if two processes briefly both believe they hold it (a paused holder that wakes
 * after expiry, before it notices), e.g. by claiming each item with a conditional update. Every
 * scheduled job is written that way, and may run early (a handover runs it at once).
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

/** A holder name that says which process holds a lease: host, process id, and a random tail for restarts. */
export function jobLeaseHolderName(job: string): string {
  return `${job}:${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
}

/** What the server context gives the lease code: the database, the clock, the lease length and the log. */
export interface JobLeaseContext {
  db: Db;
  now(): number;
  config: { jobLeaseMs: number };
  log: { error(msg: string, fields?: Record<string, unknown>): void; info(msg: string, fields?: Record<string, unknown>): void; debug(msg: string, fields?: Record<string, unknown>): void };
}

/** A lease held for the length of one piece of work. */
export interface HeldJobLease {
  /** True while the holder may go on: not stopped, and renewed less than two thirds of the lease ago. */
  held(): boolean;
  /** Aborted when the lease is lost or the job stopped: a job checks it between batches (`throwIfAborted`). */
  signal: AbortSignal;
}

/** Thrown into a run's signal when its lease is lost. */
export class JobLeaseLost extends Error {
  override name = 'JobLeaseLost';
}

/**
 * Runs `work` while holding the lease `name`: taken for `ctx.config.jobLeaseMs`, renewed every
 * third of it by a heartbeat until `work` settles, then handed back unless `keep` (the command
 * line's purge keeps it until it expires, and says so). Null when another holder has it.
 * `stop` (the job stopping) aborts the run's signal too.
 */
export async function withJobLease<R>(
  ctx: JobLeaseContext,
  name: string,
  holder: string,
  work: (lease: HeldJobLease) => Promise<R>,
  options: { keep?: boolean; stop?: AbortSignal } = {},
): Promise<R | null> {
  const leaseMs = ctx.config.jobLeaseMs;
  const taken = ctx.now();
  if (!(await holdJobLease(ctx.db, name, holder, taken, leaseMs))) return null;
  let renewedAt = taken;
  const abort = new AbortController();
  const lose = (why: string) => {
    if (abort.signal.aborted) return;
    ctx.log.error('scheduled job lost its lease; its run stops at the next batch', { job: name, holder, why });
    abort.abort(new JobLeaseLost(`${name}: ${why}`));
  };
  // Past two thirds without a renewal (one missed beat), stop: a third of the lease stays as margin
  // for clock skew between hosts and the item in hand before another process may take over.
  const stale = () => ctx.now() - renewedAt >= (2 * leaseMs) / 3;
  const onStop = () => abort.abort(options.stop?.reason);
  if (options.stop?.aborted) onStop();
  options.stop?.addEventListener('abort', onStop, { once: true });

  let beating = true;
  let beat: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  const next = () => {
    timer = setTimeout(() => {
      beat = (async () => {
        if (stale()) return lose('not renewed in time (the process was paused or the database unreachable)');
        const now = ctx.now();
        try {
          if (await holdJobLease(ctx.db, name, holder, now, leaseMs)) renewedAt = now;
          else lose('another process holds it');
        } catch (err) {
          // The database is unreachable: try again at the next beat; `stale` stops the run in time.
          ctx.log.error('could not renew a job lease', { job: name, err: err instanceof Error ? err.message : String(err) });
        }
      })();
      void beat.finally(() => {
        if (beating && !abort.signal.aborted) next();
      });
    }, leaseMs / 3);
    timer.unref();
  };
  next();

  const lease: HeldJobLease = {
    held: () => {
      if (!abort.signal.aborted && stale()) lose('not renewed in time (the process was paused or the database unreachable)');
      return !abort.signal.aborted;
    },
    signal: abort.signal,
  };
  try {
    return await work(lease);
  } finally {
    beating = false;
    if (timer) clearTimeout(timer);
    options.stop?.removeEventListener('abort', onStop);
    await beat;
    if (!options.keep) await releaseJobLease(ctx.db, name, holder).catch(() => undefined);
  }
}

/** When `name` is next due by the shared schedule: one period after its latest start, or now if that run did not finish. */
export async function jobDueAt(db: Db, name: string, everyMs: number): Promise<number> {
  const run = await db.selectFrom('job_runs').select(['started_at', 'finished_at']).where('name', '=', name).executeTakeFirst();
  if (!run || run.finished_at === null) return 0;
  return Number(run.started_at) + everyMs;
}

/** A scheduled job started with `startLeasedJob`. */
export interface LeasedJob<R> {
  /** Runs the job now (due or not) if this process gets the lease; null when another holds it, the run failed, or the job is stopping. */
  runOnce(): Promise<R | null>;
  /** Stops the schedule, aborts a run in progress (it stops at its next batch) and waits for it; the lease is handed back. */
  stop(): Promise<void>;
}

/**
 * Runs `work` when the job `name` is due by the shared schedule (every `everyMs`), in whichever
 * process gets the lease; this process first looks `firstAfterMs` after it starts (default one
 * period). Runs never overlap in a process; a failed run is logged with `failure`, counts as a
 * run, and is tried again when the next period is due.
 */
export function startLeasedJob<R>(
  ctx: JobLeaseContext,
  job: { name: string; everyMs: number; firstAfterMs?: number; failure: string },
  work: (now: number, lease: HeldJobLease) => Promise<R>,
): LeasedJob<R> {
  const holder = jobLeaseHolderName(job.name);
  const stopping = new AbortController();
  let running: Promise<R | null> | null = null;
  let checking: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;

  /**
   * Takes the lease and runs `work`. `dueOnly` (the schedule's own runs) claims the run in
   * `job_runs` only if it is still due once the lease is held: "due" was read before the lease was
   * taken, and another process may have run the job and handed the lease back in between. Null
   * without running when it is no longer due, when another process holds the lease, or when this
   * job is stopping (a stopping process starts no run it would leave unfinished, which would make
   * every other process run the job at once).
   */
  async function run(dueOnly: boolean): Promise<R | null> {
    if (stopping.signal.aborted) return null;
    return withJobLease(ctx, job.name, holder, async (lease) => {
      // Stopped while the lease was being taken: hand it back (withJobLease does) without claiming a run.
      if (lease.signal.aborted) return null;
      const startedAt = ctx.now();
      const previous = await ctx.db.selectFrom('job_runs').select(['holder', 'finished_at']).where('name', '=', job.name).executeTakeFirst();
      // The claim: a new period's run, or the carrying on of one that did not finish. With
      // `dueOnly` it is conditional, in the same statement: not finished, or started a period ago.
      const claimed = await ctx.db.insertInto('job_runs').values({ name: job.name, holder, started_at: startedAt, finished_at: null })
        .onConflict((oc) => {
          const update = oc.column('name').doUpdateSet({ holder, started_at: startedAt, finished_at: null });
          return dueOnly
            ? update.where((eb) => eb.or([eb('job_runs.finished_at', 'is', null), eb('job_runs.started_at', '<=', startedAt - job.everyMs)]))
            : update;
        })
        .returning('name')
        .executeTakeFirst();
      if (!claimed) {
        ctx.log.debug('scheduled job not run: another process ran it since it was found due', { job: job.name, holder });
        return null;
      }
      if (previous && previous.finished_at === null && previous.holder !== holder) {
        ctx.log.info('scheduled job taken over: the previous run did not finish', { job: job.name, holder, previous: previous.holder });
      }
      ctx.log.debug('scheduled job run', { job: job.name, holder, startedAt });
      let result: R | null = null;
      try {
        result = await work(startedAt, lease);
      } catch (err) {
        // Stopped mid-run (lease lost, or the process stopping): left unfinished, so the next holder goes on at once.
        if (lease.signal.aborted) return null;
        ctx.log.error(job.failure, { err: err instanceof Error ? err.message : String(err) });
      }
      // Only the holder that started this run marks it finished: a holder that lost the lease leaves it to the next.
      await ctx.db.updateTable('job_runs').set({ finished_at: ctx.now() })
        .where('name', '=', job.name).where('holder', '=', holder).where('started_at', '=', startedAt)
        .execute();
      return result;
    }, { stop: stopping.signal });
  }

  function runNow(dueOnly: boolean): Promise<R | null> {
    running ??= run(dueOnly)
      .catch((err: unknown) => {
        ctx.log.error(job.failure, { err: err instanceof Error ? err.message : String(err) });
        return null;
      })
      .finally(() => { running = null; });
    return running;
  }
  const runOnce = () => runNow(false);

  /** Runs the job if it is due, then sets the next look: when it is due, and at least every third of a lease (to take over a dead holder's run). */
  async function check(): Promise<void> {
    const lookMs = ctx.config.jobLeaseMs / 3;
    let waitMs = lookMs;
    try {
      if (!running) {
        const dueAt = await jobDueAt(ctx.db, job.name, job.everyMs);
        const now = ctx.now();
        if (dueAt <= now) await runNow(true);
        const nextDue = await jobDueAt(ctx.db, job.name, job.everyMs);
        waitMs = Math.max(0, Math.min(nextDue - ctx.now(), lookMs));
        // Due again at once means another process holds it: look again a third of a lease later.
        if (waitMs === 0) waitMs = lookMs;
      }
    } catch (err) {
      ctx.log.error(job.failure, { err: err instanceof Error ? err.message : String(err) });
    }
    schedule(waitMs);
  }

  function schedule(delayMs: number): void {
    if (stopping.signal.aborted) return;
    timer = setTimeout(() => {
      timer = null;
      checking = check().finally(() => { checking = null; });
    }, delayMs);
    timer.unref();
  }

  schedule(job.firstAfterMs ?? job.everyMs);
  return {
    runOnce,
    async stop() {
      if (stopping.signal.aborted) return;
      stopping.abort(new JobLeaseLost(`${job.name}: stopped`));
      if (timer) clearTimeout(timer);
      await checking;
      await running;
    },
  };
}
