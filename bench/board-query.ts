/**
 * Issue 5, figure 4: local reads. The routes-board query of the desktop store (`boardQuery`:
 * routes with driver, vehicle, stop counts per status and pending edits; filtered by day and
 * stop status, sorted by progress) over one location with 20,000 stops, in the real SQLCipher
 * store, and the same store code over an unencrypted SQLite file (same library, same schema,
 * same settings, no key). p50 per query and the ratio between them.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Change, computeAttention, defaultEtaSettings, type LocationAccess, type StopStatus } from '@depotline/shared';
import { connectionSettings, createEncryptedDatabase, type EncryptedDatabase } from '../desktop/src/core/store/encrypted-database';
import { EncryptedStore } from '../desktop/src/core/store/encrypted-store';
import type { BoardQuery } from '../desktop/src/core/store/local-store';
import { migrate, schemaVersion } from '../desktop/src/core/store/migrate';
import { latestSchemaVersion } from '../desktop/src/core/store/migrations/index';
import type { SqlConnection } from '../desktop/src/core/store/sql-binding';
import { sqlcipherBinding } from '../desktop/src/core/store/sqlcipher-binding';
import { DatabaseKey } from '../desktop/src/core/vault/database-key';
import { type BenchOptions, progress } from './lib/options';
import { profiled } from './lib/profile';
import { type SectionResult, sectionEntry } from './lib/process';
import { round, ratio, summarize } from './lib/stats';

export interface BoardQueryFigures {
  sqlcipher_p50_ms: number | null;
  sqlite_p50_ms: number | null;
  overhead: number | null;
}

const locationId = 'depot-01';
const stopCount = 20_000;
const routeCount = 250;
const dates = ['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27'];
const statuses: StopStatus[] = ['planned', 'en_route', 'arrived', 'delivered', 'delivered', 'delivered', 'failed', 'cancelled'];

/** The board a dispatcher opens: today's routes that still have work, least done first. */
export const boardQuery: BoardQuery = { filter: { date: dates[0]!, stopStatus: ['planned', 'en_route', 'arrived', 'failed'] }, sort: { key: 'progress', direction: 'asc' } };
const searchQuery: BoardQuery = { filter: { date: dates[0]! }, search: 'Lindenstrasse 12', sort: { key: 'name' } };
/** The board's other read on every refresh: the day's stops (packed, no customer fields) and what needs attention. */
const attentionDay = dates[0]!;

/**
 * The settings encrypted-database.ts applies to every store connection (page cache included),
 * minus the key, taken from the same list so the comparison cannot measure settings instead of
 * encryption. The schema, indexes included, comes over with sqlcipher_export.
 */
const plainSettings = connectionSettings.join(';\n');

/**
 * The plain twin of the seeded encrypted store: `sqlcipher_export` copies schema, rows and
 * user_version into an unkeyed file (the same content, byte for byte as SQL), which is then
 * opened by the same store code with the same settings and no key.
 */
async function exportPlainStore(cipherConn: SqlConnection, file: string): Promise<{ store: EncryptedStore; conn: SqlConnection }> {
  // The store's handle is opened without SQLITE_OPEN_CREATE, so ATTACH cannot create the file:
  // an empty file is a valid empty database.
  fs.writeFileSync(file, '');
  await cipherConn.run("ATTACH DATABASE ? AS plaintext KEY ''", [file]);
  await cipherConn.exec("SELECT sqlcipher_export('plaintext'); DETACH DATABASE plaintext");
  const conn = await sqlcipherBinding.open(file, { create: false });
  await conn.exec(plainSettings);
  const handle: EncryptedDatabase = {
    path: file,
    conn,
    rekey: () => Promise.reject(new Error('plain comparison store has no key')),
    checkpoint: async () => { await conn.exec('PRAGMA wal_checkpoint(TRUNCATE)'); },
    async close() { await conn.close(); },
  };
  return { store: new EncryptedStore(handle), conn };
}

/** Both files must hold the same schema, indexes included, or the ratio compares plans. */
async function indexesOf(conn: SqlConnection): Promise<string[]> {
  const rows = await conn.all("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name");
  return rows.map((r) => `${String(r['name'])}: ${String(r['sql'])}`);
}

async function openCipherStore(file: string): Promise<{ store: EncryptedStore; conn: SqlConnection }> {
  const db = await createEncryptedDatabase(sqlcipherBinding, file, DatabaseKey.generate(), async (conn) => { await migrate(conn); });
  return { store: new EncryptedStore(db), conn: db.conn };
}

/** The location's data as the server would send it to a dispatcher, in pull-sized pages. */
function depotChanges(): Change[][] {
  const changes: Change[] = [];
  let version = 0;
  const now = Date.UTC(2026, 10, 23, 6);
  for (let d = 0; d < 50; d++) {
    changes.push({ entity: 'driver', locationId, version: ++version, data: { id: `drv-${d}`, locationId, name: `Driver ${d} ${crypto.randomBytes(2).toString('hex')}`, userId: null } });
    changes.push({ entity: 'vehicle', locationId, version: ++version, data: { id: `veh-${d}`, locationId, label: `Van ${d}`, plate: `B-DL ${100 + d}` } });
    // Where each van was last seen, for the attention read's ETA estimate (not read by boardQuery).
    changes.push({ entity: 'position', locationId, version: ++version, data: {
      driverId: `drv-${d}`, locationId, lat: 52.5 + d / 1000, lng: 13.4, headingDeg: null, speedKmh: 30, recordedAt: Date.UTC(2026, 10, 23, 10, 55), version } });
  }
  const perRoute = stopCount / routeCount;
  for (let r = 0; r < routeCount; r++) {
    const routeId = `route-${r}`;
    changes.push({ entity: 'route', locationId, version: ++version, data: {
      id: routeId, locationId, name: `Tour ${String(r).padStart(3, '0')}`, date: dates[r % dates.length]!, driverId: `drv-${r % 50}`, vehicleId: `veh-${r % 50}`,
      version, updatedAt: now, updatedBy: 'planner' } });
    for (let s = 0; s < perRoute; s++) {
      const seq = r * perRoute + s;
      const id = `${routeId}-s${s}`;
      changes.push({ entity: 'stop', locationId, version: ++version, data: {
        id, locationId, routeId, sequence: s,
        customerName: `Customer ${crypto.randomBytes(3).toString('hex')}`, address: `Lindenstrasse ${seq % 400}, 10${String(seq % 1000).padStart(3, '0')} Berlin`,
        phone: seq % 7 === 0 ? null : `+49 30 ${1_000_000 + ((seq * 7919) % 8_999_999)}`, notes: `Leave with neighbour; ring twice (${seq})`,
        window: { start: now + (s % 20) * 1_800_000, end: now + 3_600_000 + (s % 20) * 1_800_000 },
        status: statuses[(seq * 31) % statuses.length]!, eta: null, version, updatedAt: now, updatedBy: 'planner',
        orderRef: `SO-${seq}`, parcelCount: 1 + (seq % 3), barcodes: [`JJD${seq}`], minimumAge: null, idCheck: false, failureReason: null,
        coordinates: { lat: 52.45 + (seq % 200) / 1000, lng: 13.3 + (seq % 300) / 1000 } } });
    }
  }
  const pages: Change[][] = [];
  for (let i = 0; i < changes.length; i += 1000) pages.push(changes.slice(i, i + 1000));
  return pages;
}

const access: LocationAccess = {
  location: { id: locationId, name: 'Depot 01', timezone: 'Europe/Berlin' },
  permissions: ['location.read', 'position.read', 'route.edit', 'stop.edit', 'stop.editNotes', 'stop.readCustomer', 'stop.readNotes', 'stop.readPhone', 'stop.setStatus'],
  roles: ['dispatcher'],
  expiresAt: null,
};

async function seed(store: EncryptedStore, pages: Change[][]): Promise<void> {
  await store.replaceLocations([access]);
  for (const page of pages) await store.applyChanges(page, { locationId, cursor: page[page.length - 1]!.version });
  // A few pending local edits, so the board's pending-edit counts have something to count.
  for (let r = 0; r < 20; r++) {
    const stop = await store.stop(`route-${r * 5}-s1`);
    if (stop?.status === 'planned') {
      await store.enqueueLocalEdit({ id: crypto.randomUUID(), type: 'stop.setStatus', locationId, createdAt: Date.now(), stopId: stop.id, to: 'en_route' });
    }
  }
}

/** What the console computes for the board's summary, route badges and stop flags (console service, board-attention.ts). */
async function timeAttention(store: EncryptedStore): Promise<number> {
  const t = performance.now();
  const [day, positions] = await Promise.all([store.boardDay(locationId, attentionDay), store.positions(locationId)]);
  const result = computeAttention({ now: Date.UTC(2026, 10, 23, 11), timeZone: access.location.timezone, routes: day.routes, stops: day.stops, positions, settings: defaultEtaSettings });
  const ms = performance.now() - t;
  if (result.stops.size === 0) throw new Error('the attention read returned no stops: the seed does not match the day');
  return ms;
}

async function timeQuery(store: EncryptedStore, query: BoardQuery): Promise<number> {
  const t = performance.now();
  const rows = await store.boardQuery(locationId, query);
  const ms = performance.now() - t;
  if (query === boardQuery && rows.length === 0) throw new Error('the board query returned no rows: the seed does not match the filter');
  return ms;
}

export async function run(options: BenchOptions): Promise<SectionResult<BoardQueryFigures>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-bench-board-'));
  const iterations = options.quick ? 60 : 300;
  try {
    progress('board-query', `seeding the SQLCipher store with ${stopCount.toLocaleString('en')} stops, exporting its plain twin`);
    const opened = await openCipherStore(path.join(dir, 'cipher.db'));
    const cipher = opened.store;
    await seed(cipher, depotChanges());
    const exported = await exportPlainStore(opened.conn, path.join(dir, 'plain.db'));
    const plain = exported.store;
    // sqlcipher_export copies schema and rows (not user_version): the indexes are compared below.
    const versions = [await schemaVersion(opened.conn), (await plain.locations()).length];
    if (versions[0] !== latestSchemaVersion || versions[1] !== 1) throw new Error(`plain twin does not match: ${JSON.stringify(versions)}`);
    const indexes = await indexesOf(opened.conn);
    if (JSON.stringify(indexes) !== JSON.stringify(await indexesOf(exported.conn))) throw new Error('plain twin has other indexes');
    const rowsShown = (await cipher.boardQuery(locationId, boardQuery)).length;
    const timings = { cipher: [] as number[], plain: [] as number[], cipherSearch: [] as number[], plainSearch: [] as number[], cipherAttention: [] as number[] };
    for (let i = 0; i < 5; i++) {
      await timeQuery(cipher, boardQuery);
      await timeQuery(plain, boardQuery);
    }
    progress('board-query', `${iterations} queries each, interleaved`);
    await profiled('board-query', async () => {
      for (let i = 0; i < iterations; i++) {
        // Interleaved, so machine noise lands on both sides alike.
        timings.cipher.push(await timeQuery(cipher, boardQuery));
        timings.plain.push(await timeQuery(plain, boardQuery));
        if (i % 5 === 0) {
          timings.cipherSearch.push(await timeQuery(cipher, searchQuery));
          timings.plainSearch.push(await timeQuery(plain, searchQuery));
          timings.cipherAttention.push(await timeAttention(cipher));
        }
      }
    });
    await cipher.close();
    await plain.close();
    const c = summarize(timings.cipher);
    const p = summarize(timings.plain);
    const cs = summarize(timings.cipherSearch);
    const ps = summarize(timings.plainSearch);
    const ca = summarize(timings.cipherAttention);
    progress('board-query', `SQLCipher p50 ${c.p50.toFixed(2)} ms, SQLite p50 ${p.p50.toFixed(2)} ms`);
    return {
      figures: { sqlcipher_p50_ms: round(c.p50), sqlite_p50_ms: round(p.p50), overhead: ratio(c.p50, p.p50) },
      meta: {
        stops: stopCount, routes: routeCount, days: dates.length, iterations, rows_shown: rowsShown,
        query: boardQuery, sqlcipher_p99_ms: round(c.p99), sqlite_p99_ms: round(p.p99),
        search: { query: searchQuery, sqlcipher_p50_ms: round(cs.p50), sqlite_p50_ms: round(ps.p50), overhead: ratio(cs.p50, ps.p50) },
        attention: { day: attentionDay, stops: stopCount / dates.length, sqlcipher_p50_ms: round(ca.p50), sqlcipher_p99_ms: round(ca.p99) },
        file_mb: round(fs.statSync(path.join(dir, 'cipher.db')).size / 2 ** 20, 1),
        schema_version: versions[0], settings: connectionSettings,
        plain_twin: 'same schema and indexes (sqlcipher_export, checked), same settings list, no key',
      },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** For experiments (bench/.scratch): seeds a store with the section's data set. */
export async function __seed(store: EncryptedStore): Promise<void> {
  await seed(store, depotChanges());
}

sectionEntry(import.meta.url, run);
