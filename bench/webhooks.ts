/**
 * Issue 12: webhook deliveries per second to a loopback receiver, and the time from a change's
 * commit to its delivery at a steady 1,000 events/s (target p99 <= 500 ms).
 *
 * The real server (createContext + startServer, so the worker runs under its lease as in
 * production, default poll and concurrency) with a courier integration subscribed to
 * `stop.status_changed`. Events are queued by `enqueueWebhookEvents` in transactions of 10, as a
 * push of 10 status changes queues them; the commit time is taken when the transaction resolves.
 * Each delivery is built at send time (the stop read and decrypted, cut to the profile), signed,
 * POSTed over keep-alive HTTP through the SSRF guard, and recorded (attempt row, delivery
 * delivered). The receiver is a separate process: it answers 204 and reports when each
 * `webhook-id` arrived (wall clock, sub-millisecond, comparable across processes).
 *
 * - throughput: a backlog of N events queued at once, delivered as fast as the worker goes;
 *   deliveries/s over the time to deliver them all.
 * - latency: events at 1,000/s for a window after a warm-up; p50/p99/max of arrival - commit.
 *
 * Baseline, in the same run and against the same receiver: bare signed POSTs (the same body size
 * and headers, the same concurrency, the same keep-alive agent settings) sent straight from the
 * process, no database: its rate, and its latency from "commit" (the moment it is due) at the
 * same 1,000/s. The ratios say what the outbox, the worker and the recording cost.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { IntegrationCreate } from '@depotline/shared';
import type { Granter } from '../sync-server/src/access/authority';
import { applyIntegrationCreate } from '../sync-server/src/integrations/registry';
import type { ServerContext } from '../sync-server/src/context';
import { type DomainEvent, enqueueWebhookEvents } from '../sync-server/src/webhooks/outbox';
import { signWebhook, newWebhookMessageId } from '../sync-server/src/webhooks/signing';
import { createSubscription } from '../sync-server/src/webhooks/subscriptions';
import { insertLocations, insertRoute, seedStops } from './lib/depot';
import { type BenchOptions, progress } from './lib/options';
import { startPostgres } from './lib/postgres';
import { type SectionResult, sectionEntry } from './lib/process';
import { type BenchDatabase, createBenchServer } from './lib/server';
import { ratio, round, sleep, summarize } from './lib/stats';

export interface WebhookFigures {
  sqlite_deliveries_per_s: number | null;
  sqlite_p99_ms: number | null;
  postgres_deliveries_per_s: number | null;
  postgres_p99_ms: number | null;
  /** Bare signed POSTs to the same receiver, same concurrency (no outbox). */
  baseline_posts_per_s: number | null;
  baseline_p99_ms: number | null;
  /** Our rate / baseline rate (SQLite). */
  ratio_rate: number | null;
}

const operator: Granter = { kind: 'operator', actor: { userId: null, label: 'cli:bench', deviceId: null, ip: null } };
const wallMs = () => performance.timeOrigin + performance.now();
const eventsPerTx = 10;

/** The receiver: a plain Node HTTP server in its own process; reports arrivals over IPC on request. */
const receiverCode = `
const http = require('node:http');
const arrivals = new Map();
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    const id = req.headers['webhook-id'];
    if (id && !arrivals.has(id)) arrivals.set(id, performance.timeOrigin + performance.now());
    res.writeHead(204); res.end();
  });
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => process.send({ kind: 'port', port: server.address().port }));
process.on('message', (m) => {
  if (m.kind === 'arrivals') process.send({ kind: 'arrivals', arrivals: [...arrivals] });
  if (m.kind === 'clear') { arrivals.clear(); process.send({ kind: 'cleared' }); }
  if (m.kind === 'stop') server.close(() => process.exit(0));
});
`;

interface ReceiverProcess {
  port: number;
  arrivals(): Promise<Map<string, number>>;
  clear(): Promise<void>;
  stop(): void;
}

async function startReceiverProcess(): Promise<ReceiverProcess> {
  const child = spawn(process.execPath, ['--input-type=commonjs', '-e', receiverCode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(kind: string, answer: string) => new Promise<T>((resolve) => {
    const on = (m: { kind: string } & T) => {
      if (m.kind !== answer) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send({ kind });
  });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  return {
    port,
    arrivals: async () => new Map((await ask<{ arrivals: [string, number][] }>('arrivals', 'arrivals')).arrivals),
    clear: async () => void (await ask('clear', 'cleared')),
    stop: () => child.send({ kind: 'stop' }),
  };
}

async function waitForAll(receiver: ReceiverProcess, ids: readonly string[], timeoutMs: number): Promise<Map<string, number>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const arrivals = await receiver.arrivals();
    if (ids.every((id) => arrivals.has(id)) || Date.now() > end) return arrivals;
    await sleep(50);
  }
}

/** Queues `count` events in transactions of `perTx`; returns each delivery's id with its commit time. */
async function queueEvents(ctx: ServerContext, locationId: string, stopIds: readonly string[], count: number, offset: number, perTx = eventsPerTx): Promise<Map<string, number>> {
  const committed = new Map<string, number>();
  for (let i = 0; i < count; i += perTx) {
    const events: DomainEvent[] = Array.from({ length: Math.min(perTx, count - i) }, (_, k) => ({
      type: 'stop.status_changed', locationId, stopId: stopIds[(offset + i + k) % stopIds.length]!, occurredAt: Date.now(), data: { from: 'planned', to: 'en_route' },
    }));
    const ids = await ctx.db.transaction().execute((trx) => enqueueWebhookEvents(trx, ctx, events));
    const at = wallMs();
    for (const id of ids) committed.set(id, at);
  }
  return committed;
}

async function measure(database: BenchDatabase, receiver: ReceiverProcess, quick: boolean): Promise<{ perS: number; latency: ReturnType<typeof summarize>; meta: Record<string, unknown> }> {
  const env = await createBenchServer(database);
  env.ctx.config = { ...env.ctx.config, webhooks: { ...env.ctx.config.webhooks, allowLoopback: true } };
  try {
    const ctx = env.ctx;
    const [locationId] = await insertLocations(ctx, 1) as [string];
    await insertRoute(ctx, locationId, 'route-wh');
    const stopIds = await seedStops(ctx, locationId, 'route-wh', 200);
    await ctx.db.transaction().execute(async (trx) => {
      const integration = await applyIntegrationCreate(trx, operator, IntegrationCreate.parse({
        name: 'bench-courier', kind: 'courier', contact: 'bench@example.test', orderVisibility: 'location', scopes: [{ locationId, permissions: ['status.read'] }],
      }), ctx.now());
      return (await createSubscription(ctx, trx, operator.actor, integration, { url: `http://127.0.0.1:${receiver.port}/hooks`, events: ['stop.status_changed'] }, ctx.now()));
    });
    await env.start();

    // Throughput: a backlog committed at once, then the time until the receiver has every id.
    const backlog = quick ? 2000 : 20_000;
    await receiver.clear();
    const queued = await queueEvents(ctx, locationId, stopIds, backlog, 0, backlog);
    const t0 = Math.min(...queued.values());
    const arrivals = await waitForAll(receiver, [...queued.keys()], 120_000);
    const lastArrival = Math.max(...[...queued.keys()].map((id) => arrivals.get(id) ?? Number.NaN));
    const perS = round(backlog / ((lastArrival - t0) / 1000), 0)!;

    // Latency at a steady 1,000 events/s: 10 per transaction every 10 ms, on a schedule (not closed loop).
    await receiver.clear();
    const warmupMs = 1000;
    const windowMs = quick ? 3000 : 10_000;
    const committed = new Map<string, number>();
    const start = wallMs();
    const producing: Promise<void>[] = [];
    let tick = 0;
    // Open loop: a transaction starts when it is due, whether or not the previous one has committed.
    while (wallMs() - start < warmupMs + windowMs) {
      const due = start + tick * 10;
      const wait = due - wallMs();
      if (wait > 0) await sleep(wait);
      producing.push(queueEvents(ctx, locationId, stopIds, eventsPerTx, tick * eventsPerTx).then((batch) => {
        if (due - start >= warmupMs) for (const [id, at] of batch) committed.set(id, at);
      }));
      tick++;
    }
    await Promise.all(producing);
    const achievedPerS = round((tick * eventsPerTx) / ((wallMs() - start) / 1000), 0);
    const got = await waitForAll(receiver, [...committed.keys()], 60_000);
    const latencies = [...committed].flatMap(([id, at]) => (got.has(id) ? [got.get(id)! - at] : []));
    const latency = summarize(latencies);
    const meta = {
      backlog, backlog_seconds: round((lastArrival - t0) / 1000, 2), rate_target_per_s: 1000, rate_achieved_per_s: achievedPerS, window_ms: windowMs,
      delivered_in_window: latencies.length, queued_in_window: committed.size, latency_ms: { p50: round(latency.p50, 1), p99: round(latency.p99, 1), max: round(latency.max, 1) },
      worker: { concurrency: ctx.config.webhooks.concurrency, poll_ms: ctx.config.webhooks.pollMs },
    };
    return { perS, latency, meta };
  } finally {
    await env.dispose();
  }
}

/** The baseline: signed POSTs straight to the receiver, same concurrency and agent settings, no database. */
async function baseline(receiver: ReceiverProcess, quick: boolean, concurrency: number): Promise<{ perS: number; latency: ReturnType<typeof summarize> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const secret = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
  const body = JSON.stringify({ type: 'stop.status_changed', timestamp: new Date().toISOString(), data: { locationId: 'depot-01', stopId: 'x'.repeat(36), from: 'planned', to: 'en_route', stop: { id: 'x'.repeat(36), orderRef: 'ORD-1', status: 'en_route', timeWindow: { start: 0, end: 0 }, address: '1 Bench Street, Kiel' } } });
  const post = () => new Promise<void>((resolve, reject) => {
    const id = newWebhookMessageId();
    const req = http.request({ host: '127.0.0.1', port: receiver.port, path: '/hooks', method: 'POST', agent, headers: { 'content-type': 'application/json', ...signWebhook(id, Math.floor(Date.now() / 1000), body, [secret]) } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(body);
  });
  const count = quick ? 2000 : 20_000;
  let next = 0;
  const t0 = wallMs();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < count) await post();
  }));
  const perS = round(count / ((wallMs() - t0) / 1000), 0)!;
  // Latency at 1,000/s: each POST starts when it is due.
  const latencies: number[] = [];
  const windowMs = quick ? 3000 : 10_000;
  const start = wallMs();
  const inFlight: Promise<void>[] = [];
  for (let tick = 0; wallMs() - start < windowMs; tick++) {
    const due = start + tick * 10;
    const wait = due - wallMs();
    if (wait > 0) await sleep(wait);
    for (let k = 0; k < eventsPerTx; k++) inFlight.push(post().then(() => void latencies.push(wallMs() - due)));
  }
  await Promise.all(inFlight);
  agent.destroy();
  return { perS, latency: summarize(latencies) };
}

export async function run(options: BenchOptions): Promise<SectionResult<WebhookFigures>> {
  const meta: Record<string, unknown> = { events: 'stop.status_changed, 10 per transaction', receiver: 'separate process, 204', baseline: 'bare signed POSTs, same receiver and concurrency' };
  const receiver = await startReceiverProcess();
  try {
    const figures: WebhookFigures = {
      sqlite_deliveries_per_s: null, sqlite_p99_ms: null, postgres_deliveries_per_s: null, postgres_p99_ms: null,
      baseline_posts_per_s: null, baseline_p99_ms: null, ratio_rate: null,
    };
    progress('webhooks', 'baseline: bare signed POSTs');
    const base = await baseline(receiver, options.quick, 32);
    figures.baseline_posts_per_s = base.perS;
    figures.baseline_p99_ms = round(base.latency.p99, 1);
    meta.baseline_latency_ms = { p50: round(base.latency.p50, 1), p99: round(base.latency.p99, 1), max: round(base.latency.max, 1) };
    progress('webhooks', `baseline: ${base.perS}/s, p99 ${figures.baseline_p99_ms} ms at 1,000/s`);

    progress('webhooks', 'SQLite');
    const sqlite = await measure({ kind: 'sqlite' }, receiver, options.quick);
    figures.sqlite_deliveries_per_s = sqlite.perS;
    figures.sqlite_p99_ms = round(sqlite.latency.p99, 1);
    figures.ratio_rate = ratio(sqlite.perS, base.perS);
    meta.sqlite = sqlite.meta;
    progress('webhooks', `SQLite: ${sqlite.perS}/s, p99 ${figures.sqlite_p99_ms} ms at 1,000/s`);

    const cluster = await startPostgres().catch((err: unknown) => {
      meta.postgres = { missing: `no PostgreSQL: ${String((err as Error).message)}` };
      return null;
    });
    if (cluster) {
      try {
        progress('webhooks', 'PostgreSQL');
        const pg = await measure({ kind: 'postgres', clusterUrl: cluster.url }, receiver, options.quick);
        figures.postgres_deliveries_per_s = pg.perS;
        figures.postgres_p99_ms = round(pg.latency.p99, 1);
        meta.postgres = pg.meta;
        progress('webhooks', `PostgreSQL: ${pg.perS}/s, p99 ${figures.postgres_p99_ms} ms at 1,000/s`);
      } finally {
        cluster.stop();
      }
    }
    return { figures, meta };
  } finally {
    receiver.stop();
  }
}

sectionEntry(import.meta.url, run);
