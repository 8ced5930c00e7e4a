/**
 * Issue 15: server memory per idle console with the Redis streams adapter. memory.ts's
 * measurement (a fresh server, 1,000 real users, RSS after forced GC before and after their
 * consoles connect and idle) with REDIS_URL set, so the server runs the adapter's stream reader,
 * subscriber and publisher and the shared limits, as every process of a cluster does. Its own
 * process: a server measured earlier in the same heap leaves memory behind that the next
 * measurement's "before" would count. Redis is DEPOTLINE_BENCH_REDIS_URL's, else a throwaway one.
 */
import { measureOurs } from './memory';
import { type BenchOptions, progress } from './lib/options';
import { type SectionResult, sectionEntry } from './lib/process';
import { startRedis } from './lib/redis';
import { round } from './lib/stats';

export interface MemoryRedisFigures {
  memory_kb_per_console_redis: number | null;
}

export async function run(options: BenchOptions): Promise<SectionResult<MemoryRedisFigures>> {
  const idleMs = options.quick ? 2000 : 5000;
  const redis = await startRedis();
  try {
    progress('memory_redis', 'depotline sync-server with the Redis streams adapter: 1000 idle consoles');
    const m = await measureOurs(redis.url, idleMs);
    const kb = m.rssPer / 1024;
    progress('memory_redis', `${round(kb, 1)} KB/console (heap ${round(m.heapPer / 1024, 1)} KB), adapter ${m.adapter}`);
    return {
      figures: { memory_kb_per_console_redis: round(kb, 1) },
      meta: {
        adapter: m.adapter, consoles: m.connected, idle_ms: idleMs, heap_kb_per_console: round(m.heapPer / 1024, 1),
        rss_before_mb: round(m.rssBefore / 2 ** 20, 1), rss_after_mb: round(m.rssAfter / 2 ** 20, 1),
      },
    };
  } finally {
    redis.stop();
  }
}

sectionEntry(import.meta.url, run);
