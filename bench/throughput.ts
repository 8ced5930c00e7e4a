/**
 * Issue 5, figure 2: sustained write throughput. 50 consoles (real dispatchers over 20
 * locations, each on its own route) push stop status changes in a closed loop: each sends a
 * push of `batch` mutations, waits for the answers, sends the next. Every mutation is parsed,
 * authorized, checked against the stop state machine, written with its change-log row and its
 * hash-chained audit entry in one transaction, and broadcast live. Counted: mutations answered
 * `applied` inside the measuring window, per second. Once on SQLite, then twice on PostgreSQL:
 * with `synchronous_commit=off` (the cluster's setting, bench/lib/postgres.ts) and with it on
 * (each commit waits for its WAL flush; fsync is on in both).
 */
import fs from 'node:fs';
import { sql } from 'kysely';
import pg from 'pg';
import { createConsoles, insertLocations, insertRoute, seedStops } from './lib/depot';
import { type BenchOptions, progress } from './lib/options';
import { startPostgres } from './lib/postgres';
import { profiled } from './lib/profile';
import { type SectionResult, sectionEntry } from './lib/process';
import { type BenchDatabase, createBenchServer } from './lib/server';
import { round, sleep } from './lib/stats';
import { ConsoleSwarm } from './lib/swarm';
import type { ThroughputOutcome, ThroughputPlan } from './lib/swarm-protocol';

export interface ThroughputFigures {
  sqlite_per_s: number | null;
  postgres_per_s: number | null;
  /** The same on PostgreSQL with synchronous_commit=on. */
  postgres_sync_commit_per_s: number | null;
}

const clients = 50;
const locations = 20;
/** Mutations per push. A console pushes its outbox in batches (docs/sync-protocol.md allows 1-200). */
const batch = 20;
const stopsPerClient = 400;

export interface ThroughputRun extends ThroughputOutcome {
  serverCpuPct: number | null;
  serverCpuMsPerMutation: number | null;
  /** Statements the server sent to PostgreSQL per applied mutation (begin and commit included). */
  statementsPerMutation?: number | null;
  /** CPU the PostgreSQL backends serving the bench database used per applied mutation (from /proc). */
  postgresCpuMsPerMutation?: number | null;
}

/**
 * CPU (ms) used so far by the PostgreSQL backends connected to `database`: each backend's process
 * title names its database (`postgres: <user> <database> <client> ...`). Linux only; null elsewhere.
 * A backend that exits during the phase takes its CPU with it, so the pool's connections must stay
 * open throughout (they do: every connection is busy while the pushers run).
 */
function backendCpuMs(database: string): number | null {
  if (!fs.existsSync('/proc/self/stat')) return null;
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!title.startsWith('postgres: ') || !title.split(' ').includes(database)) continue;
      // Fields after the command name (which may hold spaces, in parentheses): utime is the 14th, stime the 15th.
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
    } catch {
      // the process exited meanwhile
    }
  }
  return total;
}

/**
 * Counts the statements every pg client of this process sends while `phase` runs: the server's
 * round trips to PostgreSQL, the cost that dominates its intake on a machine where each socket
 * write wakes another process.
 */
async function countingStatements<T>(phase: () => Promise<T>): Promise<{ value: T; statements: number }> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  let statements = 0;
  proto.query = function (this: unknown, ...args: unknown[]) {
    statements++;
    return original.apply(this, args);
  };
  try {
    return { value: await phase(), statements };
  } finally {
    proto.query = original;
  }
}

export async function measure(database: BenchDatabase, quick: boolean): Promise<ThroughputRun> {
  const env = await createBenchServer(database);
  const swarm = ConsoleSwarm.start();
  try {
    const ctx = env.ctx;
    const locationIds = await insertLocations(ctx, locations);
    const creds = await createConsoles(ctx, Array.from({ length: clients }, (_, i) => ({ locationId: locationIds[i % locations]!, role: 'dispatcher' as const })), 'pusher');
    const pushers: ThroughputPlan['pushers'] = [];
    for (let i = 0; i < clients; i++) {
      const locationId = creds[i]!.locationId;
      const routeId = `route-c${i}`;
      await insertRoute(ctx, locationId, routeId);
      pushers.push({ index: i, locationId, stopIds: await seedStops(ctx, locationId, routeId, stopsPerClient) });
    }
    const running = await env.start();
    const conn = await swarm.connect(running.url, 'ours', creds.map((c) => ({ locationId: c.locationId, token: c.token })));
    if (conn.failed) throw new Error(`${conn.failed} pushers failed to connect: ${conn.errors.join('; ')}`);
    await sleep(1500);
    const appliedSoFar = async () => Number((await ctx.db.selectFrom('applied_mutations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const applied0 = await appliedSoFar();
    const databaseName = database.kind === 'postgres' ? (await sql<{ name: string }>`select current_database() as name`.execute(ctx.db)).rows[0]!.name : null;
    const pgCpu0 = databaseName ? backendCpuMs(databaseName) : null;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { value: outcome, statements } = await countingStatements(() => profiled(`throughput-${database.kind}`, () =>
      swarm.throughput({ pushers, batch, warmupMs: quick ? 1000 : 2000, durationMs: quick ? 3000 : 10_000 })));
    const cpu = process.cpuUsage(cpu0);
    // Share of one core the server process used while the pushers ran (100 = one core saturated).
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const serverCpuPct = round((cpuMs / (performance.now() - t0)) * 100, 0);
    // Server CPU per mutation over warm-up + window (every mutation applied meanwhile, counted in
    // the database): steadier than the rate on a shared machine.
    const pgCpu1 = databaseName ? backendCpuMs(databaseName) : null;
    const applied = (await appliedSoFar()) - applied0;
    return {
      ...outcome, serverCpuPct, serverCpuMsPerMutation: round(cpuMs / Math.max(1, applied), 3),
      ...(database.kind === 'postgres' ? {
        statementsPerMutation: round(statements / Math.max(1, applied), 2),
        postgresCpuMsPerMutation: pgCpu0 !== null && pgCpu1 !== null ? round((pgCpu1 - pgCpu0) / Math.max(1, applied), 3) : null,
      } : {}),
    };
  } catch (err) {
    progress('throughput', `failed: ${String((err as Error)?.stack ?? err)}`);
    throw err;
  } finally {
    await swarm.disconnect().catch(() => {});
    await sleep(500); // pushes still in flight on the server finish before its database closes
    swarm.stop();
    await env.dispose();
  }
}

const perSecond = (o: ThroughputOutcome) => round(o.applied / (o.windowMs / 1000), 0);

export async function run(options: BenchOptions): Promise<SectionResult<ThroughputFigures>> {
  const meta: Record<string, unknown> = { clients, locations, batch, mutation: 'stop.setStatus' };
  progress('throughput', 'SQLite');
  const sqliteRun = await measure({ kind: 'sqlite' }, options.quick);
  meta.sqlite = sqliteRun;
  progress('throughput', `SQLite: ${perSecond(sqliteRun)}/s`);

  let postgres_per_s: number | null = null;
  let postgres_sync_commit_per_s: number | null = null;
  const cluster = await startPostgres().catch((err: unknown) => {
    meta.postgres = { missing: `no PostgreSQL: ${String((err as Error).message)}` };
    return null;
  });
  if (cluster) {
    try {
      progress('throughput', `PostgreSQL (${cluster.owned ? 'throwaway cluster' : 'DEPOTLINE_BENCH_PG_URL'})`);
      const pgRun = await measure({ kind: 'postgres', clusterUrl: cluster.url }, options.quick);
      meta.postgres = pgRun;
      postgres_per_s = perSecond(pgRun);
      progress('throughput', `PostgreSQL: ${postgres_per_s}/s`);
      // The server's connections ask for synchronous_commit=on at start-up (libpq's `options`).
      const syncUrl = new URL(cluster.url);
      syncUrl.searchParams.set('options', '-c synchronous_commit=on');
      progress('throughput', 'PostgreSQL, synchronous_commit=on');
      const syncRun = await measure({ kind: 'postgres', clusterUrl: syncUrl.toString() }, options.quick);
      meta.postgres_sync_commit = syncRun;
      postgres_sync_commit_per_s = perSecond(syncRun);
      progress('throughput', `PostgreSQL, synchronous_commit=on: ${postgres_sync_commit_per_s}/s`);
    } finally {
      cluster.stop();
    }
  }
  return { figures: { sqlite_per_s: perSecond(sqliteRun), postgres_per_s, postgres_sync_commit_per_s }, meta };
}

sectionEntry(import.meta.url, run);
