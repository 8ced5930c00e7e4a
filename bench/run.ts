/**
 * `npm run bench` (issue 5): runs every section in its own process, prints ONE JSON object with
 * the figures under the keys of issue 5, and writes it to bench/results/latest.json (run details
 * to latest.meta.json). `npm run bench -- --quick` shrinks each section to stay under two minutes.
 * `--only fanout,memory` runs a subset (the other keys are null). See docs/performance.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApiOrderFigures } from './api-orders';
import type { AuditVerifyFigures } from './audit-verify';
import type { BoardQueryFigures } from './board-query';
import type { CatchupFigures } from './catchup';
import type { FanoutFigure, FanoutFigures } from './fanout';
import type { FanoutClusterFigures } from './fanout-cluster';
import type { ImportFigures } from './import';
import type { MemoryFigures } from './memory';
import type { MemoryRedisFigures } from './memory-redis';
import { type BenchOptions, parseOptions, progress } from './lib/options';
import { startPostgres, type PostgresCluster } from './lib/postgres';
import { benchDir, runSectionProcess, type SectionResult } from './lib/process';
import type { ThroughputFigures } from './throughput';
import type { WebhookFigures } from './webhooks';

export interface BenchResult {
  fanout: FanoutFigures;
  /** Issue 15: 5,000 consoles across 4 server processes on PostgreSQL and Redis behind nginx, against 4 bare relays on the same adapter and nginx. */
  fanout_cluster: FanoutClusterFigures;
  throughput: ThroughputFigures;
  catchup: CatchupFigures;
  board_query: BoardQueryFigures;
  /** Issue 11: 10,000 orders previewed and queued locally in the console's store. */
  order_import: ImportFigures;
  /** Issue 12: orders created per second through the integration API (each with an Idempotency-Key), against the CLI import of the same orders. */
  api_orders: ApiOrderFigures;
  /** Issue 12: webhook deliveries per second to a loopback receiver, and p99 from commit to delivery at 1,000 events/s, against bare signed POSTs. */
  webhooks: WebhookFigures;
  audit_verify_per_s: number | null;
  memory_kb_per_console: number | null;
  /** Issue 15: the same with REDIS_URL set (the Redis streams adapter), as each process of a cluster runs. */
  memory_kb_per_console_redis: number | null;
  machine: { cpu_model: string; cores: number; node: string };
  /** Present only when a figure could not be measured as specified: figure -> why. */
  missing?: Record<string, string>;
}

const minOpenFiles = 8192;

/**
 * 1,000 sockets need ~1,000 descriptors in each of two processes (issue 15's cluster section:
 * 1,250 per client process, ~10,000 in nginx): raise the soft limit, then re-run.
 */
function ensureOpenFileLimit(): void {
  if (process.env.DEPOTLINE_BENCH_NOFILE_RAISED) return;
  const soft = Number(spawnSync('sh', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isFinite(soft) || soft >= minOpenFiles) return;
  const res = spawnSync('sh', ['-c', `ulimit -Sn ${minOpenFiles} 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"; exec "$@"`, 'sh', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, DEPOTLINE_BENCH_NOFILE_RAISED: '1' },
  });
  process.exit(res.status ?? 1);
}

const nullFanout: FanoutFigure = { p50_ms: null, p99_ms: null, max_ms: null, baseline_p50_ms: null, baseline_p99_ms: null, ratio_p99: null };

async function main(): Promise<void> {
  ensureOpenFileLimit();
  const options: BenchOptions = parseOptions(process.argv.slice(2));
  const wanted = (name: string) => options.only.size === 0 || options.only.has(name);
  const started = Date.now();
  const cpus = os.cpus();
  const result: BenchResult = {
    fanout: { n100: nullFanout, n500: nullFanout, n1000: nullFanout },
    fanout_cluster: { consoles: 5000, processes: 4, p50_ms: null, p99_ms: null, max_ms: null, baseline_p50_ms: null, baseline_p99_ms: null, ratio_p99: null },
    throughput: { sqlite_per_s: null, postgres_per_s: null, postgres_sync_commit_per_s: null },
    catchup: { changes: options.quick ? 20_000 : 50_000, ours_s: null, pouchdb_s: null, ratio: null },
    board_query: { sqlcipher_p50_ms: null, sqlite_p50_ms: null, overhead: null },
    order_import: { rows: 10_000, parse_ms: null, preview_ms: null, apply_ms: null, preview_ratio: null, apply_ratio: null },
    api_orders: {
      sqlite_per_s: null, sqlite_batch_per_s: null, sqlite_import_per_s: null, sqlite_ratio: null, sqlite_batch_ratio: null,
      postgres_per_s: null, postgres_batch_per_s: null, postgres_import_per_s: null, postgres_ratio: null, postgres_batch_ratio: null,
    },
    webhooks: {
      sqlite_deliveries_per_s: null, sqlite_p99_ms: null, postgres_deliveries_per_s: null, postgres_p99_ms: null, baseline_posts_per_s: null, baseline_p99_ms: null, ratio_rate: null,
    },
    audit_verify_per_s: null,
    memory_kb_per_console: null,
    memory_kb_per_console_redis: null,
    machine: { cpu_model: cpus[0]?.model.trim() ?? 'unknown', cores: cpus.length, node: process.version },
  };
  const missing: Record<string, string> = {};
  // Load average: other work on the machine moves absolute figures (ratios less so).
  const meta: Record<string, unknown> = { mode: options.quick ? 'quick' : 'full', started_at: new Date(started).toISOString(), commit: gitCommit(), loadavg_start: os.loadavg().map((l) => Math.round(l * 100) / 100), sections: {} };

  let cluster: PostgresCluster | null = null;
  const stopCluster = () => cluster?.stop();
  process.once('SIGINT', () => { stopCluster(); process.exit(130); });
  process.once('SIGTERM', () => { stopCluster(); process.exit(143); });

  // Order: the latency and memory figures first, on a quiet machine.
  const sections: { name: string; file: string; timeoutS: number; apply(r: SectionResult<unknown>): void }[] = [
    { name: 'memory', file: 'memory.ts', timeoutS: 180, apply: (r) => { result.memory_kb_per_console = (r.figures as MemoryFigures).memory_kb_per_console; } },
    { name: 'memory_redis', file: 'memory-redis.ts', timeoutS: 180, apply: (r) => { result.memory_kb_per_console_redis = (r.figures as MemoryRedisFigures).memory_kb_per_console_redis; } },
    { name: 'fanout', file: 'fanout.ts', timeoutS: 600, apply: (r) => { result.fanout = r.figures as FanoutFigures; } },
    // Its own PostgreSQL and Redis (or DEPOTLINE_BENCH_PG_URL / _REDIS_URL), nginx from DEPOTLINE_TEST_NGINX or /usr/sbin.
    { name: 'fanout_cluster', file: 'fanout-cluster.ts', timeoutS: 900, apply: (r) => { result.fanout_cluster = r.figures as FanoutClusterFigures; } },
    { name: 'throughput', file: 'throughput.ts', timeoutS: 400, apply: (r) => { result.throughput = r.figures as ThroughputFigures; } },
    { name: 'catchup', file: 'catchup.ts', timeoutS: 600, apply: (r) => { result.catchup = r.figures as CatchupFigures; } },
    { name: 'board_query', file: 'board-query.ts', timeoutS: 300, apply: (r) => { result.board_query = r.figures as BoardQueryFigures; } },
    { name: 'order_import', file: 'import.ts', timeoutS: 300, apply: (r) => { result.order_import = r.figures as ImportFigures; } },
    { name: 'api_orders', file: 'api-orders.ts', timeoutS: 400, apply: (r) => { result.api_orders = r.figures as ApiOrderFigures; } },
    { name: 'webhooks', file: 'webhooks.ts', timeoutS: 400, apply: (r) => { result.webhooks = r.figures as WebhookFigures; } },
    { name: 'audit_verify', file: 'audit-verify.ts', timeoutS: 300, apply: (r) => { result.audit_verify_per_s = (r.figures as AuditVerifyFigures).audit_verify_per_s; } },
  ];
  try {
    for (const s of sections) {
      if (!wanted(s.name)) continue;
      if (s.name === 'throughput' && !cluster) {
        cluster = await startPostgres().catch((err: unknown) => {
          missing['throughput.postgres_per_s'] = `no PostgreSQL: ${String((err as Error).message)}`;
          return null;
        });
        // Children take the cluster from the environment instead of starting their own.
        if (cluster) process.env.DEPOTLINE_BENCH_PG_URL = cluster.url;
      }
      const t = Date.now();
      progress('run', `${s.name} ...`);
      try {
        const r = await runSectionProcess<unknown>(s.file, options, s.timeoutS * 1000);
        s.apply(r);
        const note = r.meta.missing;
        if (typeof note === 'string') missing[s.name] = note;
        (meta.sections as Record<string, unknown>)[s.name] = { seconds: Math.round((Date.now() - t) / 1000), ...r.meta };
      } catch (err) {
        const message = String((err as Error)?.message ?? err);
        missing[s.name] = /ERR_MODULE_NOT_FOUND|Cannot find module/.test(message) ? `code not present: ${firstLine(message)}` : `failed: ${firstLine(message)}`;
        (meta.sections as Record<string, unknown>)[s.name] = { seconds: Math.round((Date.now() - t) / 1000), error: message };
        progress('run', `${s.name} failed: ${firstLine(message)}`);
      }
    }
  } finally {
    stopCluster();
  }
  if (Object.keys(missing).length > 0) result.missing = missing;
  meta.seconds = Math.round((Date.now() - started) / 1000);
  meta.loadavg_end = os.loadavg().map((l) => Math.round(l * 100) / 100);

  const dir = path.join(benchDir, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(result, null, 2);
  fs.writeFileSync(path.join(dir, 'latest.json'), json + '\n');
  fs.writeFileSync(path.join(dir, 'latest.meta.json'), JSON.stringify(meta, null, 2) + '\n');
  progress('run', `done in ${meta.seconds as number} s; wrote bench/results/latest.json and latest.meta.json`);
  process.stdout.write(json + '\n');
}

function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim())?.trim().slice(0, 300) ?? s;
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: benchDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
