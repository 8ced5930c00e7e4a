/**
 * Issue 12: orders created per second through the integration API. A shop integration with an
 * API key posts orders to `POST /api/v1/locations/:locationId/orders` over keep-alive HTTP from
 * `concurrency` clients in a child process, every request with its own `Idempotency-Key`: each is
 * authenticated (key hash), checked (integration, allowlist, scope), parsed, claimed, written as
 * a stop through the `stop.create` handler with its change-log entry, audit entry and webhook
 * outbox check in one transaction, presented through the data profile, logged in the call log and
 * published to the live feed. Counted: 201 answers completed inside the window, per second.
 * Then the same through `POST .../orders/batch`, `batchSize` orders per request (each with its own
 * key, all in the request's one transaction) from `batchConcurrency` clients.
 *
 * Baseline, in the same run and database: the same number of orders through the CLI's order
 * import (`importOrders`: the same validation-free write path, the same handlers, batches of 500
 * per transaction, no HTTP). `ratio` = API rate / import rate. Then a replay check: the first 50
 * requests are sent again with their keys, and must be answered as replays with no new stop.
 * Target (issue 12): >= 2,000 orders/s on SQLite.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import os from 'node:os';
import { IntegrationCreate, type Sheet, suggestColumnMapping } from '@depotline/shared';
import type { Granter } from '../sync-server/src/access/authority';
import { loadConfig, type ServerConfig } from '../sync-server/src/config';
import { applyApiKeyCreate } from '../sync-server/src/integrations/api-keys';
import { applyIntegrationCreate } from '../sync-server/src/integrations/registry';
import { importOrders } from '../sync-server/src/provisioning/order-import';
import { insertLocations } from './lib/depot';
import { type BenchOptions, progress } from './lib/options';
import { startPostgres } from './lib/postgres';
import { profiled } from './lib/profile';
import { type SectionResult, sectionEntry } from './lib/process';
import { type BenchDatabase, createBenchServer } from './lib/server';
import { ratio, round, summarize } from './lib/stats';

export interface ApiOrderFigures {
  /** One order per request. */
  sqlite_per_s: number | null;
  /** `POST .../orders/batch`, `batchSize` orders per request, each with its own key. */
  sqlite_batch_per_s: number | null;
  sqlite_import_per_s: number | null;
  /** Single-create rate / import rate on SQLite. */
  sqlite_ratio: number | null;
  sqlite_batch_ratio: number | null;
  postgres_per_s: number | null;
  postgres_batch_per_s: number | null;
  postgres_import_per_s: number | null;
  postgres_ratio: number | null;
  postgres_batch_ratio: number | null;
}

const operator: Granter = { kind: 'operator', actor: { userId: null, label: 'cli:bench', deviceId: null, ip: null } };
const day = '2026-12-01';
const concurrency = 16;
/** Orders per batch request, and the batch clients (fewer: each request carries many orders). */
const batchSize = 50;
const batchConcurrency = 4;

/**
 * The client: `concurrency` closed loops of POSTs, each with a fresh key; plain JS in its own
 * process, so the server process's CPU time is the server's alone.
 */
const clientCode = `
const workerData = JSON.parse(process.env.DEPOTLINE_BENCH_CLIENT);
const parentPort = { postMessage: (m) => process.send(m, () => process.exit(0)) };
const { url, key, concurrency, warmupMs, durationMs, day, replays, batch, prefix } = workerData;
let next = 0;
const sent = [];
const orderOf = (i) => ({
  orderRef: prefix + i, customerName: 'Customer ' + i, address: i + ' Bench Street, Kiel', phone: '+49 431 555 ' + String(1000 + (i % 9000)),
  notes: 'ring twice', timeWindow: { start: day + 'T10:00:00+01:00', end: day + 'T12:00:00+01:00' }, parcelCount: 1 + (i % 3),
});
const keyOf = (i) => 'bench-' + prefix + i + '-' + workerData.salt;
const headers = { authorization: 'Bearer ' + key, 'content-type': 'application/json' };
/** One request: a single create (n = 1) or a batch of n; answers the orders created and replayed. */
async function post(first, n) {
  const t = performance.now();
  let created = 0, replayed = 0, status;
  if (!batch) {
    const res = await fetch(url, { method: 'POST', headers: { ...headers, 'idempotency-key': keyOf(first) }, body: JSON.stringify(orderOf(first)) });
    await res.arrayBuffer();
    status = res.status;
    if (status === 201) created = 1;
    if (res.headers.get('idempotent-replayed') === 'true') replayed = 1;
  } else {
    const orders = Array.from({ length: n }, (_, k) => ({ idempotencyKey: keyOf(first + k), order: orderOf(first + k) }));
    const res = await fetch(url + '/batch', { method: 'POST', headers, body: JSON.stringify({ orders }) });
    status = res.status;
    const body = await res.json();
    if (status === 200) for (const r of body.results) { if (r.status === 201) created++; if (r.replayed) replayed++; }
  }
  return { status, created, replayed, t, done: performance.now() };
}
async function main() {
  const start = performance.now();
  const from = start + warmupMs, until = from + durationMs;
  const n = batch || 1;
  const inWindow = { ok: 0, other: {}, latencies: [] };
  let total = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      const first = next; next += n;
      if (sent.length < Math.ceil(replays / n)) sent.push(first);
      const r = await post(first, n);
      total += r.created;
      if (r.t >= from && r.done <= until) {
        if (r.created > 0) { inWindow.ok += r.created; inWindow.latencies.push(r.done - r.t); }
        if (r.created < n) inWindow.other[r.status] = (inWindow.other[r.status] || 0) + (n - r.created);
      }
    }
  }));
  let replayed = 0;
  for (const first of sent) replayed += (await post(first, n)).replayed;
  parentPort.postMessage({ ...inWindow, total, replayed, replaysSent: sent.length * n });
}
main().catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
`;

interface ClientOutcome { ok: number; other: Record<string, number>; latencies: number[]; total: number; replayed: number; replaysSent: number; error?: string }

function runClients(workerData: Record<string, unknown>): Promise<ClientOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=commonjs', '-e', clientCode], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, DEPOTLINE_BENCH_CLIENT: JSON.stringify(workerData) },
    });
    child.once('message', (m: ClientOutcome) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the bench client exited (${code}) without a result`)));
  });
}

/** The same orders as a sheet for the import (times in the depot's zone, on the import's day). */
function sheetOf(count: number): Sheet {
  const header = ['Order reference', 'Customer name', 'Address', 'Phone', 'Delivery notes', 'Window start', 'Window end', 'Parcel count', 'Route name'];
  const rows = Array.from({ length: count }, (_, i) => ({
    row: i + 2,
    cells: [`IMP-${i}`, `Customer ${i}`, `${i} Bench Street, Kiel`, `+49 431 555 ${1000 + (i % 9000)}`, 'ring twice', `${day} 10:00`, `${day} 12:00`, String(1 + (i % 3)), 'Unplanned'],
  }));
  return { header, rows };
}

/** Rate limits out of the way: the bench measures the write path, not the limiter's refusals. */
function unlimited(): Partial<ServerConfig> {
  const tuned = loadConfig({
    RATE_LIMIT_PER_ADDRESS_PER_MIN: '1000000', RATE_LIMIT_PER_INTEGRATION_CREDENTIAL_PER_MIN: '1000000', RATE_LIMIT_PER_USER_TOKEN_PER_MIN: '1000000',
  });
  return Object.fromEntries(Object.entries(tuned).filter(([k]) => k === 'rateLimits'));
}

async function measure(database: BenchDatabase, quick: boolean): Promise<{ apiPerS: number; batchPerS: number; importPerS: number; meta: Record<string, unknown> }> {
  const env = await createBenchServer(database, unlimited());
  try {
    const ctx = env.ctx;
    const [apiLocation, importLocation] = await insertLocations(ctx, 2) as [string, string];
    const now = ctx.now();
    const { key } = await ctx.db.transaction().execute(async (trx) => {
      const integration = await applyIntegrationCreate(trx, operator, IntegrationCreate.parse({
        name: 'bench-shop', kind: 'shop', contact: 'bench@example.test', scopes: [{ locationId: apiLocation, permissions: ['orders.write', 'status.read'] }],
      }), now);
      const made = await applyApiKeyCreate(trx, ctx.config, operator, integration.id, { name: 'bench', scopes: ['orders.write'], expiresAt: now + 90 * 86_400_000 }, now);
      return { key: made.secret };
    });
    const running = await env.start();
    const warmupMs = quick ? 1000 : 2000;
    const durationMs = quick ? 3000 : 10_000;
    const url = `${running.url}/api/v1/locations/${apiLocation}/orders`;
    const salt = crypto.randomBytes(4).toString('hex');
    const stopCount = async () => Number((await ctx.db.selectFrom('stops').select((eb) => eb.fn.countAll().as('n')).where('location_id', '=', apiLocation).executeTakeFirstOrThrow()).n);
    const clientRun = async (mode: 'single' | 'batch') => {
      const before = await stopCount();
      const cpu0 = process.cpuUsage();
      const outcome = await profiled(`api-orders-${mode}-${database.kind}`, () => runClients({
        url, key, warmupMs, durationMs, day, replays: 50, salt, prefix: mode === 'single' ? 'API-' : 'BATCH-',
        concurrency: mode === 'single' ? concurrency : batchConcurrency, batch: mode === 'single' ? 0 : batchSize,
      }));
      const cpu = process.cpuUsage(cpu0);
      const made = (await stopCount()) - before;
      // Server CPU per order over the whole client run (steadier than the rate on a shared machine).
      const cpuMsPerOrder = round((cpu.user + cpu.system) / 1000 / Math.max(1, outcome.total + outcome.replaysSent), 2);
      return {
        perS: round(outcome.ok / (durationMs / 1000), 0)!,
        meta: {
          concurrency: mode === 'single' ? concurrency : batchConcurrency, orders_per_request: mode === 'single' ? 1 : batchSize,
          created_in_window: outcome.ok, not_created_in_window: outcome.other, request_latency_ms: summarize(outcome.latencies),
          created_total: outcome.total, stops_made: made, replays_sent: outcome.replaysSent, replays_answered_as_replay: outcome.replayed,
          second_stop_from_replay: made !== outcome.total,
          server_cpu_ms_per_order: cpuMsPerOrder, orders_per_s_per_server_core: cpuMsPerOrder ? round(1000 / cpuMsPerOrder, 0) : null,
        },
      };
    };
    const single = await clientRun('single');
    const batched = await clientRun('batch');
    const outcome = { ok: Math.max(single.meta.created_in_window, batched.meta.created_in_window) };

    // Baseline: as many orders through the CLI import (capped so a quick run stays quick).
    const count = Math.max(500, Math.min(outcome.ok, quick ? 3000 : 10_000));
    const sheet = sheetOf(count);
    const t0 = performance.now();
    const icpu0 = process.cpuUsage();
    const imported = await importOrders(ctx, operator.actor, sheet, {
      locationId: importLocation, date: day, currency: null, mapping: suggestColumnMapping(sheet.header), dryRun: false, skipInvalid: false,
    });
    const importMs = performance.now() - t0;
    const icpu = process.cpuUsage(icpu0);
    const importPerS = round(imported.created / (importMs / 1000), 0)!;
    const meta = {
      warmup_ms: warmupMs, window_ms: durationMs, single: single.meta, batch: batched.meta,
      import_orders: imported.created, import_ms: round(importMs, 0),
      import_cpu_ms_per_order: round((icpu.user + icpu.system) / 1000 / Math.max(1, imported.created), 2), loadavg: os.loadavg().map((l) => round(l, 1)),
    };
    return { apiPerS: single.perS, batchPerS: batched.perS, importPerS, meta };
  } finally {
    await env.dispose();
  }
}

export async function run(options: BenchOptions): Promise<SectionResult<ApiOrderFigures>> {
  const meta: Record<string, unknown> = {
    endpoints: ['POST /api/v1/locations/:locationId/orders', `POST /api/v1/locations/:locationId/orders/batch (${batchSize} per request)`],
    idempotency_key: 'one per order', baseline: 'importOrders (CLI import), same orders',
  };
  progress('api_orders', 'SQLite');
  const sqlite = await measure({ kind: 'sqlite' }, options.quick);
  meta.sqlite = sqlite.meta;
  progress('api_orders', `SQLite: ${sqlite.apiPerS}/s one per request, ${sqlite.batchPerS}/s in batches, ${sqlite.importPerS}/s through the import`);
  const figures: ApiOrderFigures = {
    sqlite_per_s: sqlite.apiPerS, sqlite_batch_per_s: sqlite.batchPerS, sqlite_import_per_s: sqlite.importPerS,
    sqlite_ratio: ratio(sqlite.apiPerS, sqlite.importPerS), sqlite_batch_ratio: ratio(sqlite.batchPerS, sqlite.importPerS),
    postgres_per_s: null, postgres_batch_per_s: null, postgres_import_per_s: null, postgres_ratio: null, postgres_batch_ratio: null,
  };
  const cluster = await startPostgres().catch((err: unknown) => {
    meta.postgres = { missing: `no PostgreSQL: ${String((err as Error).message)}` };
    return null;
  });
  if (cluster) {
    try {
      progress('api_orders', `PostgreSQL (${cluster.owned ? 'throwaway cluster' : 'DEPOTLINE_BENCH_PG_URL'})`);
      const pg = await measure({ kind: 'postgres', clusterUrl: cluster.url }, options.quick);
      meta.postgres = pg.meta;
      figures.postgres_per_s = pg.apiPerS;
      figures.postgres_batch_per_s = pg.batchPerS;
      figures.postgres_import_per_s = pg.importPerS;
      figures.postgres_ratio = ratio(pg.apiPerS, pg.importPerS);
      figures.postgres_batch_ratio = ratio(pg.batchPerS, pg.importPerS);
      progress('api_orders', `PostgreSQL: ${pg.apiPerS}/s one per request, ${pg.batchPerS}/s in batches, ${pg.importPerS}/s through the import`);
    } finally {
      cluster.stop();
    }
  }
  return { figures, meta };
}

sectionEntry(import.meta.url, run);
