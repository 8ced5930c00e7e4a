/**
 * Issue 14: retention purge speed, records pseudonymised or deleted per second WITH evidence, on
 * SQLite and PostgreSQL. `npm run purge -w bench -- --stops 1000000 [--engine sqlite|postgres|both]
 * [--batch 5000]` prints one JSON object (progress on stderr). The size may come from
 * `DEPOTLINE_BENCH_PURGE_STOPS` instead (the flag wins); the default is 1,000,000. PostgreSQL is the
 * cluster named by `DEPOTLINE_BENCH_PG_URL`, else a throwaway one (bench/lib/postgres.ts).
 *
 * The server's migrated database is seeded in SQL (a series of rows; the purge never decrypts, so
 * the encrypted columns hold ciphertext-shaped text) with `--stops` stops over 10 locations, 500
 * stops a route, a phone blind index on each, and one stop hold and one customer hold per location
 * (so every batch is checked against holds). Then, with the server's clock moved:
 * - contact: the purge pseudonymises every stop (runPurge, the job's code: batches, one version
 *   bump and multi-row change-log inserts per batch, one evidence entry per batch);
 * - delivery: the purge deletes every stop.
 * Each is timed against a baseline in the same run on a twin of the same rows (10 more locations,
 * seeded alike): the bare UPDATE (or DELETE) of those columns in one committed statement, with no
 * versions, change log, holds or evidence.
 * The live feed is not part of it (no sockets): desktops are told after each commit.
 */
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import { runPurge } from '../sync-server/src/retention/purge';
import type { ServerContext } from '../sync-server/src/context';
import { progress } from './lib/options';
import { startPostgres } from './lib/postgres';
import { createBenchServer, type BenchDatabase } from './lib/server';
import { round } from './lib/stats';

const day = 86_400_000;
const baseLocations = Array.from({ length: 10 }, (_, l) => `base-loc-${l}`);
const locations = 10;
const stopsPerRoute = 500;

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

const series = (ctx: ServerContext, n: number) => ctx.dbKind === 'postgres'
  ? sql`select i from generate_series(0, ${sql.lit(n - 1)}) as s(i)`
  : sql`with recursive s(i) as (select 0 union all select i + 1 from s where i < ${sql.lit(n - 1)}) select i from s`;

/** Locations, routes and stops straight in SQL; `windowEnd0` is the oldest stop's window end. */
export async function seed(ctx: ServerContext, n: number, windowEnd0: number, tag = ''): Promise<void> {
  const routes = Math.ceil(n / stopsPerRoute);
  const t = sql.lit(tag);
  await ctx.db.insertInto('locations').values(Array.from({ length: locations }, (_, l) => ({ id: `${tag}loc-${l}`, name: `Depot ${tag}${l}`, timezone: 'Europe/Berlin', version: n, created_at: 0 }))).execute();
  await sql`insert into routes (id, location_id, name, date, driver_id, vehicle_id, version, updated_at, updated_by)
    select ${t} || 'rt-' || i, ${t} || 'loc-' || (i % ${sql.lit(locations)}), 'Route ' || i, '2024-01-01', null, null, 1, 0, 'bench' from (${series(ctx, routes)}) r`.execute(ctx.db);
  const chunk = 100_000;
  for (let from = 0; from < n; from += chunk) {
    const size = Math.min(chunk, n - from);
    // Stop i is on route floor(i / 500); its location is the route's (route % 10).
    await sql`insert into stops (id, location_id, route_id, sequence, customer_name_enc, address_enc, phone_enc, notes_enc, window_start, window_end,
        status, eta, version, updated_at, updated_by, order_ref, coordinates_enc, email_enc, payment_ref_enc, failure_note_enc, pin_enc, phone_bidx)
      select ${t} || 'st-' || j, ${t} || 'loc-' || ((j / ${sql.lit(stopsPerRoute)}) % ${sql.lit(locations)}), ${t} || 'rt-' || (j / ${sql.lit(stopsPerRoute)}), j % ${sql.lit(stopsPerRoute)},
        'v1.bench001.nonce' || j || '.customer-name-ciphertext', 'v1.bench001.nonce' || j || '.address-ciphertext-of-some-length',
        'v1.bench001.nonce' || j || '.phone', 'v1.bench001.nonce' || j || '.notes', ${sql.lit(windowEnd0)} + (j % 1000) * 60000 - 3600000, ${sql.lit(windowEnd0)} + (j % 1000) * 60000,
        'delivered', null, j + 1, 0, 'bench', ${t} || 'ORD-' || j, 'v1.bench001.nonce' || j || '.coords', 'v1.bench001.nonce' || j || '.email', null, null, null,
        ${t} || 'bidx-' || j
      from (select i + ${sql.lit(from)} as j from (${series(ctx, size)}) s0) s1`.execute(ctx.db);
    progress('purge', `seeded ${(from + size).toLocaleString('en')} stops${tag ? ` (${tag})` : ''}`);
  }
  if (tag) return;
  for (let l = 0; l < locations; l++) {
    for (const [scope, stop, key] of [['stop', `st-${l * stopsPerRoute + 7}`, null], ['customer', null, `bidx-${l * stopsPerRoute + 11}`]] as const) {
      await ctx.db.insertInto('legal_holds').values({
        id: `hold-${scope}-${l}`, scope, location_id: `loc-${l}`, stop_id: stop, customer_key: key, reason: 'bench', owner: 'bench',
        placed_by: 'bench', placed_at: 0, released_at: null, released_by: null, release_reason: null,
      }).execute();
    }
  }
  await sql`analyze`.execute(ctx.db);
}

/** Times `statement` in one committed transaction; returns the seconds and the rows it touched. */
async function baseline(ctx: ServerContext, statement: ReturnType<typeof sql>): Promise<{ s: number; rows: number }> {
  const t = performance.now();
  const r = await ctx.db.transaction().execute((trx) => statement.execute(trx));
  return { s: (performance.now() - t) / 1000, rows: Number(r.numAffectedRows ?? 0) };
}

async function purgeTimed(ctx: ServerContext, batchSize: number): Promise<{ s: number; report: Awaited<ReturnType<typeof runPurge>> }> {
  const ids = Array.from({ length: locations }, (_, l) => `loc-${l}`);
  const t = performance.now();
  const report = await runPurge(ctx, null, { batchSize, locationIds: ids });
  return { s: (performance.now() - t) / 1000, report };
}

async function runEngine(database: BenchDatabase, n: number, batchSize: number): Promise<Record<string, unknown>> {
  const env = await createBenchServer(database);
  const { ctx } = env;
  try {
    const windowEnd0 = Date.UTC(2024, 0, 1);
    const t0 = performance.now();
    await seed(ctx, n, windowEnd0);
    // The baseline's own twin of the same rows, so both sides commit (and write the log) for real.
    await seed(ctx, n, windowEnd0, 'base-');
    await sql`analyze`.execute(ctx.db);
    const seedS = (performance.now() - t0) / 1000;
    const held = 2 * locations;

    // Contact details due (100 days after the newest window end), delivery records not.
    let now = windowEnd0 + 1000 * 60_000 + 100 * day;
    ctx.now = () => now;
    progress('purge', `${ctx.dbKind}: baseline pseudonymise (bare UPDATE of the twin rows)`);
    const bareUpdate = await baseline(ctx, sql`update stops set customer_name_enc = '', address_enc = '', notes_enc = '', phone_enc = null, email_enc = null,
      coordinates_enc = null, payment_ref_enc = null, failure_note_enc = null, pin_enc = null, phone_bidx = null, email_bidx = null, pseudonymised_at = ${now}
      where location_id in (${sql.join(baseLocations)})`);
    progress('purge', `${ctx.dbKind}: purge, contact class (pseudonymise)`);
    const contact = await purgeTimed(ctx, batchSize);
    const pseudonymised = contact.report.counts.contact ?? 0;
    if (pseudonymised !== n - held) throw new Error(`pseudonymised ${pseudonymised}, expected ${n - held}`);

    // Delivery records due.
    now += 731 * day;
    await sql`analyze`.execute(ctx.db);
    progress('purge', `${ctx.dbKind}: baseline delete (bare DELETE of the twin rows)`);
    const bareDelete = await baseline(ctx, sql`delete from stops where location_id in (${sql.join(baseLocations)}) and window_end < ${now - 730 * day}`);
    progress('purge', `${ctx.dbKind}: purge, delivery class (delete)`);
    const delivery = await purgeTimed(ctx, batchSize);
    const deleted = delivery.report.counts.delivery ?? 0;
    if (deleted !== n - held) throw new Error(`deleted ${deleted}, expected ${n - held}`);
    const evidence = await ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll().as('n')).where('action', '=', 'retention.purge').executeTakeFirstOrThrow();

    const figures = {
      database: ctx.dbKind, stops: n, batch: batchSize, seed_s: round(seedS, 1),
      pseudonymise_per_s: round(pseudonymised / contact.s, 0), pseudonymise_s: round(contact.s, 2),
      pseudonymise_baseline_per_s: round(bareUpdate.rows / bareUpdate.s, 0), pseudonymise_ratio: round(contact.s / bareUpdate.s * bareUpdate.rows / pseudonymised, 2),
      delete_per_s: round(deleted / delivery.s, 0), delete_s: round(delivery.s, 2),
      delete_baseline_per_s: round(bareDelete.rows / bareDelete.s, 0), delete_ratio: round(delivery.s / bareDelete.s * bareDelete.rows / deleted, 2),
      evidence_entries: Number(evidence.n), held_left: held,
    };
    progress('purge', JSON.stringify(figures));
    return figures;
  } finally {
    await env.dispose();
  }
}

async function main(): Promise<void> {
  const n = Number(arg('stops', process.env.DEPOTLINE_BENCH_PURGE_STOPS ?? '1000000'));
  const batchSize = Number(arg('batch', '5000'));
  const engine = arg('engine', 'both');
  if (!Number.isInteger(n) || n < 10_000) throw new Error('--stops: a whole number of at least 10000');
  const out: Record<string, unknown> = { stops: n, batch: batchSize };
  if (engine === 'sqlite' || engine === 'both') out.sqlite = await runEngine({ kind: 'sqlite' }, n, batchSize);
  if (engine === 'postgres' || engine === 'both') {
    const cluster = await startPostgres();
    try {
      out.postgres = await runEngine({ kind: 'postgres', clusterUrl: cluster.url }, n, batchSize);
    } finally {
      cluster.stop();
    }
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
