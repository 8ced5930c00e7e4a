/**
 * Scheduled jobs across real server processes (`src/main.ts`, as an operator runs them): three
 * processes on one PostgreSQL database run each scheduled run in exactly one of them, and when
 * the process holding a job's lease is killed with SIGKILL in the middle of a run, another
 * carries the run on once the lease has expired. The job watched is audit checkpoint signing,
 * whose period is a setting (here 1 s); the lease is 2 s (DEPOTLINE_JOB_LEASE_S).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointJob } from '../src/audit/checkpoints';
import type { ServerContext } from '../src/context';
import { runAdminJson } from './admin-cli';
import { appendSampleEntries } from './audit-chain';
import { type Cluster, startCluster, testRedisUrl } from './cluster';
import { createTestContext } from './harness';

const skipped = testRedisUrl ? '' : ' (SKIPPED: DEPOTLINE_TEST_REDIS_URL is not set; run through `npm test`)';
const leaseMs = 2000;
const everyMs = 1000;

interface RunLine { job: string; holder: string; startedAt: number }

/** The `scheduled job run` debug lines every node printed. */
function runLines(cluster: Cluster, job: string): (RunLine & { node: string })[] {
  return cluster.nodes.flatMap((node) => node.output().split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"scheduled job run"'))
    .map((l) => ({ ...(JSON.parse(l) as RunLine), node: node.name }))
    .filter((r) => r.job === job));
}

/** The process id in a holder name (`job:host:pid:random`). */
const pidOf = (holder: string) => Number(holder.split(':').at(-2));

describe.skipIf(!testRedisUrl)(`scheduled jobs across three server processes${skipped}`, () => {
  let cluster: Cluster;
  let ctx: ServerContext;
  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      nginx: false,
      extraEnv: { DEPOTLINE_JOB_LEASE_S: String(leaseMs / 1000), DEPOTLINE_CHECKPOINT_INTERVAL_S: String(everyMs / 1000), LOG_LEVEL: 'debug' },
    });
    ctx = await createTestContext(cluster.env);
  }, 120_000);
  afterAll(async () => {
    await ctx?.db.destroy();
    await cluster?.stop();
  });

  it('each run happens in exactly one process, one period after the one before, whichever process ran that', async () => {
    await appendSampleEntries(ctx.db, 3);
    await expect.poll(() => runLines(cluster, checkpointJob).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(6);
    const runs = runLines(cluster, checkpointJob).sort((a, b) => a.startedAt - b.startedAt);
    // Three processes looking, one run per period: never two runs (in any processes) less than a period apart.
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.startedAt - runs[i - 1]!.startedAt).toBeGreaterThanOrEqual(everyMs);
    // Each process printed only runs of its own holder.
    for (const r of runs) expect(cluster.nodes.find((n) => n.name === r.node)!.pid).toBe(pidOf(r.holder));
    // Every checkpoint signed by exactly one process: as many signings as register rows.
    const signed = cluster.nodes.flatMap((n) => n.output().split('\n').filter((l) => l.includes('"audit checkpoint signed"')));
    const rows = await ctx.db.selectFrom('audit_checkpoints').select('size').execute();
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(signed).toHaveLength(rows.length);
  });

  it('SIGKILL of the holder mid-run: another process carries the run on once the lease expired, and the checkpoint is signed once', async () => {
    // Each run that finds the head moved is held up at the register (a table lock a test holds),
    // after it wrote the checkpoint file: a run in progress, as a slow purge batch would be.
    const registered = async () => (await ctx.db.selectFrom('audit_checkpoints').select('size').execute()).length;
    const before = await registered();
    const blocker = new pg.Client({ connectionString: cluster.env.databaseUrl! });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table audit_checkpoints in exclusive mode');
      await appendSampleEntries(ctx.db, 2);
      const waiting = async () => Number((await blocker.query<{ n: string }>(
        `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)).rows[0]!.n);
      const latestRun = () => ctx.db.selectFrom('job_runs').selectAll().where('name', '=', checkpointJob).executeTakeFirstOrThrow();
      await expect.poll(waiting, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
      const stuck = await latestRun();
      expect(stuck.finished_at).toBeNull();
      const victim = cluster.nodes.find((n) => n.pid === pidOf(stuck.holder))!;
      const lease = await ctx.db.selectFrom('job_leases').selectAll().where('name', '=', checkpointJob).executeTakeFirstOrThrow();
      expect(lease.holder).toBe(stuck.holder);

      const killedAt = Date.now();
      await victim.kill('SIGKILL');
      // Another process takes the job over and starts the run again (held up at the lock as well).
      await expect.poll(async () => (await latestRun()).holder, { timeout: 20_000 }).not.toBe(stuck.holder);
      const taken = await latestRun();
      const heir = cluster.nodes.find((n) => n.pid === pidOf(taken.holder))!;
      expect(heir.name).not.toBe(victim.name);
      // Not before the dead holder's lease ran out, and within a lease and one look (a third of a
      // lease) after the kill; the bound is doubled for a loaded machine, still far below what an
      // hourly job's lease used to stand for (two hours).
      expect(Number(taken.started_at)).toBeGreaterThanOrEqual(Number(lease.expires_at));
      expect(Number(taken.started_at) - killedAt).toBeLessThan(2 * (leaseMs + leaseMs / 3));
      expect(heir.output()).toContain(`"previous":"${stuck.holder}"`);

      await blocker.query('commit');
      await expect.poll(async () => (await latestRun()).finished_at, { timeout: 20_000 }).not.toBeNull();
    } finally {
      await blocker.end();
    }
    // The file the dead process wrote is in the register once, and the log and checkpoints verify.
    expect(await registered()).toBe(before + 1);
    const verified = await runAdminJson(cluster.env, ['audit', 'verify']);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });
});
