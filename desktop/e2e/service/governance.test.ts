/**
 * The console's governance calls (issue 10) through the ConsoleService and the BridgeDispatcher,
 * against a real sync-server, the real keychain and real SQLCipher files: permission groups and
 * who holds what, the approvals inbox and a requester's own requests, and exports written where
 * the save dialog (here a stand-in that names a path) says.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exportTableStartRow, type ApprovalView, type GroupFields } from '@depotline/shared';
import { restCall, signIn as restSignIn, type BuiltUser } from '../../../sync-server/test/factories';
import { startTestServer, type TestServer } from '../../../sync-server/test/harness';
import { requireTestKeyring } from '../../src/core/testing/keyring';
import { buildLocation, buildUser, Office, waitFor } from '../../src/core/sync/integration/sync-fixture';
import { BridgeDispatcher, bridgeHandlersFor } from '../../src/main/bridge/dispatch';
import type { ConsoleService } from '../../src/main/service/console-service';
import type { SaveSuggestion } from '../../src/main/service/export-save';
import { newInstallation, newService } from '../support/console-fixture';

const appSender = { url: 'app://depotline/index.html', isMainFrame: true };
const bulkRows = 4;

describe('groups, approvals and exports in the console, against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let server: TestServer;
  let A: string;
  let B: string;
  let downloads: string;
  const cleanup: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    // Password-only sign-ins (no TOTP codes to spend), and a bulk limit small enough to reach.
    server = await startTestServer('sqlite', {
      mfaRequiredRoles: new Set(), adminWithoutMfa: true, exports: { maxRangeDays: 31, bulkRows },
    });
    A = (await buildLocation(server.ctx, { name: 'Depot Alpha' })).id;
    B = (await buildLocation(server.ctx, { name: 'Depot Beta' })).id;
    const office = await Office.at(server, [A], 'manager');
    // A fixed day inside the export ranges below, whatever today is.
    await office.createStops(A, await office.createRoute(A, 'Alpha 1', '2026-11-25'), 3);
    downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-exports-'));
  });
  afterAll(async () => {
    await server.dispose();
    fs.rmSync(downloads, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  /** Signed in, depots synced; `save` stands in for the native save dialog. */
  async function signedIn(user: BuiltUser, save?: (s: SaveSuggestion) => string | null): Promise<ConsoleService & { asked: SaveSuggestion[] }> {
    const i = newInstallation();
    cleanup.push(() => i.dispose());
    const asked: SaveSuggestion[] = [];
    const service = newService(i, server.url, save ? { chooseSavePath: (s) => { asked.push(s); return Promise.resolve(save(s)); } } : {});
    cleanup.push(() => service.dispose());
    expect((await service.signIn({ username: user.username, password: user.password })).screen).toBe('console');
    await waitFor(async () => (await service.data.listLocations()).length > 0, 'the depots to sync');
    return Object.assign(service, { asked });
  }

  const group = (fields: Partial<GroupFields> = {}): GroupFields => ({
    name: `night-${Math.random().toString(36).slice(2, 8)}`, description: 'Night shift', permissions: ['location.read', 'stop.readCustomer', 'stop.setStatus'],
    denials: ['stop.readPhone'], locationIds: [A], mfaRequired: false, mustExpire: false, ...fields,
  });

  it('an admin creates, edits and retires a group and sees who holds what; a dispatcher is refused everything', async () => {
    const admin = await signedIn(await buildUser(server.ctx, { role: 'admin', locationIds: [A, B], displayName: 'Ada Admin' }));
    const dispatcher = await signedIn(await buildUser(server.ctx, { role: 'dispatcher', locationIds: [A] }));
    const bridge = new BridgeDispatcher(bridgeHandlersFor(admin), { isTrustedSender: () => true });

    const created = await bridge.dispatch('createGroup', appSender, { locationId: A, group: group({ name: 'night-dispatch' }) });
    expect(created).toMatchObject({ ok: true, value: { outcome: 'applied', group: { name: 'night-dispatch', version: 1, denials: ['stop.readPhone'] } } });
    if (!created.ok) return;
    const made = (created.value as { group: { id: string; locations: unknown } }).group;
    expect(made.locations).toEqual([{ id: A, name: 'Depot Alpha' }]);

    // A holder of the group, granted over REST by another admin: who holds what names the group and applies the denial.
    const holder = await buildUser(server.ctx, { displayName: 'Nina Night' });
    const granter = await buildUser(server.ctx, { role: 'admin', locationIds: [A] });
    const { tokens } = await restSignIn(server.url, server.ctx, granter);
    expect((await restCall(server.url, 'POST', '/grants', { token: tokens.accessToken, body: { userId: holder.id, groupId: made.id, locationIds: [A] } })).status).toBe(201);
    const holders = await admin.governance.locationAccess({ locationId: A });
    expect(holders.find((h) => h.username === holder.username)).toEqual({
      username: holder.username, displayName: 'Nina Night', mfaRequired: false, expiresAt: null,
      grants: [{ role: null, groupName: 'night-dispatch', locations: [{ id: A, name: 'Depot Alpha' }], expiresAt: null }],
      permissions: ['location.read', 'stop.readCustomer', 'stop.setStatus'], assignedPermissions: [], denials: ['stop.readPhone'],
    });
    expect(JSON.stringify(holders)).not.toContain(holder.id);

    // An edit from a stale copy is refused, and what was asked changes nothing.
    const edited = await admin.governance.updateGroup({ locationId: A, id: made.id, expectedVersion: 1, group: group({ name: 'night-dispatch', denials: [] }) });
    expect(edited).toMatchObject({ outcome: 'applied', group: { version: 2, denials: [] } });
    await expect(admin.governance.updateGroup({ locationId: A, id: made.id, expectedVersion: 1, group: group({ name: 'night-dispatch' }) }))
      .rejects.toMatchObject({ code: 'bad_request' });
    expect((await admin.governance.listGroups({ locationId: A })).find((g) => g.id === made.id)).toMatchObject({ version: 2, holders: 1 });

    // An unknown permission never leaves main: the bridge refuses the arguments.
    expect(await bridge.dispatch('createGroup', appSender, { locationId: A, group: { ...group(), permissions: ['stop.readEverything'] } }))
      .toMatchObject({ ok: false, error: { code: 'bad_request' } });

    const retired = await admin.governance.retireGroup({ locationId: A, id: made.id });
    expect(retired).toMatchObject({ outcome: 'applied', group: { retiredAt: expect.any(Number) as unknown } });
    expect((await admin.governance.listGroups({ locationId: A })).map((g) => g.id)).not.toContain(made.id);
    expect((await admin.governance.listGroups({ locationId: A, includeRetired: true })).map((g) => g.id)).toContain(made.id);
    expect((await admin.governance.locationAccess({ locationId: A })).map((h) => h.username)).not.toContain(holder.username);

    // The dispatcher holds no group.manage: main refuses before asking the server.
    for (const call of [
      () => dispatcher.governance.listGroups({ locationId: A }),
      () => dispatcher.governance.locationAccess({ locationId: A }),
      () => dispatcher.governance.createGroup({ locationId: A, group: group() }),
      () => dispatcher.governance.retireGroup({ locationId: A, id: made.id }),
    ]) await expect(call()).rejects.toMatchObject({ code: 'forbidden' });
    // And an admin of A only gets nothing of B.
    await expect(admin.governance.listGroups({ locationId: 'depot-nowhere' })).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('who holds what is shown to a manager (grant.manage without group.manage); the groups are not', async () => {
    const manager = await signedIn(await buildUser(server.ctx, { role: 'manager', locationIds: [A] }));
    expect((await manager.governance.locationAccess({ locationId: A })).length).toBeGreaterThan(0);
    await expect(manager.governance.listGroups({ locationId: A })).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('the approval notice names every kind of sensitive permission, from the shared set', async () => {
    const admin = await signedIn(await buildUser(server.ctx, { role: 'admin', locationIds: [A] }));
    const deciders = group({ name: 'deciders', permissions: ['location.read', 'approval.decide'], denials: [] });
    const refused = admin.governance.createGroup({ locationId: A, group: deciders });
    await expect(refused).rejects.toMatchObject({ code: 'approval_required' });
    await expect(refused).rejects.toThrow(/hand out access, decide approvals, read the audit log, export data, delete proof of delivery or govern retention and customer privacy/);
  });

  it('a group that gives export or audit permissions waits for a second admin, who reads the exact group before approving it', async () => {
    const admin = await signedIn(await buildUser(server.ctx, { role: 'admin', locationIds: [A] }));
    const second = await signedIn(await buildUser(server.ctx, { role: 'admin', locationIds: [A] }));
    const reporting = group({ name: 'month-end', permissions: ['location.read', 'export.operational'], denials: [] });

    await expect(admin.governance.createGroup({ locationId: A, group: reporting })).rejects.toMatchObject({ code: 'approval_required' });
    const asked = await admin.governance.createGroup({ locationId: A, group: reporting, reason: 'Finance needs month-end exports' });
    expect(asked).toMatchObject({ outcome: 'pending_approval', approval: { kind: 'group.sensitive', status: 'pending', mine: true } });
    if (asked.outcome !== 'pending_approval') return;
    expect((await admin.governance.listGroups({ locationId: A })).map((g) => g.name)).not.toContain('month-end');

    const seen = (await second.governance.approvals()).toDecide.find((a) => a.id === asked.approval.id);
    expect(seen?.change).toEqual(expect.arrayContaining([
      { field: 'op', value: 'create' }, { field: 'group.name', value: 'month-end' },
      { field: 'group.permissions', value: 'location.read, export.operational' }, { field: 'group.locationIds', value: `Depot Alpha (${A})` },
    ]));
    expect(await second.governance.decideApproval({ id: asked.approval.id, approve: true })).toMatchObject({ status: 'approved' });
    expect((await admin.governance.listGroups({ locationId: A })).find((g) => g.name === 'month-end')).toMatchObject({ permissions: ['location.read', 'export.operational'] });
  });

  it('an export below the bulk limit is saved where the user chose; closing the dialog saves and exports nothing', async () => {
    let target: string | null = path.join(downloads, 'alpha.csv');
    const finance = await signedIn(await buildUser(server.ctx, { role: 'finance', locationIds: [A] }), () => target);
    const range = { locationId: A, from: '2026-11-20', to: '2026-11-30' } as const;

    expect(await finance.governance.exportPreview({ ...range, classes: ['operational'] })).toMatchObject({ rowCount: 3, needsApproval: false, bulkRows });
    // A range beyond the server's policy is refused with the server's reason, in words.
    await expect(finance.governance.exportPreview({ ...range, from: '2026-01-01', classes: ['operational'] }))
      .rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('31') as unknown });
    // Finance holds export.operational but not export.customer: main refuses the customer class.
    await expect(finance.governance.exportStops({ ...range, classes: ['operational', 'customer'], format: 'csv' })).rejects.toMatchObject({ code: 'forbidden' });

    const saved = await finance.governance.exportStops({ ...range, classes: ['operational'], format: 'csv' });
    expect(saved).toEqual({ outcome: 'saved', path: target, rows: 3 });
    expect(finance.asked).toEqual([{ fileName: 'depot-alpha-stops-2026-11-20-to-2026-11-30.csv', format: 'csv' }]);
    const lines = fs.readFileSync(target, 'utf8').split(/\r?\n/);
    expect(lines[0]).toContain('Depotline export');
    expect(lines[exportTableStartRow - 1]).toMatch(/^route_date,route_id,stop_id,/);
    expect(lines.join('\n')).not.toMatch(/Kundin|Birkenallee/);
    expect(fs.statSync(target).mode & 0o777).toBe(0o600);

    const audited = () => server.ctx.db.selectFrom('audit_log').select('seq').where('action', '=', 'export.stops').execute();
    const before = (await audited()).length;
    target = null;
    expect(await finance.governance.exportStops({ ...range, classes: ['operational'], format: 'xlsx' })).toEqual({ outcome: 'cancelled' });
    expect((await audited()).length).toBe(before);
    expect(fs.readdirSync(downloads)).toEqual(['alpha.csv']);

    // A folder that cannot be written: a plain error, and no half file left.
    target = path.join(downloads, 'missing-folder', 'x.csv');
    await expect(finance.governance.exportStops({ ...range, classes: ['operational'], format: 'csv' })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('the folder does not exist') as unknown });
  });

  it('a bulk export becomes a request: the approver sees exactly what, the requester cannot decide it, and it is downloaded once after approval', async () => {
    const office = await Office.at(server, [A], 'manager');
    await office.createStops(A, await office.createRoute(A, 'Alpha 2', '2026-11-25'), bulkRows);
    const rita = await buildUser(server.ctx, { role: 'manager', locationIds: [A] });
    const abe = await buildUser(server.ctx, { role: 'manager', locationIds: [A] });
    const target = path.join(downloads, 'bulk.xlsx');
    const requester = await signedIn(rita, () => target);
    const approver = await signedIn(abe);
    const request = { locationId: A, from: '2026-11-20', to: '2026-11-30', classes: ['operational' as const], format: 'xlsx' as const };

    await expect(requester.governance.exportStops(request)).rejects.toMatchObject({ code: 'approval_required', message: expect.stringContaining('Say why') as unknown });
    const asked = await requester.governance.exportStops({ ...request, reason: 'Month-end reconciliation' });
    expect(asked).toMatchObject({ outcome: 'pending_approval', approval: { kind: 'export.bulk', status: 'pending', mine: true, mayDecide: false } });
    if (asked.outcome !== 'pending_approval') return;
    const id = asked.approval.id;
    expect(requester.asked).toEqual([]);

    // Nobody else's decision waits for the requester; one waits for the approver, with the exact change.
    expect(await requester.governance.approvalNotices()).toEqual({ awaitingDecision: 0 });
    expect(await approver.governance.approvalNotices()).toEqual({ awaitingDecision: 1 });
    const inbox = (await approver.governance.approvals()).toDecide;
    const seen = inbox.find((a) => a.id === id) as ApprovalView;
    expect(seen).toMatchObject({ requestedBy: rita.username, reason: 'Month-end reconciliation', mayDecide: true, mine: false });
    expect(seen.change).toEqual(expect.arrayContaining([
      { field: 'locationId', value: `Depot Alpha (${A})` }, { field: 'from', value: '2026-11-20' }, { field: 'to', value: '2026-11-30' },
      { field: 'format', value: 'xlsx' }, { field: 'classes', value: 'operational' },
    ]));
    expect(seen.locations).toEqual([{ id: A, name: 'Depot Alpha' }]);

    // The requester cannot approve their own request, whatever the page would send.
    await expect(requester.governance.decideApproval({ id, approve: true })).rejects.toMatchObject({ code: 'forbidden', message: expect.stringContaining('someone else has to decide it') as unknown });
    await expect(requester.governance.downloadApprovedExport({ id })).rejects.toMatchObject({ code: 'not_found' });

    const approved = await approver.governance.decideApproval({ id, approve: true, note: 'ok for March' });
    expect(approved).toMatchObject({ status: 'approved', decidedBy: abe.username, decisionNote: 'ok for March', mayDecide: false });
    const mine = (await requester.governance.approvals()).mine.find((a) => a.id === id);
    expect(mine).toMatchObject({ status: 'approved', canDownload: true });
    expect(await approver.governance.approvalNotices()).toEqual({ awaitingDecision: 0 });

    const saved = await requester.governance.downloadApprovedExport({ id });
    expect(saved).toMatchObject({ outcome: 'saved', path: target, rows: bulkRows + 3 });
    expect(fs.readFileSync(target).subarray(0, 2).toString('latin1')).toBe('PK');
    expect((await requester.governance.approvals()).mine.find((a) => a.id === id)).toMatchObject({ canDownload: false, usedAt: expect.any(Number) as unknown });
    await expect(requester.governance.downloadApprovedExport({ id })).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('a request can be withdrawn by its requester; a denial needs a note and the requester reads it', async () => {
    const requester = await signedIn(await buildUser(server.ctx, { role: 'manager', locationIds: [A] }), () => null);
    const approver = await signedIn(await buildUser(server.ctx, { role: 'admin', locationIds: [A] }));
    const bulk = { locationId: A, from: '2026-11-20', to: '2026-11-30', classes: ['operational' as const], format: 'csv' as const, reason: 'Audit sample' };
    const first = await requester.governance.exportStops(bulk);
    const second = await requester.governance.exportStops(bulk);
    if (first.outcome !== 'pending_approval' || second.outcome !== 'pending_approval') throw new Error('expected two requests');

    expect(await requester.governance.withdrawApproval({ id: first.approval.id })).toMatchObject({ status: 'withdrawn' });
    await expect(approver.governance.decideApproval({ id: first.approval.id, approve: true })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('already decided, withdrawn or used') as unknown });

    const bridge = new BridgeDispatcher(bridgeHandlersFor(approver), { isTrustedSender: () => true });
    expect(await bridge.dispatch('decideApproval', appSender, { id: second.approval.id, approve: false })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await bridge.dispatch('decideApproval', appSender, { id: second.approval.id, approve: false, note: 'Use the monthly report instead' }))
      .toMatchObject({ ok: true, value: { status: 'denied' } });
    const mine = (await requester.governance.approvals()).mine;
    expect(mine.find((a) => a.id === second.approval.id)).toMatchObject({ status: 'denied', decisionNote: 'Use the monthly report instead', canDownload: false });
    expect(mine.find((a) => a.id === first.approval.id)).toMatchObject({ status: 'withdrawn' });
  });
});
