/**
 * An export holds exactly what the same user's sync pull gives them, for every role template,
 * on SQLite and PostgreSQL: the export reuses the pull's redaction, and these tests compare the
 * file with a pull made over REST, read back as a spreadsheet user would.
 */
import {
  exportClassPermission, exportDataClasses, type ExportDataClass, type ExportStopsRequest, type Permission, roleNames, roleTemplates,
} from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addExportFixtures, exportFrom, exportTo, pullEverything, readCsvExport, readXlsxExport, tableFromPull,
} from '../../test/export-files';
import { backends } from '../../test/harness';
import { buildWorld, type World } from '../../test/world';
import { loadAccessProfile } from '../access/access-profile';
import { createGrant } from '../access/grants';
import { applyGroupCreate } from '../access/groups';
import { loadViewerScope } from '../sync/visibility';
import { countExportRows } from './export-rows';
import { buildExport, type ExportViewer } from './export-stops';

const timeZone = 'Europe/Berlin';
const exportPermissions = Object.values(exportClassPermission);
const classesOf = (role: (typeof roleNames)[number]): ExportDataClass[] =>
  exportDataClasses.filter((c) => roleTemplates[role].permissions.includes(exportClassPermission[c]));

async function download(w: World, token: string, query: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(`${w.server.url}/api/v1/locations/${w.A}/exports/stops?${query}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

describe.each(backends)('export contents equal the sync pull (%s)', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend, 3);
    await addExportFixtures(w);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it.each(roleNames)('%s: the REST export (CSV and XLSX) is the pull, or refused when the role may not export', async (role) => {
    const user = w.users[role];
    const classes = classesOf(role);
    const query = (format: string, cs: readonly string[]) => `from=${exportFrom}&to=${exportTo}&format=${format}&classes=${cs.join(',')}`;
    if (classes.length === 0) {
      const refused = await download(w, user.token, query('csv', ['operational']));
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body.toString('utf8'))).toMatchObject({ error: { code: 'forbidden' } });
      const denied = await w.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'export.stops').where('actor_user_id', '=', user.id).execute();
      expect(denied.map((d) => [d.outcome, JSON.parse(d.details) as unknown])).toEqual([['denied', expect.objectContaining({ reason: 'permission', classes: ['operational'] })]]);
      return;
    }
    const expected = tableFromPull(await pullEverything(w, user.token, w.A), classes, exportFrom, exportTo, timeZone);
    expect(expected.length).toBeGreaterThan(5);
    const csv = await download(w, user.token, query('csv', classes));
    expect(csv.status).toBe(200);
    const fromCsv = readCsvExport(csv.body);
    expect(fromCsv.rows).toEqual(expected);
    expect(fromCsv.header.Rows).toBe(String(expected.length));
    const xlsx = await download(w, user.token, query('xlsx', classes));
    expect(xlsx.status).toBe(200);
    expect((await readXlsxExport(xlsx.body)).rows).toEqual(expected);
    // A class the role does not hold is refused as a whole, not silently dropped.
    const missing = exportDataClasses.filter((c) => !classes.includes(c));
    if (missing.length > 0) expect((await download(w, user.token, query('csv', exportDataClasses))).status).toBe(403);
  });

  it.each(roleNames)('%s with the export permissions added: buildExport gives the pull, row for row, and the cheap count agrees', async (role) => {
    // Roles without an export permission today (dispatcher, driver, contractor) could get one from a
    // custom group: their export must still be their pull (drivers: own routes only; no notes for
    // contractors). The export permissions are added to the view they hold.
    const user = w.users[role];
    const now = w.ctx.now();
    const scope = await loadViewerScope(w.ctx.db, await loadAccessProfile(w.ctx.db, user.id, now), w.A, now);
    const view = scope.view!;
    const plus = (set: ReadonlySet<Permission>) => (set.size === 0 ? set : new Set([...set, ...exportPermissions]));
    const viewer: ExportViewer = { actor: { userId: user.id, label: user.username, deviceId: null, ip: null }, name: user.username, scope: { ...scope, view: { ...view, general: plus(view.general), assigned: plus(view.assigned) } } };
    const request: ExportStopsRequest = { locationId: w.A, from: exportFrom, to: exportTo, format: 'csv', classes: [...exportDataClasses] };
    const built = await buildExport(w.ctx, w.ctx.db, viewer, request, now);
    const expected = tableFromPull(await pullEverything(w, user.token, w.A), exportDataClasses, exportFrom, exportTo, timeZone);
    expect(readCsvExport(built.file.body).rows).toEqual(expected);
    expect(built.rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? '' : String(v)])))).toEqual(expected);
    expect(await countExportRows(w.ctx.db, viewer.scope, request)).toBe(built.rowCount);
    if (role === 'driver') expect(new Set(built.rows.map((r) => r.route_id))).toEqual(new Set([w.routes.A1]));
    if (role === 'finance') {
      // export.customer, but no stop.readPhone and no stop.readNotes: names and addresses, never phones or notes.
      expect(built.rows.every((r) => r.phone === null && r.notes === null)).toBe(true);
      expect(built.rows.filter((r) => r.stop_id !== null).every((r) => typeof r.customer_name === 'string' && typeof r.address === 'string')).toBe(true);
    }
    if (role === 'contractor') {
      expect(built.rows.every((r) => r.notes === null)).toBe(true);
      expect(built.rows.some((r) => typeof r.phone === 'string')).toBe(true);
    }
  });

  // Runs last: it gives the dispatcher and the driver more access.
  it('a custom group that grants the export permissions, and one that denies phones, change the export exactly as they change the pull', async () => {
    const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };
    const group = (name: string, permissions: Permission[], denials: Permission[]) => w.ctx.db.transaction().execute((trx) => applyGroupCreate(trx, operator, {
      name, description: '', permissions, denials, locationIds: [w.A], mfaRequired: false, mustExpire: false,
    }, w.ctx.now()));
    const exporters = await group('exporters', exportPermissions, []);
    const query = `from=${exportFrom}&to=${exportTo}&classes=operational,customer`;
    const same = async (role: 'dispatcher' | 'driver') => {
      const user = w.users[role];
      const file = await download(w, user.token, query);
      expect(file.status).toBe(200);
      const rows = readCsvExport(file.body).rows;
      expect(rows).toEqual(tableFromPull(await pullEverything(w, user.token, w.A), ['operational', 'customer'], exportFrom, exportTo, timeZone));
      return rows;
    };
    for (const role of ['dispatcher', 'driver'] as const) await createGrant(w.ctx, operator, { userId: w.users[role].id, groupId: exporters.id, locationIds: [w.A] });
    expect((await same('dispatcher')).some((r) => r.phone !== '')).toBe(true);
    // The driver's own routes only: the group adds export permissions, not other drivers' routes.
    expect(new Set((await same('driver')).map((r) => r.route_id))).toEqual(new Set([w.routes.A1]));

    const noPhones = await group('no phones', [], ['stop.readPhone']);
    await createGrant(w.ctx, operator, { userId: w.users.dispatcher.id, groupId: noPhones.id, locationIds: [w.A] });
    const rows = await same('dispatcher');
    expect(rows.every((r) => r.phone === '')).toBe(true);
    expect(rows.some((r) => r.notes !== '' && r.customer_name !== '')).toBe(true);
  });
});
