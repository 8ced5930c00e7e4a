import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';
import { holdJobLease, jobLeaseHolder, releaseJobLease } from './job-leases';

/** One process runs a scheduled job at a time; another takes it over once the holder stops renewing. */
describe.each(backends)('job leases (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  beforeAll(async () => {
    env = await createTestEnv(backend);
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
});
