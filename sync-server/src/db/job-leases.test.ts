import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClock } from '../../test/factories';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';
import { holdJobLease, jobDueAt, jobLeaseHolder, releaseJobLease, startLeasedJob, withJobLease } from './job-leases';

/**
 * Holds the answer to the first read of `job_runs` (the schedule's "is it due?") until released:
 * what a busy event loop, a GC pause or a slow round trip does to a loaded process between reading
 * that a job is due and taking its lease.
 */
class HoldFirstDueRead implements KyselyPlugin {
  private readonly reads = new WeakSet<object>();
  private held = false;
  private onRead!: () => void;
  readonly wasRead = new Promise<void>((resolve) => { this.onRead = resolve; });
  release!: () => void;
  private readonly gate = new Promise<void>((resolve) => { this.release = resolve; });
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind === 'SelectQueryNode' && JSON.stringify(args.node).includes('"job_runs"')) this.reads.add(args.queryId);
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (!this.held && this.reads.has(args.queryId)) {
      this.held = true;
      this.onRead();
      await this.gate;
    }
    return args.result;
  }
}

/** One process runs a scheduled job at a time; another takes it over once the holder stops renewing. */
describe.each(backends)('job leases (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  beforeAll(async () => {
    // A short lease (a beat every 500 ms) so handovers happen within the test.
    env = await createTestEnv(backend, { jobLeaseMs: 1500 });
    ctx = await createTestContext(env);
  });
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  it('is held by one holder, renewed by it, taken over after it expires, and handed back on release', async () => {
    const t = 1_000_000;
    expect(await holdJobLease(ctx.db, 'job-a', 'one', t, 10_000)).toBe(true);
    expect(await holdJobLease(ctx.db, 'job-a', 'two', t + 1, 10_000)).toBe(false);
    // Renewed by its holder: still out of reach past the first expiry.
    expect(await holdJobLease(ctx.db, 'job-a', 'one', t + 9_000, 10_000)).toBe(true);
    expect(await holdJobLease(ctx.db, 'job-a', 'two', t + 12_000, 10_000)).toBe(false);
    expect(await jobLeaseHolder(ctx.db, 'job-a', t + 12_000)).toEqual({ holder: 'one', expiresAt: t + 19_000 });
    // The holder died: once its lease ran out, another takes the job.
    expect(await holdJobLease(ctx.db, 'job-a', 'two', t + 19_000, 10_000)).toBe(true);
    expect(await holdJobLease(ctx.db, 'job-a', 'one', t + 19_001, 10_000)).toBe(false);
    // Other jobs are leased apart.
    expect(await holdJobLease(ctx.db, 'job-b', 'one', t + 19_001, 10_000)).toBe(true);
    // Released: free at once, and a stale holder's release takes nothing from the new one.
    await releaseJobLease(ctx.db, 'job-a', 'one');
    expect(await jobLeaseHolder(ctx.db, 'job-a', t + 19_002)).toMatchObject({ holder: 'two' });
    await releaseJobLease(ctx.db, 'job-a', 'two');
    expect(await jobLeaseHolder(ctx.db, 'job-a', t + 19_002)).toBeNull();
    expect(await holdJobLease(ctx.db, 'job-a', 'one', t + 19_003, 10_000)).toBe(true);
  });

  it('two processes racing for a free lease: exactly one wins', async () => {
    const results = await Promise.all(['p1', 'p2', 'p3', 'p4'].map((h) => holdJobLease(ctx.db, 'job-race', h, 5_000_000, 10_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('three processes on one schedule: each run in exactly one of them, never two at once, a period apart', async () => {
    const runs: { job: number; start: number; end: number }[] = [];
    // Three holders on one database, as three server processes would be.
    const jobs = [0, 1, 2].map((job) => startLeasedJob(ctx, { name: 'job-shared', everyMs: 300, firstAfterMs: 0, failure: 'test job failed' }, async (now) => {
      const start = Date.now();
      await new Promise((r) => setTimeout(r, 20));
      runs.push({ job, start: now, end: Date.now() });
      return start;
    }));
    try {
      await expect.poll(() => runs.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(5);
    } finally {
      await Promise.all(jobs.map((j) => j.stop()));
    }
    const ordered = [...runs].sort((a, b) => a.start - b.start);
    for (let i = 1; i < ordered.length; i++) {
      // Due one period after the latest start, in whichever process: never early, never overlapping.
      expect(ordered[i]!.start - ordered[i - 1]!.start).toBeGreaterThanOrEqual(300);
      expect(ordered[i]!.start).toBeGreaterThanOrEqual(ordered[i - 1]!.end);
    }
    // Stopped: every lease handed back.
    expect(await jobLeaseHolder(ctx.db, 'job-shared', Date.now())).toBeNull();
  });

  it('what is due across a handover: one period after the latest start, at once when that run did not finish', async () => {
    expect(await jobDueAt(ctx.db, 'job-due', 60_000)).toBe(0);
    await ctx.db.insertInto('job_runs').values({ name: 'job-due', holder: 'gone', started_at: 5_000_000, finished_at: 5_000_900 }).execute();
    expect(await jobDueAt(ctx.db, 'job-due', 60_000)).toBe(5_060_000);
    await ctx.db.updateTable('job_runs').set({ finished_at: null }).where('name', '=', 'job-due').execute();
    expect(await jobDueAt(ctx.db, 'job-due', 60_000)).toBe(0);
  });

  it('a holder that died mid-run: another process carries the run on once its lease has expired, not before', async () => {
    const died = Date.now();
    await ctx.db.insertInto('job_runs').values({ name: 'job-dead', holder: 'dead', started_at: died - 100, finished_at: null }).execute();
    expect(await holdJobLease(ctx.db, 'job-dead', 'dead', died, 1500)).toBe(true);
    const runs: number[] = [];
    const job = startLeasedJob(ctx, { name: 'job-dead', everyMs: 3_600_000, firstAfterMs: 0, failure: 'test job failed' }, (now) => {
      runs.push(now);
      return Promise.resolve(now);
    });
    try {
      await expect.poll(() => runs.length, { timeout: 10_000 }).toBe(1);
    } finally {
      await job.stop();
    }
    expect(runs[0]).toBeGreaterThanOrEqual(died + 1500);
    const row = await ctx.db.selectFrom('job_runs').selectAll().where('name', '=', 'job-dead').executeTakeFirstOrThrow();
    expect(row.holder).not.toBe('dead');
    expect(Number(row.started_at)).toBe(runs[0]);
    expect(row.finished_at).not.toBeNull();
  });

  it('a holder that loses its lease stops at once: paused past its renewals, or the lease taken by another', async () => {
    // Paused: its clock moves two thirds of the lease with no renewal in between.
    const clock = testClock(Date.now());
    const paused = { ...ctx, now: clock.now };
    const pausedRun = await withJobLease(paused, 'job-paused', 'sleeper', (lease) => {
      expect(lease.held()).toBe(true);
      clock.advance(1000);
      return Promise.resolve({ held: lease.held(), aborted: lease.signal.aborted });
    });
    expect(pausedRun).toEqual({ held: false, aborted: true });

    // Taken: the next heartbeat finds another holder (here written by hand), and the run's signal aborts.
    const stolen = await withJobLease(ctx, 'job-stolen', 'victim', async (lease) => {
      await ctx.db.updateTable('job_leases').set({ holder: 'thief', expires_at: Date.now() + 60_000 }).where('name', '=', 'job-stolen').execute();
      await new Promise((resolve) => lease.signal.addEventListener('abort', resolve, { once: true }));
      return lease.held();
    });
    expect(stolen).toBe(false);
    // Its end does not hand back what the thief holds.
    expect(await jobLeaseHolder(ctx.db, 'job-stolen', Date.now())).toMatchObject({ holder: 'thief' });
  });

  it('a clean stop aborts the run, hands the lease back, and the next process carries the run on at once', async () => {
    // A lease far longer than the test: the second process must not be waiting for it to expire.
    const longLease = { ...ctx, config: { ...ctx.config, jobLeaseMs: 120_000 } };
    let started = false;
    const first = startLeasedJob(longLease, { name: 'job-stopped', everyMs: 3_600_000, firstAfterMs: 0, failure: 'test job failed' }, async (_now, lease) => {
      started = true;
      await new Promise((resolve) => lease.signal.addEventListener('abort', resolve, { once: true }));
      lease.signal.throwIfAborted();
      return 'first';
    });
    await expect.poll(() => started, { timeout: 10_000 }).toBe(true);
    await first.stop();
    expect(await jobLeaseHolder(ctx.db, 'job-stopped', Date.now())).toBeNull();
    expect(await ctx.db.selectFrom('job_runs').select('finished_at').where('name', '=', 'job-stopped').executeTakeFirstOrThrow()).toEqual({ finished_at: null });

    const done: string[] = [];
    const second = startLeasedJob(longLease, { name: 'job-stopped', everyMs: 3_600_000, firstAfterMs: 0, failure: 'test job failed' }, () => {
      done.push('second');
      return Promise.resolve('second');
    });
    try {
      await expect.poll(() => done, { timeout: 10_000 }).toEqual(['second']);
    } finally {
      await second.stop();
    }
    expect(await ctx.db.selectFrom('job_runs').select('finished_at').where('name', '=', 'job-stopped').executeTakeFirstOrThrow()).not.toEqual({ finished_at: null });
  });

  it('a process that found the job due while another ran it does not run it again in that period', async () => {
    // Process B (its own connections, as another server process) reads "due": never run. Its
    // answer is held until process A has run the job, marked it finished and handed the lease back.
    const hold = new HoldFirstDueRead();
    const other = await createTestContext(env);
    const seen: string[] = [];
    const b = { ...other, db: other.db.withPlugin(hold), log: { ...other.log, debug: (msg: string) => { seen.push(msg); } } };
    const runs: string[] = [];
    const hourly = { name: 'job-hourly-race', everyMs: 3_600_000, firstAfterMs: 0, failure: 'test job failed' };
    const jobB = startLeasedJob(b, hourly, () => Promise.resolve(runs.push('B')));
    let jobA: ReturnType<typeof startLeasedJob> | null = null;
    try {
      await hold.wasRead;
      jobA = startLeasedJob(ctx, hourly, () => Promise.resolve(runs.push('A')));
      await expect.poll(async () => {
        const row = await ctx.db.selectFrom('job_runs').select('finished_at').where('name', '=', hourly.name).executeTakeFirst();
        return row?.finished_at != null && (await jobLeaseHolder(ctx.db, hourly.name, Date.now())) === null;
      }, { timeout: 10_000 }).toBe(true);
      expect(runs).toEqual(['A']);
      // B acts on its stale "due": it takes the free lease, but the run is no longer due under it.
      hold.release();
      await expect.poll(() => runs.length > 1 || seen.includes('scheduled job not run: another process ran it since it was found due'), { timeout: 10_000 }).toBe(true);
    } finally {
      hold.release();
      await Promise.all([jobA?.stop(), jobB.stop()]);
      await other.db.destroy();
    }
    expect(runs).toEqual(['A']);
  });

  it('a process stopping while it finds the job due starts no run (which would leave it unfinished, due at once everywhere)', async () => {
    const hold = new HoldFirstDueRead();
    const other = await createTestContext(env);
    const b = { ...other, db: other.db.withPlugin(hold) };
    const runs: string[] = [];
    const job = startLeasedJob(b, { name: 'job-stopping', everyMs: 3_600_000, firstAfterMs: 0, failure: 'test job failed' }, () => Promise.resolve(runs.push('B')));
    try {
      await hold.wasRead;
      // The process stops while its "is it due?" answer (yes) is on its way.
      const stopped = job.stop();
      hold.release();
      await stopped;
    } finally {
      hold.release();
      await other.db.destroy();
    }
    expect(runs).toEqual([]);
    expect(await ctx.db.selectFrom('job_runs').selectAll().where('name', '=', 'job-stopping').executeTakeFirst()).toBeUndefined();
    expect(await jobLeaseHolder(ctx.db, 'job-stopping', Date.now())).toBeNull();
  });
});
