import { describe, expect, it } from 'vitest';
import type { Route, Stop } from '../domain';
import { Mutation } from '../mutations';
import {
  type ColumnMapping, importMutations, type ImportOptions, mappingProblems, maxImportRows, parseCsv, planImport, readCsvOrderFile,
  sheetFromCellRows, suggestColumnMapping, validateOrderRows, type ValidatedRow, xlsxCellText,
} from './index';

/** Byte encoders without Node's Buffer (shared has no Node types). */
const utf8 = (text: string) => Uint8Array.from((encodeURIComponent(text).match(/%[0-9A-F]{2}|[^%]/g) ?? []).map((t) => (t.length === 3 ? parseInt(t.slice(1), 16) : t.charCodeAt(0))));
const utf16le = (text: string) => Uint8Array.from([...text].flatMap((c) => [c.charCodeAt(0) & 0xff, c.charCodeAt(0) >> 8]));
const latin1 = (text: string) => Uint8Array.from([...text].map((c) => c.charCodeAt(0)));
const options: ImportOptions = { date: '2026-12-01', timeZone: 'Europe/Berlin', currency: 'EUR', mayImportBilling: true };
const header = 'order,customer,address,lat,lng,phone,from,to,route,parcels,barcodes,age check,id check,amount';
const mapping: ColumnMapping = suggestColumnMapping(header.split(','));

function sheetOf(lines: string[]) {
  const read = readCsvOrderFile(utf8([header, ...lines].join('\r\n')));
  if (!read.ok) throw new Error(read.message);
  return read.sheet;
}

function rowsOf(lines: string[], opts: ImportOptions = options): ValidatedRow[] {
  const v = validateOrderRows(sheetOf(lines), mapping, opts);
  if (!v.ok) throw new Error(v.problems.join('\n'));
  return v.rows;
}

const messages = (rows: ValidatedRow[]) => rows.flatMap((r) => r.problems.map((p) => `row ${p.row} ${p.column ?? '-'}: ${p.message}`));

describe('reading an order file', () => {
  it('reads UTF-8 with and without a byte-order mark, and UTF-16 with one', () => {
    const text = 'order,customer\nA-1,Jürgen Müller\n';
    for (const bytes of [utf8(text), new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(text)]), new Uint8Array([0xff, 0xfe, ...utf16le(text)])]) {
      const read = readCsvOrderFile(bytes);
      expect(read.ok && read.sheet).toEqual({ header: ['order', 'customer'], rows: [{ row: 2, cells: ['A-1', 'Jürgen Müller'] }] });
    }
  });

  it('refuses Windows-1252 plainly, saying how to save the file, instead of garbling names', () => {
    const read = readCsvOrderFile(latin1('order,customer\nA-1,J\xfcrgen M\xfcller\n'));
    expect(read.ok).toBe(false);
    expect(!read.ok && read.message).toMatch(/not UTF-8.*Windows-1252.*CSV UTF-8/);
    const binary = readCsvOrderFile(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x00, 0x9c, 0xff]));
    expect(!binary.ok && binary.message).toMatch(/not UTF-8 text|NUL/);
  });

  it('follows RFC 4180: quoted separators, doubled quotes, line breaks in cells, ; and tab separators', () => {
    const read = parseCsv('a,b\r\n"x, y","say ""hi"""\r\n"two\nlines",z', { maxRows: 10 });
    expect(read.ok && read.sheet.rows).toEqual([{ row: 2, cells: ['x, y', 'say "hi"'] }, { row: 3, cells: ['two\nlines', 'z'] }]);
    const semi = parseCsv('a;b\n1,5;2\n', { maxRows: 10 });
    expect(semi.ok && semi.sheet.rows[0]!.cells).toEqual(['1,5', '2']);
    const tab = parseCsv('a\tb\n1\t2', { maxRows: 10 });
    expect(tab.ok && tab.sheet.rows[0]!.cells).toEqual(['1', '2']);
    const open = parseCsv('a,b\n"never closed,2\n3,4', { maxRows: 10 });
    expect(!open.ok && open.message).toMatch(/Row 2: a quoted cell is never closed/);
  });

  it('refuses a file of 100,000 rows up front, whole', () => {
    const lines = ['order,customer,address'];
    for (let i = 0; i < 100_000; i++) lines.push(`A-${i},Name ${i},Street ${i}`);
    const read = readCsvOrderFile(utf8(lines.join('\n')));
    expect(read.ok).toBe(false);
    expect(!read.ok && read.message).toBe(`The file has more than ${maxImportRows.toLocaleString('en-US')} orders, the most one import takes. Nothing was imported: split it into smaller files.`);
    const exactly = readCsvOrderFile(utf8(lines.slice(0, maxImportRows + 1).join('\n')));
    expect(exactly.ok && exactly.sheet.rows.length).toBe(maxImportRows);
  });
});

describe('column mapping', () => {
  it('suggests fields from the header, the remembered mapping first', () => {
    expect(mapping).toMatchObject({ orderRef: 'order', customerName: 'customer', address: 'address', lat: 'lat', lng: 'lng', windowStart: 'from', windowEnd: 'to', routeName: 'route', parcelCount: 'parcels', minAge: 'age check', idCheck: 'id check', amount: 'amount' });
    expect(suggestColumnMapping(['Ref', 'Kunde', 'Street', 'Route ID'])).toEqual({ orderRef: 'Ref', customerName: 'Kunde', address: 'Street', routeId: 'Route ID' });
    expect(suggestColumnMapping(['a', 'b', 'c'], { orderRef: 'c', customerName: 'gone' })).toEqual({ orderRef: 'c' });
  });

  it('names missing columns, a column used twice and a half position', () => {
    expect(mappingProblems(['name', 'lat'], { customerName: 'name', address: 'name', lat: 'lat' })).toEqual([
      'No column is chosen for "Order reference", which every order needs.',
      'No column is chosen for the route: choose "Route name" (new names create routes) or "Route id".',
      'Latitude and longitude go together: choose both columns or neither.',
      'The column "name" is chosen for both "Customer name" and "Address".',
    ]);
    const v = validateOrderRows({ header: ['customer'], rows: [] }, { customerName: 'customer', routeName: 'x' }, options);
    expect(!v.ok && v.problems).toContain('The column "x" chosen for "Route name" is not in this file.');
  });

  it('refuses billing columns to an importer without billing access', () => {
    const v = validateOrderRows(sheetOf([]), mapping, { ...options, mayImportBilling: false });
    expect(!v.ok && v.problems).toEqual(['Your access does not include billing data: leave out the columns for "Amount to collect".']);
  });
});

describe('checking rows', () => {
  it('turns a good row into an order: depot-time window, decimal comma, age, amount in cents', () => {
    const [row] = rowsOf(['A-1,Jane Doe,"Hafenstr. 1, Hamburg","53,55",9.99,+49 40 123,09:00,2026-12-01 11:30,North,2,P1 P2,yes,x,12.50']);
    expect(row!.problems).toEqual([]);
    expect(row!.order).toMatchObject({
      orderRef: 'A-1', customerName: 'Jane Doe', address: 'Hafenstr. 1, Hamburg', coordinates: { lat: 53.55, lng: 9.99 }, phone: '+49 40 123',
      window: { start: Date.UTC(2026, 11, 1, 8, 0), end: Date.UTC(2026, 11, 1, 10, 30) }, parcelCount: 2, barcodes: ['P1', 'P2'],
      minimumAge: 18, idCheck: true, route: { name: 'North' }, billing: { codAmount: 1250, currency: 'EUR', deliveryFee: null, paymentRef: null },
    });
  });

  it('says per row and column what is wrong: out-of-range coordinates, reversed window, empty name, bad phone', () => {
    const rows = rowsOf([
      'A-1,Jane,Street 1,91,10,,,,North,,,,,',
      'A-2,Joe,Street 2,50,-181,,,,North,,,,,',
      'A-3,Ann,Street 3,,,,12:00,09:00,North,,,,,',
      'A-4,,Street 4,,,call me,,,North,,,,,',
      'A-5,Bo,Street 5,,,,,,,,,maybe,,',
    ]);
    expect(messages(rows)).toEqual([
      'row 2 lat: 91 is out of range: a latitude is between -90 and 90',
      'row 3 lng: -181 is out of range: a longitude is between -180 and 180',
      'row 4 to: the window ends (“09:00”) before it starts (“12:00”)',
      'row 5 customer: is empty; every order needs customer name',
      'row 5 phone: “call me”: phone numbers use digits, spaces, ( ) - and a leading +',
      'row 6 age check: “maybe” is neither an age (such as 18) nor yes or no',
      'row 6 route: is empty; every order goes on a route',
    ]);
    expect(rows.every((r) => r.order === null)).toBe(true);
  });

  it('flags every row of a duplicated order reference, and imports none of them', () => {
    const rows = rowsOf(['A-1,Jane,Street 1,,,,,,North,,,,,', 'A-2,Joe,Street 2,,,,,,North,,,,,', 'A-1,Jane B,Street 9,,,,,,North,,,,,']);
    expect(messages(rows)).toEqual([
      'row 2 order: order “A-1” is also on row 4: each order once per file',
      'row 4 order: order “A-1” is also on row 2: each order once per file',
    ]);
    expect(rows.map((r) => r.order?.orderRef ?? null)).toEqual([null, 'A-2', null]);
  });

  it('never evaluates a formula: text stays text, a number or time cell with one is refused', () => {
    const rows = rowsOf([
      'A-1,"=HYPERLINK(""http://evil.example"",""click"")",Street 1,,,,,,North,,,,,',
      'A-2,Joe,Street 2,=1+1,10,,=NOW(),,North,,,,,=SUM(A1:A9)',
    ]);
    expect(rows[0]!.order?.customerName).toBe('=HYPERLINK("http://evil.example","click")');
    expect(messages(rows)).toEqual([
      'row 3 lat: holds a formula (“=1+1”); formulas are never calculated on import: put the value itself in the cell',
      'row 3 from: holds a formula (“=NOW()”); formulas are never calculated on import: put the value itself in the cell',
      'row 3 amount: holds a formula (“=SUM(A1:A9)”); formulas are never calculated on import: put the value itself in the cell',
    ]);
  });

  it('refuses a window on another day, and a time skipped by the clock change', () => {
    const rows = rowsOf(['A-1,Jane,Street 1,,,,2026-12-02 09:00,2026-12-02 10:00,North,,,,,'], options);
    expect(messages(rows)).toEqual(['row 2 from: the window is on 2026-12-02, but this import is for 2026-12-01']);
    const spring = rowsOf(['A-1,Jane,Street 1,,,,02:30,04:00,North,,,,,'], { ...options, date: '2026-03-29' });
    expect(messages(spring)[0]).toMatch(/does not exist in Europe\/Berlin/);
  });
});

describe('planning an import', () => {
  const route = (id: string, name: string, date = '2026-12-01'): Route => ({ id, locationId: 'l1', name, date, driverId: null, vehicleId: null, version: 1, updatedAt: 0, updatedBy: null });
  const stop = (id: string, orderRef: string, status: Stop['status'] = 'planned'): Stop => ({
    id, locationId: 'l1', routeId: 'r-north', sequence: 4, customerName: 'Jane', address: 'Street 1', phone: null, notes: '', orderRef,
    parcelCount: 1, barcodes: [], coordinates: null, email: null, minimumAge: null, idCheck: false, paymentRef: null, codAmount: null,
    deliveryFee: null, currency: null, failureReason: null, failureNote: null,
    window: { start: Date.UTC(2026, 10, 30, 23, 0), end: Date.UTC(2026, 11, 1, 22, 59) }, status, eta: null, version: 3, updatedAt: 0, updatedBy: null,
  });

  it('creates new orders, updates the stop that has the reference, skips unchanged, delivered and unknown-route rows', () => {
    const noBilling = { ...options, mayImportBilling: false };
    const m: ColumnMapping = { orderRef: 'order', customerName: 'customer', address: 'address', routeName: 'route' };
    const sheet = parseCsv(['order,customer,address,route', 'A-1,Jane,Street 1,North', 'A-2,Jane,Street 1,North', 'A-3,Jim,Street 3,North', 'A-4,Ann,Street 4,south', 'A-5,Bo,Street 5,South', 'A-6,,x,North'].join('\n'), { maxRows: 10 });
    if (!sheet.ok) throw new Error(sheet.message);
    const v = validateOrderRows(sheet.sheet, m, noBilling);
    if (!v.ok) throw new Error(v.problems.join());
    const existing = new Map([['A-1', stop('s1', 'A-1')], ['A-2', stop('s2', 'A-2', 'delivered')], ['A-3', stop('s3', 'A-3')]]);
    const plan = planImport(v.rows, { date: '2026-12-01', routes: [route('r-north', 'North'), route('r-old', 'South', '2026-11-30')], existing });
    expect(plan.rows.map((r) => [r.row, r.action, r.reason])).toEqual([
      [2, 'skip', 'order A-1 is already there, unchanged'],
      [3, 'skip', 'order A-2 is already delivered: it is not changed'],
      [4, 'update', null],
      [5, 'create', null],
      [6, 'create', null],
      [7, 'skip', 'customer: is empty; every order needs customer name'],
    ]);
    expect(plan.rows[2]!.changes).toEqual(['customerName', 'address']);
    expect(plan.newRoutes).toEqual(['south']);
    expect(plan.counts).toEqual({ create: 2, update: 1, skip: 3 });

    let n = 0;
    const planned = importMutations(plan, { locationId: 'l1', date: '2026-12-01', now: 5, sequenceAfter: () => 7 }, {
      mutationId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, entityId: (kind) => `${kind}-${n}`,
    });
    const mutations = planned.map((p) => p.mutation);
    expect(planned.map((p) => p.row)).toEqual([null, 4, 5, 6]);
    expect(mutations.map((x) => Mutation.parse(x).type)).toEqual(['route.create', 'stop.update', 'stop.create', 'stop.create']);
    const creates = mutations.filter((x) => x.type === 'stop.create');
    expect(creates.map((c) => [c.routeId, c.sequence, c.orderRef])).toEqual([['route-0', 0, 'A-4'], ['route-0', 1, 'A-5']]);
  });

  it('skips a row naming a route id the depot does not have', () => {
    const sheet = parseCsv('order,customer,address,route id\nA-1,Jane,Street 1,r-nowhere', { maxRows: 10 });
    if (!sheet.ok) throw new Error(sheet.message);
    const v = validateOrderRows(sheet.sheet, { orderRef: 'order', customerName: 'customer', address: 'address', routeId: 'route id' }, options);
    if (!v.ok) throw new Error(v.problems.join());
    const plan = planImport(v.rows, { date: '2026-12-01', routes: [], existing: new Map() });
    expect(plan.rows[0]).toMatchObject({ action: 'skip', reason: 'route r-nowhere is not known at this depot' });
  });
});

describe('spreadsheet cells', () => {
  it('reads a formula cell as its formula text, never its cached result; dates as the wall clock', () => {
    expect(xlsxCellText({ formula: 'HYPERLINK("http://evil.example","x")', result: 'x' })).toBe('=HYPERLINK("http://evil.example","x")');
    expect(xlsxCellText({ sharedFormula: 'A1', result: 3 })).toBe('=A1');
    expect(xlsxCellText({ richText: [{ text: 'Jane ' }, { text: 'Doe' }] })).toBe('Jane Doe');
    expect(xlsxCellText(new Date(Date.UTC(2026, 11, 1, 9, 30)))).toBe('2026-12-01 09:30');
    expect(xlsxCellText(new Date(Date.UTC(1899, 11, 30, 14, 0)))).toBe('14:00');
    expect(xlsxCellText(52.5)).toBe('52.5');
    const read = sheetFromCellRows([{ row: 1, values: ['order', 'name'] }, { row: 2, values: [] }, { row: 3, values: ['A-1', { formula: '1+1', result: 2 }] }], 10);
    expect(read.ok && read.sheet).toEqual({ header: ['order', 'name'], rows: [{ row: 3, cells: ['A-1', '=1+1'] }] });
  });
});
