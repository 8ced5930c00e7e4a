/**
 * Issue 11: importing 10,000 orders in the console. Three figures, in one process:
 * - baseline: reading the CSV into rows (encoding check and RFC 4180 parse), no validation;
 * - preview: read, check every row, look up known order references and the day's routes in the
 *   real SQLCipher store, plan create / update / skip (the console's preview, docs/architecture.md);
 * - apply: the plan's mutations queued in the outbox in batches of `importBatchSize`, each batch
 *   one transaction with its optimistic rows (what the dispatcher waits for; delivery to the
 *   server happens after, in the background).
 * The store already holds a depot with 2,000 stops, 1,000 of which the file updates.
 * Targets (issue 11): preview under 2 s, apply under 10 s. Ratios are against the baseline.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type Change, importBatchSize, importMutations, inBatches, type LocationAccess, planImport, readCsvOrderFile, suggestColumnMapping,
  validateOrderRows,
} from '@depotline/shared';
import { createEncryptedDatabase } from '../desktop/src/core/store/encrypted-database';
import { EncryptedStore } from '../desktop/src/core/store/encrypted-store';
import { migrate } from '../desktop/src/core/store/migrate';
import { sqlcipherBinding } from '../desktop/src/core/store/sqlcipher-binding';
import { DatabaseKey } from '../desktop/src/core/vault/database-key';
import { type BenchOptions, progress } from './lib/options';
import { type SectionResult, sectionEntry } from './lib/process';
import { ratio, round, summarize } from './lib/stats';

export interface ImportFigures {
  rows: number;
  parse_ms: number | null;
  preview_ms: number | null;
  apply_ms: number | null;
  preview_ratio: number | null;
  apply_ratio: number | null;
}

const locationId = 'depot-01';
const date = '2026-12-01';
const timeZone = 'Europe/Berlin';
const rows = 10_000;
const known = 2_000;
const routeNames = Array.from({ length: 40 }, (_, i) => `Tour ${String(i).padStart(2, '0')}`);

const access: LocationAccess = {
  location: { id: locationId, name: 'Depot 01', timezone: timeZone },
  permissions: ['location.read', 'route.edit', 'stop.edit', 'stop.editNotes', 'stop.readCustomer', 'stop.readNotes', 'stop.readPhone', 'stop.readBilling'],
  roles: ['manager'],
  expiresAt: null,
};

/** The depot before the import: the day's first 20 routes, and `known` orders on them. */
function depotChanges(): Change[][] {
  const changes: Change[] = [];
  let version = 0;
  const dayStart = Date.UTC(2026, 10, 30, 23);
  for (let r = 0; r < 20; r++) {
    changes.push({ entity: 'route', locationId, version: ++version, data: { id: `route-${r}`, locationId, name: routeNames[r]!, date, driverId: null, vehicleId: null, version, updatedAt: 0, updatedBy: 'planner' } });
  }
  for (let i = 0; i < known; i++) {
    changes.push({ entity: 'stop', locationId, version: ++version, data: {
      id: `stop-${i}`, locationId, routeId: `route-${i % 20}`, sequence: Math.floor(i / 20), customerName: `Customer ${i}`, address: `Old street ${i}`,
      phone: null, notes: '', orderRef: `ORD-${i}`, parcelCount: 1, barcodes: [], coordinates: null, email: null, minimumAge: null, idCheck: false,
      paymentRef: null, codAmount: null, deliveryFee: null, currency: null, failureReason: null, failureNote: null,
      window: { start: dayStart, end: dayStart + 86_340_000 }, status: 'planned', eta: null, version, updatedAt: 0, updatedBy: 'planner',
    } });
  }
  return inBatches(changes, 1000);
}

/** 10,000 orders: half of the known ones changed, every other row new; 40 route names (20 new). */
function csvFile(): Uint8Array {
  const lines = ['Order,Customer,Address,Lat,Lng,Phone,Email,Notes,From,To,Route,Parcels,Barcodes,Age check,ID check,Amount,Fee'];
  for (let i = 0; i < rows; i++) {
    const ref = i < known ? `ORD-${i}` : `NEW-${i}`;
    const street = i < known && i % 2 === 0 ? `Old street ${i}` : `Hauptstraße ${i % 500}, 10${String(i % 1000).padStart(3, '0')} Berlin`;
    lines.push([
      ref, `Customer ${i}`, `"${street}"`, (52.3 + (i % 300) / 1000).toFixed(4), (13.2 + (i % 400) / 1000).toFixed(4), `+49 30 ${1_000_000 + i}`,
      `c${i}@example.com`, i % 3 === 0 ? '"Ring twice, leave with neighbour"' : '', `${8 + (i % 8)}:00`, `${10 + (i % 8)}:30`, routeNames[i % 40],
      String(1 + (i % 3)), Array.from({ length: 1 + (i % 3) }, (_, k) => `P${i}-${k}`).join(' '), i % 50 === 0 ? '18' : '', i % 70 === 0 ? 'yes' : '',
      i % 5 === 0 ? '24.90' : '', '3.50',
    ].join(','));
  }
  return new TextEncoder().encode(lines.join('\r\n'));
}

async function openStore(file: string): Promise<EncryptedStore> {
  const db = await createEncryptedDatabase(sqlcipherBinding, file, DatabaseKey.generate(), async (conn) => { await migrate(conn); });
  const store = new EncryptedStore(db);
  await store.replaceLocations([access]);
  for (const page of depotChanges()) await store.applyChanges(page, { locationId, cursor: page[page.length - 1]!.version });
  return store;
}

function parse(bytes: Uint8Array) {
  const read = readCsvOrderFile(bytes);
  if (!read.ok) throw new Error(read.message);
  return read.sheet;
}

async function preview(store: EncryptedStore, bytes: Uint8Array) {
  const sheet = parse(bytes);
  const validated = validateOrderRows(sheet, suggestColumnMapping(sheet.header), { date, timeZone, currency: 'EUR', mayImportBilling: true });
  if (!validated.ok) throw new Error(validated.problems.join('; '));
  const refs = new Set(validated.rows.flatMap((r) => (r.order ? [r.order.orderRef] : [])));
  const existing = await store.stopsByOrderRef(locationId, refs);
  const routes = (await store.boardQuery(locationId, { filter: { date }, sort: { key: 'name' }, limit: 5000 })).map((r) => r.route);
  return planImport(validated.rows, { date, routes, existing });
}

export async function run(options: BenchOptions): Promise<SectionResult<ImportFigures>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-bench-import-'));
  const repeats = options.quick ? 2 : 5;
  try {
    const bytes = csvFile();
    const timings = { parse: [] as number[], preview: [] as number[], apply: [] as number[] };
    let counts = { create: 0, update: 0, skip: 0 };
    let queued = 0;
    for (let i = 0; i < repeats; i++) {
      progress('import', `round ${i + 1}/${repeats}: a fresh store with ${known} known orders, ${rows.toLocaleString('en')} rows`);
      const store = await openStore(path.join(dir, `store-${i}.db`));
      let t = performance.now();
      parse(bytes);
      timings.parse.push(performance.now() - t);

      t = performance.now();
      const plan = await preview(store, bytes);
      timings.preview.push(performance.now() - t);
      counts = plan.counts;

      t = performance.now();
      const mutations = importMutations(plan, { locationId, date, now: Date.now(), sequenceAfter: () => 1000 }, {
        mutationId: () => crypto.randomUUID(), entityId: (kind) => `${kind}-${crypto.randomUUID()}`,
      });
      queued = 0;
      for (const batch of inBatches(mutations, importBatchSize)) {
        const outcome = await store.enqueueLocalEdits(batch.map((b) => b.mutation));
        if (outcome.refused.length > 0) throw new Error(`refused locally: ${outcome.refused[0]!.message}`);
        queued += outcome.queued;
      }
      timings.apply.push(performance.now() - t);
      if ((await store.pendingCount()) !== queued) throw new Error('the outbox does not hold every queued edit');
      await store.close();
    }
    const p = summarize(timings.parse);
    const v = summarize(timings.preview);
    const a = summarize(timings.apply);
    progress('import', `parse p50 ${p.p50.toFixed(0)} ms, preview p50 ${v.p50.toFixed(0)} ms, apply p50 ${a.p50.toFixed(0)} ms`);
    return {
      figures: {
        rows, parse_ms: round(p.p50), preview_ms: round(v.p50), apply_ms: round(a.p50), preview_ratio: ratio(v.p50, p.p50), apply_ratio: ratio(a.p50, p.p50),
      },
      meta: {
        repeats, known_orders: known, plan: counts, mutations_queued: queued, batch: importBatchSize, file_kb: round(bytes.length / 1024, 0),
        preview_max_ms: round(v.max), apply_max_ms: round(a.max), targets: { preview_ms: 2000, apply_ms: 10_000 },
      },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

sectionEntry(import.meta.url, run);
