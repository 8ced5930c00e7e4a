/**
 * The planning calls of the ConsoleService against a real sync-server, the real keychain and real
 * SQLCipher files, through the BridgeDispatcher Electron's IPC uses: each edit is queued as an
 * outbox mutation, shows at once on this device, and reaches the server (and the next console).
 */
import type { BridgeResult, Change } from '@depotline/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../sync-server/test/harness';
import { RestartableServer } from '../../src/core/sync/integration/restartable-server';
import { requireTestKeyring } from '../../src/core/testing/keyring';
import { buildLocation, buildUser, Office, setStatusOf, waitFor } from '../../src/core/sync/integration/sync-fixture';
import { BridgeDispatcher, bridgeHandlersFor } from '../../src/main/bridge/dispatch';
import type { ConsoleService } from '../../src/main/service/console-service';
import { newInstallation, newService } from '../support/console-fixture';

const appSender = { url: 'app://depotline/index.html', isMainFrame: true };
const day = '2026-11-23';
const window = { start: 1_800_000_000_000, end: 1_800_003_600_000 };

describe('planning in the console service against a real sync-server', () => {
  beforeAll(requireTestKeyring);
  let server: TestServer;
  let A: string;
  let B: string;
  let office: Office;
  const cleanup: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    server = await startTestServer('sqlite', { mfaRequiredRoles: new Set() });
    A = (await buildLocation(server.ctx, { name: 'Depot Alpha' })).id;
    B = (await buildLocation(server.ctx, { name: 'Depot Beta' })).id;
    office = await Office.at(server, [A, B], 'manager');
  });
  afterAll(async () => {
    await server.dispose();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function signedIn(role: 'dispatcher' | 'manager' | 'finance' | 'reporting', locationIds = [A]) {
    const i = newInstallation();
    cleanup.push(() => i.dispose());
    const user = await buildUser(server.ctx, { role, locationIds });
    const service = newService(i, server.url);
    cleanup.push(() => service.dispose());
    expect((await service.signIn({ username: user.username, password: user.password })).screen).toBe('console');
    await waitFor(async () => (await service.syncStatus()).connection === 'live' && (await service.data.listLocations()).length > 0, 'the console to sync');
    const bridge = new BridgeDispatcher(bridgeHandlersFor(service), { isTrustedSender: () => true });
    return { user, service, bridge };
  }

  const synced = (service: ConsoleService) => waitFor(async () => (await service.syncStatus()).pendingCount === 0, 'the edits to reach the server');
  const onServer = async (kind: Change['entity'], id: string) => {
    const found = (await office.serverState(A)).filter((c) => c.entity === kind && 'id' in c.data && c.data.id === id).at(-1);
    return found?.data as Record<string, unknown> | undefined;
  };

  it('a dispatcher creates and edits a route, adds a stop with its order, edits it; the server holds each', async () => {
    const { service } = await signedIn('dispatcher');
    const route = await service.planning.createRoute({ locationId: A, name: 'Harbour run', date: day });
    expect(route).toMatchObject({ name: 'Harbour run', date: day, stopCount: 0, pendingEdits: 1 });
    expect((await service.planning.planDay({ locationId: A, date: day })).routes.map((r) => r.id)).toContain(route.id);

    const created = await service.stopOrders.createStop({
      routeId: route.id,
      order: {
        customerName: 'Ada Quay', address: '1 Harbour Street', window, phone: '+44 20 7946 0001', email: 'ada@example.com', notes: 'Ring twice',
        orderRef: 'ORD-1001', parcelCount: 2, barcodes: ['PX-1', 'PX-2'], coordinates: { lat: 51.5, lng: -0.12 }, minimumAge: 18, idCheck: true,
      },
    });
    expect(created.stop).toMatchObject({ routeId: route.id, sequence: 0, orderRef: 'ORD-1001', parcelCount: 2, barcodes: ['PX-1', 'PX-2'], minimumAge: 18, idCheck: true });
    expect(created).toMatchObject({ phone: 'masked', email: 'masked', canEdit: true, canEditBilling: false });
    expect(JSON.stringify(created)).not.toContain('+44 20 7946 0001');
    expect('paymentRef' in created.stop).toBe(false);

    await service.planning.updateRoute({ routeId: route.id, name: 'Harbour run (late)', date: day });
    const edited = await service.stopOrders.updateStop({ stopId: created.stop.id, changes: { address: '2 Harbour Street', parcelCount: 3, notes: 'Ring once' } });
    expect(edited.stop).toMatchObject({ address: '2 Harbour Street', parcelCount: 3, notes: 'Ring once' });

    await synced(service);
    expect(await onServer('route', route.id)).toMatchObject({ name: 'Harbour run (late)', date: day });
    expect(await onServer('stop', created.stop.id)).toMatchObject({
      address: '2 Harbour Street', parcelCount: 3, notes: 'Ring once', orderRef: 'ORD-1001', email: 'ada@example.com', coordinates: { lat: 51.5, lng: -0.12 },
    });
  });

  it('stops are reordered, moved and cancelled in bulk, and a route cancelled; each lands on the server', async () => {
    const { service } = await signedIn('dispatcher');
    const r1 = await office.createRoute(A, 'North 1');
    const r2 = await office.createRoute(A, 'North 2');
    const stops = await office.createStops(A, r1, 4);
    await waitFor(async () => (await service.planning.routePlan({ routeId: r1 })).stops.length === 4, 'the stops to sync');
    const [s0, s1, s2, s3] = stops.map((s) => s.id) as [string, string, string, string];

    const reordered = await service.planning.reorderStops({ routeId: r1, stopIds: [s2, s0, s1, s3] });
    expect(reordered.stops.map((s) => s.id)).toEqual([s2, s0, s1, s3]);
    await expect(service.planning.reorderStops({ routeId: r1, stopIds: [s0, s1] })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/changed meanwhile/) as unknown });

    expect(await service.planning.moveStops({ stopIds: [s1, s3], toRouteId: r2 })).toEqual({ queued: [s1, s3], refused: [] });
    expect((await service.planning.routePlan({ routeId: r2 })).stops.map((s) => s.id)).toEqual([s1, s3]);
    expect((await service.planning.routePlan({ routeId: r1 })).stops.map((s) => s.id)).toEqual([s2, s0]);

    // One of the two is under way: only the planned one is cancelled, the other is named with why.
    await office.expectApplied([setStatusOf(A, s0, 'en_route')]);
    await waitFor(async () => (await service.planning.routePlan({ routeId: r1 })).stops.find((s) => s.id === s0)?.status === 'en_route', 'the status to sync');
    const cancelled = await service.planning.cancelStops({ stopIds: [s2, s0] });
    expect(cancelled.queued).toEqual([s2]);
    expect(cancelled.refused).toEqual([{ id: s0, message: expect.stringMatching(/en route/i) as unknown }]);

    await synced(service);
    expect(await onServer('stop', s2)).toMatchObject({ status: 'cancelled' });
    expect(await onServer('stop', s1)).toMatchObject({ routeId: r2, sequence: 0 });
    expect(await onServer('stop', s3)).toMatchObject({ routeId: r2, sequence: 1 });
    expect(await onServer('stop', s0)).toMatchObject({ routeId: r1, status: 'en_route' });

    // A route under way cannot be cancelled; one that has not started can, and all its planned stops go with it.
    await expect(service.planning.cancelRoute({ routeId: r1 })).rejects.toMatchObject({ code: 'invalid_transition' });
    await service.planning.cancelRoute({ routeId: r2, reason: 'van broke down' });
    await synced(service);
    expect(await onServer('stop', s1)).toMatchObject({ status: 'cancelled' });
    expect(await onServer('stop', s3)).toMatchObject({ status: 'cancelled' });
  });

  it('a manager runs the fleet; a retired driver is refused on a route; a dispatcher may not touch the fleet', async () => {
    const manager = await signedIn('manager');
    const driver = await manager.service.planning.createDriver({ locationId: A, name: 'Dana Driver' });
    const spare = await manager.service.planning.createDriver({ locationId: A, name: 'Sam Spare' });
    const van = await manager.service.planning.createVehicle({ locationId: A, label: 'Van 7', plate: 'AB12 CDE' });
    expect(driver).toMatchObject({ name: 'Dana Driver', retired: false, hasLogin: false });
    await manager.service.planning.updateVehicle({ vehicleId: van.id, label: 'Van 7', plate: 'AB12 XYZ' });
    expect((await manager.service.planning.updateDriver({ driverId: spare.id, name: 'Sam Reserve' })).name).toBe('Sam Reserve');
    await synced(manager.service);
    expect(await onServer('vehicle', van.id)).toMatchObject({ plate: 'AB12 XYZ' });
    await manager.service.planning.retireDriver({ driverId: spare.id });
    await synced(manager.service);
    expect(await onServer('driver', spare.id)).toMatchObject({ retiredAt: expect.any(Number) as unknown });

    const { service, bridge } = await signedIn('dispatcher');
    const routeId = await office.createRoute(A, 'Crew test');
    await waitFor(async () => (await service.planning.planDay({ locationId: A, date: day })).drivers.some((d) => d.id === spare.id), 'the fleet to sync');
    expect(await service.planning.assignRoutes({ routeIds: [routeId], driverId: driver.id, vehicleId: van.id })).toEqual({ queued: [routeId], refused: [] });
    await synced(service);
    // A retired driver is refused: here when this computer knows it, else by the server (shown as a refused edit).
    const refused = await service.planning.assignRoutes({ routeIds: [routeId], driverId: spare.id });
    await synced(service);
    const told = refused.refused.some((r) => /retired/.test(r.message)) || (await service.data.listRejected()).some((n) => /retired/.test(n.reason));
    expect(told).toBe(true);
    await synced(service);
    expect(await onServer('route', routeId)).toMatchObject({ driverId: driver.id, vehicleId: van.id });
    // Unassigning the vehicle keeps the driver.
    await service.planning.assignRoutes({ routeIds: [routeId], vehicleId: null });
    await synced(service);
    expect(await onServer('route', routeId)).toMatchObject({ driverId: driver.id, vehicleId: null });

    for (const [name, args] of [
      ['listFleet', { locationId: A }], ['createDriver', { locationId: A, name: 'Eve' }], ['retireVehicle', { vehicleId: van.id }], ['updateDriver', { driverId: driver.id, name: 'X' }],
    ] as const) {
      expect(await bridge.dispatch(name, appSender, args), name).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }

    // The van is free again: the manager retires it, and the fleet lists who is there.
    await waitFor(async () => (await manager.service.planning.routePlan({ routeId }).catch(() => null))?.route.vehicleId === null, 'the unassignment to reach the manager');
    await manager.service.planning.retireVehicle({ vehicleId: van.id });
    await synced(manager.service);
    expect(await onServer('vehicle', van.id)).toMatchObject({ retiredAt: expect.any(Number) as unknown });
    const fleet = await manager.service.planning.listFleet({ locationId: A });
    expect(fleet.drivers.map((d) => d.name)).toEqual(expect.arrayContaining(['Dana Driver', 'Sam Reserve']));
    expect(fleet.vehicles.find((v) => v.id === van.id)).toMatchObject({ label: 'Van 7', plate: 'AB12 XYZ' });
  });

  it('billing is shown and set only with stop.readBilling; finance never gets notes or phones; reporting edits nothing', async () => {
    const routeId = await office.createRoute(A, 'Billing');
    const [stop] = await office.createStops(A, routeId, 1);
    const manager = await signedIn('manager');
    await waitFor(async () => (await manager.service.planning.routePlan({ routeId })).stops.length === 1, 'the stop to sync');
    const withBilling = await manager.service.stopOrders.updateStop({ stopId: stop!.id, changes: { paymentRef: 'INV-77', codAmount: 1250, currency: 'EUR' } });
    expect(withBilling.stop).toMatchObject({ paymentRef: 'INV-77', codAmount: 1250, currency: 'EUR' });
    await synced(manager.service);

    const dispatcher = await signedIn('dispatcher');
    await waitFor(async () => (await dispatcher.service.stopOrders.stopOrder({ stopId: stop!.id })).stop.status === 'planned', 'the stop to sync');
    const seen = await dispatcher.service.stopOrders.stopOrder({ stopId: stop!.id });
    expect(JSON.stringify(seen)).not.toContain('INV-77');
    expect(seen.canEditBilling).toBe(false);
    await expect(dispatcher.service.stopOrders.updateStop({ stopId: stop!.id, changes: { paymentRef: 'MINE' } })).rejects.toMatchObject({ code: 'forbidden' });
    // A mistake is named and nothing is queued.
    const bad = await dispatcher.bridge.dispatch('updateStop', appSender, { stopId: stop!.id, changes: { window: { start: window.end, end: window.start } } });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringMatching(/ends after it starts/) as unknown } });
    expect((await dispatcher.service.syncStatus()).pendingCount).toBe(0);

    const finance = await signedIn('finance');
    await waitFor(async () => (await finance.service.stopOrders.stopOrder({ stopId: stop!.id }).catch(() => null))?.stop.paymentRef === 'INV-77', 'billing to reach finance');
    const financeView = JSON.stringify(await finance.bridge.dispatch('stopOrder', appSender, { stopId: stop!.id }));
    expect(financeView).not.toContain(stop!.notes);
    expect(financeView).not.toContain(stop!.phone);
    expect(await finance.bridge.dispatch('createRoute', appSender, { locationId: A, name: 'x', date: day })).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    const reporting = await signedIn('reporting');
    const answers: Array<BridgeResult<unknown>> = [];
    for (const [name, args] of [
      ['stopOrder', { stopId: stop!.id }], ['updateStop', { stopId: stop!.id, changes: { parcelCount: 9 } }], ['moveStops', { stopIds: [stop!.id], toRouteId: routeId }],
      ['reorderStops', { routeId, stopIds: [stop!.id] }], ['assignRoutes', { routeIds: [routeId], driverId: null }],
    ] as const) answers.push(await reporting.bridge.dispatch(name, appSender, args));
    expect(JSON.stringify(answers[0])).not.toContain(stop!.customerName);
    for (const answer of answers.slice(1, 4)) expect(answer).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(answers[4]).toMatchObject({ ok: true, value: { queued: [], refused: [{ id: routeId }] } });
  });

  it('a failure reason syncs with the status and shows on another console; a failure without one is refused', async () => {
    const routeId = await office.createRoute(A, 'Failures');
    const [stop] = await office.createStops(A, routeId, 1);
    await office.expectApplied([setStatusOf(A, stop!.id, 'en_route')]);
    const a = await signedIn('dispatcher');
    const b = await signedIn('dispatcher');
    await waitFor(async () => (await a.service.data.stopDetail({ stopId: stop!.id })).stop.status === 'en_route', 'the stop to sync');
    await expect(a.service.data.setStopStatus({ stopId: stop!.id, to: 'failed' })).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/needs a reason/) as unknown });
    await a.service.data.setStopStatus({ stopId: stop!.id, to: 'failed', failureReason: 'customer_absent', reason: 'Nobody home, card left' });
    await waitFor(async () => (await b.service.stopOrders.stopOrder({ stopId: stop!.id })).stop.failureReason === 'customer_absent', 'the failure to reach console B');
    expect((await b.service.stopOrders.stopOrder({ stopId: stop!.id })).stop).toMatchObject({ status: 'failed', failureNote: 'Nobody home, card left' });
  });

  it('two dispatchers reorder the same route offline: both converge on one order, and the one who lost is told with the server value', async () => {
    const restartable = await RestartableServer.start();
    cleanup.push(() => restartable.dispose());
    const X = (await buildLocation(restartable.ctx, { name: 'Depot Offline' })).id;
    const seeder = await Office.at(restartable, [X], 'manager');
    const routeId = await seeder.createRoute(X, 'Contested');
    const ids = (await seeder.createStops(X, routeId, 3)).map((s) => s.id) as [string, string, string];
    const consoles: ConsoleService[] = [];
    for (let n = 0; n < 2; n++) {
      const i = newInstallation();
      cleanup.push(() => i.dispose());
      const user = await buildUser(restartable.ctx, { role: 'dispatcher', locationIds: [X] });
      const service = newService(i, restartable.url);
      cleanup.push(() => service.dispose());
      await service.signIn({ username: user.username, password: user.password });
      await waitFor(async () => (await service.planning.routePlan({ routeId }).catch(() => null))?.stops.length === 3, 'the stops to sync');
      consoles.push(service);
    }
    const [a, b] = consoles as [ConsoleService, ConsoleService];
    await restartable.stop();
    await waitFor(async () => (await a.syncStatus()).connection === 'offline' && (await b.syncStatus()).connection === 'offline', 'both consoles to be offline');
    expect((await a.planning.reorderStops({ routeId, stopIds: [ids[2], ids[1], ids[0]] })).stops.map((s) => s.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect((await b.planning.reorderStops({ routeId, stopIds: [ids[1], ids[0], ids[2]] })).stops.map((s) => s.id)).toEqual([ids[1], ids[0], ids[2]]);
    await restartable.resume();
    for (const c of consoles) await synced(c);
    const order = async (c: ConsoleService) => (await c.planning.routePlan({ routeId })).stops.map((s) => s.id).join();
    await waitFor(async () => (await order(a)) === (await order(b)), 'the two consoles to converge');
    const refusals = [...(await a.data.listRejected()), ...(await b.data.listRejected())].filter((n) => n.type === 'route.reorder');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.serverValue).not.toBeNull();
  });

  it('another depot\'s routes and stops are out of reach', async () => {
    const routeB = await office.createRoute(B, 'Beta only');
    const { bridge } = await signedIn('dispatcher');
    for (const [name, args] of [
      ['planDay', { locationId: B, date: day }], ['routePlan', { routeId: routeB }], ['createRoute', { locationId: B, name: 'x', date: day }],
      ['createStop', { routeId: routeB, order: { customerName: 'x', address: 'y', window } }], ['listFleet', { locationId: B }],
    ] as const) {
      const res = await bridge.dispatch(name, appSender, args);
      expect(res, name).toMatchObject({ ok: false });
      expect(['forbidden', 'not_found']).toContain((res as { error: { code: string } }).error.code);
    }
  });
});
