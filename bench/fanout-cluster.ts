/**
 * Issue 15: fan-out at cluster scale. 5,000 consoles (one real user each, with a grant and a
 * session) over 50 locations connect through nginx (the production site file,
 * deploy/nginx/depotline.conf) to 4 sync-server processes on one PostgreSQL database and one
 * Redis (the Redis streams adapter carries a change from the process that committed it to the
 * processes holding the other consoles). One console per location pushes a stop status change
 * once per period; every other console of that location records when the change arrives.
 *
 * Baseline in the same run: the same clients, schedule and payload against 4 bare Socket.IO room
 * relays (lib/relay-node.ts) on the same Redis streams adapter behind the same nginx site. Both
 * clusters stay up; measurement alternates between them one round at a time (ABBA). Clients run
 * in several processes per side (lib/console-swarm.ts); latency is the arrival time in one swarm
 * minus the emit time in the pushing swarm (CLOCK_MONOTONIC, one clock for every process).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Cluster } from '../sync-server/test/cluster';
import { createContext } from '../sync-server/src/server';
import { roleOf } from './fanout';
import { createConsoles, insertLocations, insertRoute, seedStops } from './lib/depot';
import { type BenchOptions, progress } from './lib/options';
import { samplePgWaits } from './lib/pg-waits';
import { startPostgres } from './lib/postgres';
import { type SectionResult, sectionEntry } from './lib/process';
import { totalCpuMs } from './lib/proc-cpu';
import { startRedis } from './lib/redis';
import { startRelayCluster } from './lib/relay-cluster';
import { monoMs, ratio, round, sleep, summarize } from './lib/stats';
import { ConsoleSwarm, joinFanoutOutcomes } from './lib/swarm';
import type { FanoutPlan, SwarmConsole, SwarmMode } from './lib/swarm-protocol';

export interface FanoutClusterFigures {
  consoles: number;
  processes: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  baseline_p50_ms: number | null;
  baseline_p99_ms: number | null;
  ratio_p99: number | null;
}

const locations = 50;
const processes = 4;
/** Client processes per side: 1,250 sockets each, so one swarm's share of a location's arrivals is short. */
const swarmsPerSide = 4;
const silentLogger = { error: (msg: string) => process.stderr.write(`[seed] ${msg}\n`), info: () => {}, debug: () => {} };

function planFor(quick: boolean) {
  // Every depot changes one stop per second: 50 changes/s over the cluster, each to 99 other
  // consoles (~5,000 deliveries/s, about the delivery rate of issue 5's N = 1,000 figure).
  // One round per block, alternating the sides (ABBA), as fanout.ts does.
  return { warmupRounds: 2, blocks: quick ? 8 : 30, periodMs: 1000, drainMs: 5000 };
}

function consolesWanted(): number {
  const n = Number(process.env.DEPOTLINE_BENCH_FANOUT_CONSOLES ?? 5000);
  if (!Number.isInteger(n) || n < locations * 2 || n % locations !== 0) throw new Error(`DEPOTLINE_BENCH_FANOUT_CONSOLES must be a multiple of ${locations}, at least ${locations * 2}`);
  return n;
}

/** nginx for the harness: DEPOTLINE_TEST_NGINX when set, else Debian's path or the PATH. */
function nginxPath(): string {
  const known = ['/usr/sbin/nginx', ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'nginx'))];
  const found = process.env.DEPOTLINE_TEST_NGINX ?? known.find((p) => fs.existsSync(p));
  if (!found) throw new Error('nginx not found; run `npm run setup` (installs it) or set DEPOTLINE_TEST_NGINX');
  return found;
}

interface Side {
  mode: SwarmMode;
  swarms: ConsoleSwarm[];
  /** Per swarm: the global console index of each of its consoles. */
  members: number[][];
  latencies: number[];
  /** Ours: emit to the push's acknowledgement (committed), the part of a delivery before the broadcast. */
  acks: number[];
  expected: number;
  errors: string[];
  serverPids: number[];
  serverCpuMs: number;
  measuredMs: number;
  /** Next unused stop per pusher. */
  used: number;
}

interface Pusher {
  index: number;
  locationId: string;
  stopIds: string[];
}

/** Console k goes to swarm k % S (each swarm holds some of every location's consoles). */
function split<T>(items: readonly T[], parts: number): { members: number[][]; items: T[][] } {
  const members = Array.from({ length: parts }, () => [] as number[]);
  items.forEach((_, k) => members[k % parts]!.push(k));
  return { members, items: members.map((m) => m.map((k) => items[k]!)) };
}

async function block(side: Side, pushers: readonly Pusher[], rounds: number, warmupRounds: number, p: ReturnType<typeof planFor>, measured: boolean): Promise<void> {
  const total = warmupRounds + rounds;
  const startAt = monoMs() + 200; // every swarm has its plan before round 0
  const plans: FanoutPlan[] = side.members.map((m) => {
    const local = new Map(m.map((k, i) => [k, i]));
    return {
      warmupRounds, rounds, periodMs: p.periodMs, drainMs: p.drainMs, startAt,
      pushers: pushers.map((x) => ({ index: local.get(x.index) ?? null, locationId: x.locationId, stopIds: x.stopIds.slice(side.used, side.used + total) })),
    };
  });
  side.used += total;
  const cpu0 = totalCpuMs(side.serverPids);
  const t0 = monoMs();
  const outcome = joinFanoutOutcomes(await Promise.all(side.swarms.map((s, i) => s.fanout(plans[i]!))));
  if (measured) {
    side.serverCpuMs += totalCpuMs(side.serverPids) - cpu0;
    side.measuredMs += monoMs() - t0;
    side.latencies.push(...outcome.latenciesMs);
    side.acks.push(...outcome.ackMs);
    side.expected += outcome.expected;
  }
  side.errors.push(...outcome.pushErrors);
}

async function connectSide(side: Side, url: string, specs: SwarmConsole[]): Promise<number> {
  const started = monoMs();
  const parts = split(specs, side.swarms.length);
  const results = await Promise.all(side.swarms.map((s, i) => s.connect(url, side.mode, parts.items[i]!, 20)));
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} ${side.mode} consoles failed to connect: ${results.flatMap((r) => r.errors).slice(0, 5).join('; ')}`);
  return monoMs() - started;
}

export async function run(options: BenchOptions): Promise<SectionResult<FanoutClusterFigures>> {
  const p = planFor(options.quick);
  const n = consolesWanted();
  const per = n / locations;
  const stopsPerPusher = p.warmupRounds * 2 + p.blocks;
  const loadStart = os.loadavg();

  // The harness reads its services from the environment (as under scripts/test.sh).
  const pgServer = await startPostgres();
  const redis = await startRedis();
  process.env.DEPOTLINE_TEST_PG_URL = pgServer.url;
  process.env.DEPOTLINE_TEST_REDIS_URL = redis.url;
  process.env.DEPOTLINE_TEST_NGINX = nginxPath();
  const { startCluster } = await import('../sync-server/test/cluster');

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-bench-fanout-cluster-'));
  const sides: Side[] = [];
  let cluster: Cluster | null = null;
  let relays: Awaited<ReturnType<typeof startRelayCluster>> | null = null;
  try {
    progress('fanout_cluster', `starting ${processes} relay processes and ${processes} sync-server processes (PostgreSQL, Redis), each behind nginx`);
    // Each proxied socket takes two connections in an nginx worker; 9,900 per worker keeps its
    // descriptor limit (2 x connections + 64) under this machine's hard limit of 20,000.
    const nginx = { nginxWorkerProcesses: 'auto' as const, nginxWorkerConnections: 9_900 };
    relays = await startRelayCluster({ nodes: processes, redisUrl: redis.url, redisPrefix: `bench-relay-${process.pid}:`, dir: path.join(workDir, 'relay-nginx'), ...nginx });
    // Tokens last the full 15 minutes: a socket is ended when its access token expires.
    cluster = await startCluster({ nodes: processes, extraEnv: { ACCESS_TOKEN_TTL_S: '900' }, ...nginx });

    progress('fanout_cluster', `seeding ${n} consoles over ${locations} locations`);
    const ctx = await createContext({ ...cluster.env.config, accessTokenTtlS: 900 }, silentLogger);
    let creds: Awaited<ReturnType<typeof createConsoles>>;
    const pushers: Pusher[] = [];
    try {
      const locationIds = await insertLocations(ctx, locations);
      creds = await createConsoles(ctx, locationIds.flatMap((locationId) => Array.from({ length: per }, (_, k) => ({ locationId, role: roleOf(k) }))));
      for (let l = 0; l < locations; l++) {
        const routeId = `route-${l}`;
        await insertRoute(ctx, locationIds[l]!, routeId);
        pushers.push({ index: l * per, locationId: locationIds[l]!, stopIds: await seedStops(ctx, locationIds[l]!, routeId, stopsPerPusher, { status: 'planned' }) });
      }
    } finally {
      await ctx.db.destroy();
    }
    const barePushers = pushers.map((x) => ({ ...x, stopIds: x.stopIds.map((id) => `bare-${id}`) }));

    const newSide = (mode: SwarmMode, serverPids: number[]): Side => {
      const swarms = Array.from({ length: swarmsPerSide }, () => ConsoleSwarm.start());
      return { mode, swarms, members: split(creds, swarmsPerSide).members, latencies: [], acks: [], expected: 0, errors: [], serverPids, serverCpuMs: 0, measuredMs: 0, used: 0 };
    };
    const base = newSide('bare', relays.pids);
    const ours = newSide('ours', cluster.nodes.map((x) => x.pid));
    sides.push(base, ours);
    // Let the security watchers' first ticks over the fresh grants pass before connecting.
    await sleep(2500);
    progress('fanout_cluster', `connecting ${n} consoles to each cluster through nginx (${swarmsPerSide} client processes per side)`);
    const baseConnectMs = await connectSide(base, relays.url, creds.map((c) => ({ locationId: c.locationId, token: null })));
    const oursConnectMs = await connectSide(ours, cluster.url, creds.map((c) => ({ locationId: c.locationId, token: c.token })));
    await sleep(1500);

    await block(base, barePushers, 0, p.warmupRounds, p, false);
    await block(ours, pushers, 0, p.warmupRounds, p, false);
    progress('fanout_cluster', `measuring: ${p.blocks} rounds per side, alternating`);
    // What the database's backends do meanwhile (5 samples a second; the relay rounds add nothing to it).
    const waits = await samplePgWaits(pgServer.url);
    for (let i = 0; i < p.blocks; i++) {
      const order = i % 2 === 0 ? [base, ours] : [ours, base];
      for (const side of order) await block(side, side === base ? barePushers : pushers, 1, 0, p, true);
    }

    const pgWaits = await waits.stop();
    const o = summarize(ours.latencies);
    const b = summarize(base.latencies);
    const figures: FanoutClusterFigures = {
      consoles: n, processes,
      p50_ms: round(o.p50), p99_ms: round(o.p99), max_ms: round(o.max),
      baseline_p50_ms: round(b.p50), baseline_p99_ms: round(b.p99), ratio_p99: ratio(o.p99, b.p99),
    };
    const loadEnd = os.loadavg();
    progress('fanout_cluster', `ours p50 ${figures.p50_ms} p99 ${figures.p99_ms} max ${figures.max_ms} ms; relay p50 ${figures.baseline_p50_ms} p99 ${figures.baseline_p99_ms} ms; ratio ${figures.ratio_p99}; load ${loadEnd.map((x) => x.toFixed(2)).join(' ')}`);
    const deliveries = (s: Side) => s.latencies.length;
    return {
      figures,
      meta: {
        locations, consoles_per_location: per, processes, client_processes_per_side: swarmsPerSide, ...p,
        clients: 'socket.io-client, websocket transport, through nginx (deploy/nginx/depotline.conf, worker_processes auto)',
        server: 'sync-server (src/main.ts) x4 on one PostgreSQL database, Redis streams adapter; baseline: bare relay x4 on the same adapter',
        samples: o.samples, expected: ours.expected, baseline_samples: b.samples, baseline_expected: base.expected, baseline_max_ms: round(b.max),
        push_ack_ms: ((a) => ({ p50: round(a.p50), p99: round(a.p99), max: round(a.max) }))(summarize(ours.acks)),
        connect_ms: round(oursConnectMs, 0), baseline_connect_ms: round(baseConnectMs, 0),
        server_cpu_ms_per_delivery: deliveries(ours) ? round(ours.serverCpuMs / deliveries(ours), 4) : null,
        baseline_cpu_ms_per_delivery: deliveries(base) ? round(base.serverCpuMs / deliveries(base), 4) : null,
        server_cpu_pct_of_one_core: ours.measuredMs ? round((ours.serverCpuMs / ours.measuredMs) * 100, 0) : null,
        baseline_cpu_pct_of_one_core: base.measuredMs ? round((base.serverCpuMs / base.measuredMs) * 100, 0) : null,
        push_errors: [...ours.errors, ...base.errors].slice(0, 5),
        pg_waits: pgWaits,
        loadavg_start: loadStart.map((x) => round(x)), loadavg_end: loadEnd.map((x) => round(x)),
      },
    };
  } catch (err) {
    // What the server processes said last, for a run that failed (a crash, a refused push).
    for (const node of cluster?.nodes ?? []) process.stderr.write(`[node ${node.name}] ...${node.output().slice(-1500)}\n`);
    throw err;
  } finally {
    for (const side of sides) {
      for (const s of side.swarms) {
        await s.disconnect().catch(() => {});
        s.stop();
      }
    }
    await relays?.stop().catch(() => {});
    await cluster?.stop().catch(() => {});
    redis.stop();
    pgServer.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

sectionEntry(import.meta.url, run);
