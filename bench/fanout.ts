/**
 * Issue 5, figure 1: fan-out latency. N consoles over 20 locations, each a real user with a
 * grant and a session, connected with its access token; one console per location pushes stop
 * status changes on a fixed schedule; every other console of that location records when the
 * change arrives. Baseline in the same run: a bare Socket.IO room relay with the same clients,
 * schedule and payload size; both servers stay up and measurement alternates between them in
 * blocks. Clients run in separate processes (lib/console-swarm.ts), one swarm per server.
 */
import type { RoleName } from '@depotline/shared';
import { createConsoles, insertLocations, insertRoute, seedStops } from './lib/depot';
import { startBareSocketServer } from './lib/bare-socket-server';
import type { BenchOptions } from './lib/options';
import { progress } from './lib/options';
import { profiled } from './lib/profile';
import { type SectionResult, sectionEntry } from './lib/process';
import { createBenchServer } from './lib/server';
import { round, ratio, sleep, summarize } from './lib/stats';
import { ConsoleSwarm } from './lib/swarm';
import type { FanoutOutcome, FanoutPlan, SwarmConsole } from './lib/swarm-protocol';

export interface FanoutFigure {
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  baseline_p50_ms: number | null;
  baseline_p99_ms: number | null;
  ratio_p99: number | null;
}
export type FanoutFigures = { n100: FanoutFigure; n500: FanoutFigure; n1000: FanoutFigure };

const locations = 20;

/** Console k of a location: k = 0 pushes (dispatcher); the rest are mostly dispatchers, every fourth finance (a second redaction class). */
export const roleOf = (k: number): RoleName => (k > 0 && k % 4 === 3 ? 'finance' : 'dispatcher');

function planFor(quick: boolean) {
  // One round (every location pushes once, 250 ms) at a time, alternating baseline and ours
  // (ABBA...): load from other work on the machine comes and goes within seconds, and this way
  // it lands on both sides alike instead of on whichever happened to be measured.
  return { warmupRounds: 3, blocks: quick ? 10 : 40, roundsPerBlock: 1, periodMs: 250, drainMs: 5000 };
}

interface Side {
  swarm: ConsoleSwarm;
  pushers: FanoutPlan['pushers'];
  latencies: number[];
  expected: number;
  errors: string[];
  /** Next unused stop per pusher (ours needs a fresh `planned` stop for every push). */
  used: number;
}

async function block(side: Side, rounds: number, warmupRounds: number, p: ReturnType<typeof planFor>, measured: boolean): Promise<void> {
  const total = warmupRounds + rounds;
  const plan: FanoutPlan = {
    warmupRounds, rounds, periodMs: p.periodMs, drainMs: p.drainMs,
    pushers: side.pushers.map((x) => ({ ...x, stopIds: x.stopIds.slice(side.used, side.used + total) })),
  };
  side.used += total;
  const outcome: FanoutOutcome = await side.swarm.fanout(plan);
  if (measured) {
    side.latencies.push(...outcome.latenciesMs);
    side.expected += outcome.expected;
  }
  side.errors.push(...outcome.pushErrors);
}

/** Both servers up, both swarms connected; measurement alternates between them. */
async function runN(n: number, quick: boolean) {
  const p = planFor(quick);
  const stopsPerPusher = p.warmupRounds * 2 + p.blocks * p.roundsPerBlock;
  const per = n / locations;
  const bare = await startBareSocketServer();
  const env = await createBenchServer({ kind: 'sqlite' });
  const swarms = [ConsoleSwarm.start(), ConsoleSwarm.start()] as const;
  try {
    const ctx = env.ctx;
    const locationIds = await insertLocations(ctx, locations);
    const creds = await createConsoles(ctx, locationIds.flatMap((locationId) => Array.from({ length: per }, (_, k) => ({ locationId, role: roleOf(k) }))));
    const oursPushers: FanoutPlan['pushers'] = [];
    for (let l = 0; l < locations; l++) {
      const routeId = `route-${l}`;
      await insertRoute(ctx, locationIds[l]!, routeId);
      oursPushers.push({ index: l * per, locationId: locationIds[l]!, stopIds: await seedStops(ctx, locationIds[l]!, routeId, stopsPerPusher, { status: 'planned' }) });
    }
    const running = await env.start();
    const bareConsoles: SwarmConsole[] = creds.map((c) => ({ locationId: c.locationId, token: null }));
    const barePushers = oursPushers.map((x) => ({ ...x, stopIds: x.stopIds.map((id) => `bare-${id}`) }));

    const [b, o] = await Promise.all([swarms[0].connect(bare.url, 'bare', bareConsoles), swarms[1].connect(running.url, 'ours', creds.map((c) => ({ locationId: c.locationId, token: c.token })))]);
    if (b.failed || o.failed) throw new Error(`consoles failed to connect: baseline ${b.failed}, ours ${o.failed}: ${[...b.errors, ...o.errors].join('; ')}`);
    // Let the security watcher's first ticks (which see the fresh grants) pass before measuring.
    await sleep(1500);

    const base: Side = { swarm: swarms[0], pushers: barePushers, latencies: [], expected: 0, errors: [], used: 0 };
    const ours: Side = { swarm: swarms[1], pushers: oursPushers, latencies: [], expected: 0, errors: [], used: 0 };
    await block(base, 0, p.warmupRounds, p, false);
    await block(ours, 0, p.warmupRounds, p, false);
    await profiled(`fanout-n${n}`, async () => {
      for (let i = 0; i < p.blocks; i++) {
        const order = i % 2 === 0 ? [base, ours] : [ours, base];
        for (const side of order) await block(side, p.roundsPerBlock, 0, p, true);
      }
    });
    return { base, ours, connectMs: o.ms };
  } finally {
    for (const s of swarms) {
      await s.disconnect().catch(() => {});
      s.stop();
    }
    await bare.close();
    await env.dispose();
  }
}

export async function run(options: BenchOptions): Promise<SectionResult<FanoutFigures>> {
  const figures = {} as FanoutFigures;
  const meta: Record<string, unknown> = { locations, ...planFor(options.quick), clients: 'two separate processes, one per server (socket.io-client, websocket transport)', server: 'sqlite' };
  for (const n of [100, 500, 1000] as const) {
    progress('fanout', `N=${n}: bare Socket.IO baseline and depotline sync-server, alternating`);
    const { base, ours, connectMs } = await runN(n, options.quick);
    const b = summarize(base.latencies);
    const o = summarize(ours.latencies);
    figures[`n${n}`] = {
      p50_ms: round(o.p50), p99_ms: round(o.p99), max_ms: round(o.max),
      baseline_p50_ms: round(b.p50), baseline_p99_ms: round(b.p99), ratio_p99: ratio(o.p99, b.p99),
    };
    meta[`n${n}`] = {
      samples: o.samples, expected: ours.expected, baseline_samples: b.samples, baseline_expected: base.expected,
      baseline_max_ms: round(b.max), connect_ms: round(connectMs, 0), push_errors: [...ours.errors, ...base.errors].slice(0, 5),
    };
    progress('fanout', `N=${n}: ours p50 ${figures[`n${n}`].p50_ms} p99 ${figures[`n${n}`].p99_ms} ms; baseline p50 ${figures[`n${n}`].baseline_p50_ms} p99 ${figures[`n${n}`].baseline_p99_ms} ms`);
  }
  return { figures, meta };
}

sectionEntry(import.meta.url, run);
