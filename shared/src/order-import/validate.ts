import type { z } from 'zod';
import { Address, CustomerName, DeliveryNotes, EntityId, Latitude, Longitude, Phone, type TimeWindow } from '../domain';
import { Barcodes, CurrencyCode, Email, maxParcelsPerStop, OrderRef, ParcelCount, PaymentRef } from '../orders';
import {
  clipCell, currencyDecimals, type ImportDay, readDecimal, readList, readMinimumAge, readMoney, readWholeNumber, readWindowTime, readYesNo,
  type CellValue,
} from './cells';
import { billingImportFields, type ColumnMapping, type ImportField, importFieldSpecs, importFields, mappingProblems } from './columns';
import type { Sheet } from './csv';
import { depotDateOf, depotTimeToEpoch, parseIsoDate } from './depot-time';

/** One order as a row of the file describes it, checked and converted. */
export interface ImportedOrder {
  row: number;
  orderRef: string;
  customerName: string;
  address: string;
  coordinates: { lat: number; lng: number } | null;
  phone: string | null;
  email: string | null;
  notes: string;
  window: TimeWindow;
  parcelCount: number;
  barcodes: string[];
  minimumAge: number | null;
  idCheck: boolean;
  pinRequired: boolean;
  route: { id: string } | { name: string };
  /** Billing: only read when the mapping names billing columns (and the importer may set them). */
  billing: { paymentRef: string | null; codAmount: number | null; deliveryFee: number | null; currency: string | null } | null;
}

/** What is wrong with one cell (or with the row, when `column` is null), in plain words. */
export interface RowProblem {
  row: number;
  column: string | null;
  message: string;
}

export interface ValidatedRow {
  row: number;
  /** The order reference as written, to name the row in a preview even when it has problems. */
  ref: string | null;
  /** Null when the row has problems: it is never sent. */
  order: ImportedOrder | null;
  problems: RowProblem[];
}

export interface ImportOptions extends ImportDay {
  /** The currency of amounts when the file has no currency column (the depot's). */
  currency: string | null;
  /** Whether the importer holds `stop.readBilling`: billing columns are refused otherwise. */
  mayImportBilling: boolean;
}

export type ValidatedFile =
  | { ok: true; rows: ValidatedRow[] }
  /** The file as a whole cannot be imported (a mapping or option problem): nothing is. */
  | { ok: false; problems: string[] };

/** The problems of the import as a whole: the mapping, the day, the currency, billing rights. */
export function importProblems(header: readonly string[], mapping: ColumnMapping, options: ImportOptions): string[] {
  const problems = mappingProblems(header, mapping);
  if (!parseIsoDate(options.date)) problems.push(`The day ${options.date} is not a calendar date (YYYY-MM-DD).`);
  if (depotTimeToEpoch(options.timeZone, { year: 2026, month: 1, day: 1, hour: 12, minute: 0 }) === null) {
    problems.push(`The depot's time zone ${options.timeZone} is not known.`);
  }
  const billing = billingImportFields.filter((f) => mapping[f] !== undefined);
  if (billing.length > 0 && !options.mayImportBilling) {
    problems.push(`Your access does not include billing data: leave out the columns for ${billing.map((f) => `"${importFieldSpecs[f].label}"`).join(', ')}.`);
  }
  if (options.currency !== null && !CurrencyCode.safeParse(options.currency).success) problems.push(`${options.currency} is not a currency code such as EUR.`);
  return problems;
}

/**
 * Checks every row of the sheet against the mapping. Whole-file problems come back alone;
 * otherwise each row is an order or its list of problems, and every order reference that
 * appears on more than one row is a problem on each of those rows (which one was meant cannot
 * be known, so none is imported).
 */
export function validateOrderRows(sheet: Sheet, mapping: ColumnMapping, options: ImportOptions): ValidatedFile {
  const problems = importProblems(sheet.header, mapping, options);
  if (problems.length > 0) return { ok: false, problems };
  const columnIndex = new Map<ImportField, number>();
  for (const field of importFields) {
    const column = mapping[field];
    if (column !== undefined) columnIndex.set(field, sheet.header.indexOf(column));
  }
  const windows = new WindowReader(options);
  const rows = sheet.rows.map((r) => validateRow(r.row, r.cells, columnIndex, mapping, options, windows));
  markDuplicateRefs(rows, mapping.orderRef ?? null);
  return { ok: true, rows };
}

function validateRow(
  row: number, cells: readonly string[], columnIndex: ReadonlyMap<ImportField, number>, mapping: ColumnMapping, options: ImportOptions,
  windows: WindowReader,
): ValidatedRow {
  const problems: RowProblem[] = [];
  const cell = (field: ImportField): string => {
    const i = columnIndex.get(field);
    return i === undefined ? '' : (cells[i] ?? '');
  };
  const has = (field: ImportField) => cell(field).trim() !== '';
  const problem = (field: ImportField | null, message: string) => {
    problems.push({ row, column: field === null ? null : (mapping[field] ?? importFieldSpecs[field].label), message });
  };
  /** A cell through a reader; a problem is recorded and the fallback returned. */
  const read = <T>(field: ImportField, value: CellValue<T>, fallback: T): T => {
    if (value.ok) return value.value;
    problem(field, value.message);
    return fallback;
  };
  /** A text cell through a shared schema; an empty optional cell is null. */
  const text = (field: ImportField, schema: z.ZodType<string>, required: boolean): string | null => {
    const value = cell(field).trim();
    if (value === '') {
      if (required) problem(field, `is empty; every order needs ${importFieldSpecs[field].label.toLowerCase()}`);
      return null;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      problem(field, `${clipCell(value)}: ${parsed.error.issues[0]?.message ?? 'not accepted'}`);
      return null;
    }
    return parsed.data;
  };

  const orderRef = text('orderRef', OrderRef, true);
  const customerName = text('customerName', CustomerName, true);
  const address = text('address', Address, true);
  const phone = text('phone', Phone, false);
  const email = text('email', Email, false);
  const notes = text('notes', DeliveryNotes, false) ?? '';

  let coordinates: ImportedOrder['coordinates'] = null;
  if (has('lat') || has('lng')) {
    if (!has('lat') || !has('lng')) {
      problem(has('lat') ? 'lng' : 'lat', 'is empty; a position needs both latitude and longitude');
    } else {
      const lat = read('lat', readDecimal(cell('lat')), null);
      const lng = read('lng', readDecimal(cell('lng')), null);
      if (lat !== null && !Latitude.safeParse(lat).success) problem('lat', `${lat} is out of range: a latitude is between -90 and 90`);
      else if (lng !== null && !Longitude.safeParse(lng).success) problem('lng', `${lng} is out of range: a longitude is between -180 and 180`);
      else if (lat !== null && lng !== null) coordinates = { lat, lng };
    }
  }

  const window = windows.read(has('windowStart') ? cell('windowStart') : null, has('windowEnd') ? cell('windowEnd') : null, problem);

  const barcodes = has('barcodes') ? readList(cell('barcodes')) : [];
  const barcodesOk = Barcodes.safeParse(barcodes);
  if (!barcodesOk.success) problem('barcodes', `${clipCell(cell('barcodes'))}: ${barcodesOk.error.issues[0]?.message ?? 'not accepted'}`);
  let parcelCount = has('parcelCount') ? read('parcelCount', readWholeNumber(cell('parcelCount')), null) : Math.max(1, barcodes.length);
  if (parcelCount !== null && !ParcelCount.safeParse(parcelCount).success) {
    problem('parcelCount', `${parcelCount} parcels is more than one stop takes (${maxParcelsPerStop})`);
    parcelCount = null;
  } else if (parcelCount !== null && barcodes.length > parcelCount) {
    problem('barcodes', `lists ${barcodes.length} barcodes for ${parcelCount} parcels`);
  }
  const minimumAge = has('minAge') ? read('minAge', readMinimumAge(cell('minAge')), null) : null;
  const idCheck = has('idCheck') ? read('idCheck', readYesNo(cell('idCheck')), false) : false;
  const pinRequired = has('pinRequired') ? read('pinRequired', readYesNo(cell('pinRequired')), false) : false;

  let route: ImportedOrder['route'] | null = null;
  if (has('routeId')) {
    const id = EntityId.safeParse(cell('routeId').trim());
    if (id.success) route = { id: id.data };
    else problem('routeId', `${clipCell(cell('routeId'))} is not a route id`);
  } else if (has('routeName')) {
    const name = cell('routeName').trim();
    if (name.length > 200) problem('routeName', 'is longer than 200 characters');
    else route = { name };
  } else {
    problem(mapping.routeId !== undefined ? 'routeId' : 'routeName', 'is empty; every order goes on a route');
  }

  const billing = readBilling(mapping, options, has, cell, read, text, problem);

  if (problems.length > 0 || orderRef === null || customerName === null || address === null || window === null || parcelCount === null || route === null) {
    return { row, ref: cell('orderRef').trim().slice(0, 200) || null, order: null, problems };
  }
  return {
    row,
    ref: orderRef,
    problems,
    order: {
      row, orderRef, customerName, address, coordinates, phone, email, notes, window, parcelCount, barcodes, minimumAge, idCheck, pinRequired, route, billing,
    },
  };
}

/**
 * Reading window times for one file: the day's edges worked out once, and each distinct cell
 * text read once (a file's windows repeat a few slots of one day).
 */
class WindowReader {
  readonly #options: ImportOptions;
  readonly #dayStart: number;
  readonly #dayEnd: number;
  readonly #times = new Map<string, CellValue<number>>();
  readonly #days = new Map<number, string>();

  constructor(options: ImportOptions) {
    this.#options = options;
    const day = parseIsoDate(options.date)!;
    // An open side of the window is the edge of the import's day.
    this.#dayStart = depotTimeToEpoch(options.timeZone, { ...day, hour: 0, minute: 0 })!;
    this.#dayEnd = depotTimeToEpoch(options.timeZone, { ...day, hour: 23, minute: 59 })!;
  }

  #time(cell: string): CellValue<number> {
    let v = this.#times.get(cell);
    if (v === undefined) {
      v = readWindowTime(cell, this.#options);
      if (this.#times.size < 10_000) this.#times.set(cell, v);
    }
    return v;
  }

  #dayOf(at: number): string {
    let day = this.#days.get(at);
    if (day === undefined) {
      day = depotDateOf(this.#options.timeZone, at);
      if (this.#days.size < 10_000) this.#days.set(at, day);
    }
    return day;
  }

  read(startCell: string | null, endCell: string | null, problem: (field: ImportField, message: string) => void): TimeWindow | null {
    let start: number | null = this.#dayStart;
    let end: number | null = this.#dayEnd;
    if (startCell !== null) {
      const v = this.#time(startCell);
      start = v.ok ? v.value : null;
      if (!v.ok) problem('windowStart', v.message);
    }
    if (endCell !== null) {
      const v = this.#time(endCell);
      end = v.ok ? v.value : null;
      if (!v.ok) problem('windowEnd', v.message);
    }
    if (start === null || end === null) return null;
    if (end < start) {
      problem('windowEnd', `the window ends (${clipCell(endCell ?? '')}) before it starts (${clipCell(startCell ?? '')})`);
      return null;
    }
    const startDay = this.#dayOf(start);
    if (startDay !== this.#options.date) {
      problem('windowStart', `the window is on ${startDay}, but this import is for ${this.#options.date}`);
      return null;
    }
    return { start, end };
  }
}

function readBilling(
  mapping: ColumnMapping, options: ImportOptions, has: (f: ImportField) => boolean, cell: (f: ImportField) => string,
  read: <T>(field: ImportField, value: CellValue<T>, fallback: T) => T,
  text: (field: ImportField, schema: z.ZodType<string>, required: boolean) => string | null,
  problem: (field: ImportField, message: string) => void,
): ImportedOrder['billing'] {
  if (!billingImportFields.some((f) => mapping[f] !== undefined)) return null;
  const paymentRef = text('paymentRef', PaymentRef, false);
  const currencyCell = has('currency') ? cell('currency').trim().toUpperCase() : options.currency;
  let currency: string | null = null;
  if (currencyCell !== null && currencyCell !== '') {
    if (CurrencyCode.safeParse(currencyCell).success && currencyDecimals(currencyCell) !== null) currency = currencyCell;
    else problem('currency', `${clipCell(currencyCell)} is not a currency code such as EUR`);
  }
  const money = (field: 'amount' | 'fee'): number | null => {
    if (!has(field)) return null;
    if (currency === null) {
      if (!has('currency') && options.currency === null) problem(field, 'has an amount but no currency: add a currency column or choose the currency');
      return null;
    }
    return read(field, readMoney(cell(field), currencyDecimals(currency) ?? 2), null);
  };
  const codAmount = money('amount');
  const deliveryFee = money('fee');
  return { paymentRef, codAmount, deliveryFee, currency };
}

function markDuplicateRefs(rows: ValidatedRow[], column: string | null): void {
  const rowsOf = new Map<string, ValidatedRow[]>();
  for (const r of rows) {
    const ref = r.order?.orderRef;
    if (ref === undefined) continue;
    const list = rowsOf.get(ref);
    if (list) list.push(r);
    else rowsOf.set(ref, [r]);
  }
  for (const [ref, list] of rowsOf) {
    if (list.length < 2) continue;
    for (const r of list) {
      const others = list.filter((o) => o !== r).map((o) => o.row);
      r.problems.push({ row: r.row, column, message: `order ${clipCell(ref)} is also on row${others.length > 1 ? 's' : ''} ${others.join(', ')}: each order once per file` });
      r.order = null;
    }
  }
}
