/**
 * Issue 5, figure 6: server memory per connected idle console. A fresh server process with
 * 1,000 real users seeded; RSS is read (after forced GC) once with a few warm-up connections
 * opened and closed, and again with 1,000 authenticated consoles connected and idle. The
 * difference over 1,000 is the figure. The bare Socket.IO server's per-socket cost is measured
 * the same way for context (meta only).
 *
 * Issue 15: memory-redis.ts measures the same with the Redis streams adapter, in its own process.
 */
import { createConsoles, insertLocations } from './lib/depot';
import { startBareSocketServer } from './lib/bare-socket-server';
import { loadConfig } from '../sync-server/src/config';
import { type BenchOptions, progress } from './lib/options';
import { type SectionResult, sectionEntry } from './lib/process';
import { createBenchServer } from './lib/server';
import { round, sleep } from './lib/stats';
import { ConsoleSwarm } from './lib/swarm';
import type { SwarmConsole } from './lib/swarm-protocol';

export interface MemoryFigures {
  memory_kb_per_console: number | null;
}

const consoles = 1000;
const locations = 20;

async function settledMemory(): Promise<{ rss: number; heapUsed: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await sleep(200);
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

/** Connects `specs` after a warm-up round, returns bytes per connection (RSS and heap). */
async function perConnection(url: string, mode: 'ours' | 'bare', specs: SwarmConsole[], idleMs: number) {
  const swarm = ConsoleSwarm.start();
  try {
    // Warm-up: the first connections load code and grow pools that every later one shares.
    await swarm.connect(url, mode, specs.slice(0, 20));
    await swarm.disconnect();
    const before = await settledMemory();
    const conn = await swarm.connect(url, mode, specs);
    if (conn.failed) throw new Error(`${conn.failed} consoles failed to connect: ${conn.errors.join('; ')}`);
    await sleep(idleMs);
    const after = await settledMemory();
    return { rssPer: (after.rss - before.rss) / conn.ok, heapPer: (after.heapUsed - before.heapUsed) / conn.ok, rssBefore: before.rss, rssAfter: after.rss, connected: conn.ok };
  } finally {
    await swarm.disconnect().catch(() => {});
    swarm.stop();
  }
}

export async function run(options: BenchOptions): Promise<SectionResult<MemoryFigures>> {
  const idleMs = options.quick ? 2000 : 5000;
  progress('memory', `bare Socket.IO: ${consoles} idle sockets`);
  const bare = await startBareSocketServer();
  const baseSpecs = Array.from({ length: consoles }, (_, i) => ({ locationId: `depot-${(i % locations) + 1}`, token: null }));
  const baseline = await perConnection(bare.url, 'bare', baseSpecs, idleMs).finally(() => bare.close());

  progress('memory', `depotline sync-server: ${consoles} idle consoles`);
  const ours = await measureOurs(null, idleMs);
  const kb = ours.rssPer / 1024;
  progress('memory', `ours ${round(kb, 1)} KB/console (heap ${round(ours.heapPer / 1024, 1)} KB); bare ${round(baseline.rssPer / 1024, 1)} KB/socket`);

  return {
    figures: { memory_kb_per_console: round(kb, 1) },
    meta: {
      consoles: ours.connected, idle_ms: idleMs,
      heap_kb_per_console: round(ours.heapPer / 1024, 1),
      rss_before_mb: round(ours.rssBefore / 2 ** 20, 1), rss_after_mb: round(ours.rssAfter / 2 ** 20, 1),
      baseline_kb_per_socket: round(baseline.rssPer / 1024, 1), baseline_heap_kb_per_socket: round(baseline.heapPer / 1024, 1),
    },
  };
}

/** A fresh server in this process (Redis streams adapter when `redisUrl` is given), 1,000 users, their consoles connected. */
export async function measureOurs(redisUrl: string | null, idleMs: number) {
  const base = loadConfig({});
  const env = await createBenchServer({ kind: 'sqlite' }, redisUrl
    ? { rateLimits: { ...base.rateLimits, redis: { url: redisUrl, tlsCaFile: null }, keyPrefix: `bench-memory-${process.pid}:` } }
    : {});
  try {
    const ids = await insertLocations(env.ctx, locations);
    const creds = await createConsoles(env.ctx, Array.from({ length: consoles }, (_, i) => ({ locationId: ids[i % locations]!, role: 'dispatcher' as const })));
    const running = await env.start();
    // Which adapter the server's namespace runs (the figure is meant to include the streams adapter).
    const adapter = running.io.of('/').adapter.constructor.name;
    if (redisUrl && adapter === 'Adapter') throw new Error('REDIS_URL was set but the server runs the in-memory adapter');
    await sleep(2500); // past the security watcher's look-back over the fresh grants
    const measured = await perConnection(running.url, 'ours', creds.map((c) => ({ locationId: c.locationId, token: c.token })), idleMs);
    return { ...measured, adapter };
  } finally {
    await env.dispose();
  }
}

sectionEntry(import.meta.url, run);
