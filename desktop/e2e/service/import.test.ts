/**
 * The console's order import (issue 11) through the ConsoleService and the BridgeDispatcher,
 * against a real sync-server, the real keychain and real SQLCipher files: a CSV chosen through
 * the open-file stand-in, previewed row by row, queued in outbox batches and delivered; a known
 * order reference updates its stop instead of doubling it, and the mapping is remembered.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ImportFileView, ImportPreviewView, ImportSummaryView } from '@depotline/shared';
import { startTestServer, type TestServer } from '../../../sync-server/test/harness';
import { requireTestKeyring } from '../../src/core/testing/keyring';
import { buildLocation, buildUser, Office, waitFor } from '../../src/core/sync/integration/sync-fixture';
import { BridgeDispatcher, bridgeHandlersFor } from '../../src/main/bridge/dispatch';
import type { ConsoleService } from '../../src/main/service/console-service';
import { newInstallation, newService } from '../support/console-fixture';

const appSender = { url: 'app://depotline/index.html', isMainFrame: true };
const day = '2026-12-01';

describe('importing orders in the console, against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let server: TestServer;
  let A: string;
  let office: Office;
  let files: string;
  let chosen: string | null = null;
  const cleanup: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set(), adminWithoutMfa: true });
    A = (await buildLocation(server.ctx, { name: 'Depot Alpha', timezone: 'Europe/Berlin' })).id;
    office = await Office.at(server, [A], 'manager');
    // The day's route and one order already planned on it.
    await office.expectApplied([
      { id: crypto.randomUUID(), type: 'route.create', locationId: A, createdAt: Date.now(), routeId: 'route-north', name: 'North 1', date: day },
      {
        id: crypto.randomUUID(), type: 'stop.create', locationId: A, createdAt: Date.now(), stopId: 'stop-known', routeId: 'route-north', sequence: 0,
        customerName: 'Known Customer', address: 'Old street 1', phone: null, notes: '', window: { start: Date.UTC(2026, 11, 1, 7), end: Date.UTC(2026, 11, 1, 9) },
        orderRef: 'A-2', parcelCount: 1, barcodes: [],
      },
    ]);
    files = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-import-'));
  });
  afterAll(async () => {
    await server.dispose();
    fs.rmSync(files, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function signedIn(role: 'dispatcher' | 'reporting'): Promise<{ service: ConsoleService; bridge: BridgeDispatcher }> {
    const i = newInstallation();
    cleanup.push(() => i.dispose());
    const user = await buildUser(server.ctx, { role, locationIds: [A] });
    const service = newService(i, server.url, { chooseOpenPath: () => Promise.resolve(chosen) });
    cleanup.push(() => service.dispose());
    expect((await service.signIn({ username: user.username, password: user.password })).screen).toBe('console');
    await waitFor(async () => (await service.data.listLocations()).length > 0, 'the depot to sync');
    return { service, bridge: new BridgeDispatcher(bridgeHandlersFor(service), { isTrustedSender: () => true }) };
  }

  async function call<T>(bridge: BridgeDispatcher, name: Parameters<BridgeDispatcher['dispatch']>[0], args: unknown): Promise<T> {
    const answer = await bridge.dispatch(name, appSender, args);
    if (!answer.ok) throw new Error(`${name}: ${answer.error.code} ${answer.error.message}`);
    return answer.value as T;
  }

  const csv = (rows: string[]) => ['Order;Kunde;Address;From;To;Route;Lat;Lng', ...rows].join('\r\n');

  it('previews, imports in batches and syncs: the known order is updated, not doubled; a bad row is skipped with its reason', async () => {
    const { service, bridge } = await signedIn('dispatcher');
    chosen = path.join(files, 'orders.csv');
    fs.writeFileSync(chosen, csv([
      'A-1;Jane Doe;Hafenstr. 1;09:00;11:00;North 1;53,55;9,99',
      'A-2;Known Customer;New street 2;09:00;10:00;North 1;;',
      'A-3;"=HYPERLINK(""http://evil.example"";""Joe"")";Lindenweg 3;10:00;12:00;South 1;;',
      'A-4;Bad Coordinates;Street 4;10:00;12:00;North 1;95;10',
    ]));
    const file = await call<ImportFileView>(bridge, 'importChooseFile', { locationId: A });
    expect(file).toMatchObject({ outcome: 'chosen', fileName: 'orders.csv', rowCount: 4 });
    expect(file.outcome === 'chosen' && file.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    if (file.outcome !== 'chosen') return;
    expect(file.mapping).toMatchObject({ orderRef: 'Order', customerName: 'Kunde', address: 'Address', routeName: 'Route', lat: 'Lat', lng: 'Lng' });
    expect(file.fields.map((f) => f.field)).not.toContain('amount'); // a dispatcher may not set billing

    const args = { locationId: A, mapping: file.mapping, date: day, currency: null };
    const { address: _address, ...withoutAddress } = file.mapping;
    const missing = await call<ImportPreviewView>(bridge, 'importPreview', { ...args, mapping: withoutAddress, offset: 0, limit: 50 });
    expect(missing.problems).toEqual(['No column is chosen for "Address", which every order needs.']);

    const preview = await call<ImportPreviewView>(bridge, 'importPreview', { ...args, offset: 0, limit: 50 });
    expect(preview).toMatchObject({ problems: [], counts: { create: 2, update: 1, skip: 1 }, invalid: 1, newRoutes: ['South 1'], matching: 4 });
    expect(preview.rows.map((r) => [r.row, r.action])).toEqual([[2, 'create'], [3, 'update'], [4, 'create'], [5, 'skip']]);
    expect(preview.rows[1]!.changes).toEqual(['address', 'window']);
    expect(preview.rows[3]!.problems).toEqual([{ column: 'Lat', message: '95 is out of range: a latitude is between -90 and 90' }]);
    const onlyProblems = await call<ImportPreviewView>(bridge, 'importPreview', { ...args, offset: 0, limit: 50, onlyProblems: true });
    expect(onlyProblems.rows.map((r) => r.row)).toEqual([5]);

    const summary = await call<ImportSummaryView>(bridge, 'importApply', args);
    expect(summary).toEqual({ created: 2, updated: 1, routesCreated: 1, skipped: 1, skippedRows: [{ row: 5, reason: 'Lat: 95 is out of range: a latitude is between -90 and 90' }] });
    expect(await call(bridge, 'importProgress', {})).toBeNull();

    await service.data.syncNow();
    await waitFor(async () => (await service.data.syncNow()).pendingCount === 0, 'the import to reach the server');
    const stops = (await office.serverState(A)).filter((c) => c.entity === 'stop').map((c) => c.data);
    expect(stops.map((s) => s.orderRef).sort()).toEqual(['A-1', 'A-2', 'A-3']);
    const known = stops.find((s) => s.orderRef === 'A-2')!;
    expect(known).toMatchObject({ id: 'stop-known', address: 'New street 2', window: { start: Date.UTC(2026, 11, 1, 8), end: Date.UTC(2026, 11, 1, 9) } });
    expect(stops.find((s) => s.orderRef === 'A-1')).toMatchObject({ coordinates: { lat: 53.55, lng: 9.99 }, routeId: 'route-north', sequence: 1 });
    // A formula in a text column is the customer's name as written: stored as text, never run.
    expect(stops.find((s) => s.orderRef === 'A-3')?.customerName).toBe('=HYPERLINK("http://evil.example";"Joe")');

    // The same file again changes nothing, and the mapping the user applied is remembered.
    const again = await call<ImportFileView>(bridge, 'importChooseFile', { locationId: A });
    expect(again.outcome === 'chosen' && again.mapping).toEqual(file.mapping);
    const repeat = await call<ImportPreviewView>(bridge, 'importPreview', { ...args, offset: 0, limit: 50 });
    expect(repeat.counts).toEqual({ create: 0, update: 0, skip: 4 });
  });

  it('is refused to a viewer without route and stop editing', async () => {
    const { bridge } = await signedIn('reporting');
    chosen = path.join(files, 'orders.csv');
    const answer = await bridge.dispatch('importChooseFile', appSender, { locationId: A });
    expect(answer).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });
});
