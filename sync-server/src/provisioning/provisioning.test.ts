import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { AuditActor } from '../audit/audit-log';
import { verifyAuditChain } from '../audit/verify';
import type { ServerContext } from '../context';
import { AppError } from '../errors';
import { loadEntityChanges } from '../sync/pull';
import { createDriver, createVehicle } from './fleet';
import { createLocation } from './locations';
import { operatorActor } from './operator';
import { createRoute, createStop } from './delivery-routes';

const actor: AuditActor = { userId: null, label: 'cli:tester', deviceId: null, ip: null };

async function counts(ctx: ServerContext): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['locations', 'drivers', 'vehicles', 'routes', 'stops', 'changes', 'audit_log'] as const) {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(t)}`.execute(ctx.db);
    out[t] = Number(rows[0]!.n);
  }
  return out;
}

async function expectAppError(promise: Promise<unknown>, code: string): Promise<AppError> {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  return err as AppError;
}

const customer = { customerName: 'Zoë Thistlewood', address: '14 Larch Crescent, Northfield NF3 2QA', phone: '+44 7700 900123', notes: 'Side gate code 4821' };
const window = { start: Date.UTC(2026, 10, 23, 8), end: Date.UTC(2026, 10, 23, 10) };

describe.each(backends)('provisioning services (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
  });
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  it('creates a depot, its fleet, a route and a stop, each with a change-log entry and an audit entry', async () => {
    await createLocation(ctx, actor, { id: 'depot-a', name: ' Depot A ', timezone: 'Europe/Berlin' });
    await createLocation(ctx, actor, { id: 'depot-b', name: 'Depot B', timezone: 'America/New_York' });
    const driver = await createDriver(ctx, actor, { locationId: 'depot-a', name: 'Dana Driver' });
    const vehicle = await createVehicle(ctx, actor, { id: 'veh-a1', locationId: 'depot-a', label: 'Van 1', plate: 'B-DL 101' });
    const route = await createRoute(ctx, actor, { id: 'route-a1', locationId: 'depot-a', name: 'Morning', date: '2026-11-23', driverId: driver.id, vehicleId: vehicle.id });
    const stop = await createStop(ctx, actor, { id: 'stop-a1', locationId: 'depot-a', routeId: route.id, ...customer, window });
    const second = await createStop(ctx, actor, { locationId: 'depot-a', routeId: route.id, customerName: 'Ben Quayle', address: '2 Mill Race Walk', phone: null, window });

    expect(driver).toMatchObject({ id: expect.stringMatching(/^drv-[0-9a-f]{12}$/) as unknown, locationId: 'depot-a', userId: null });
    expect(route).toMatchObject({ version: 3, driverId: driver.id, vehicleId: 'veh-a1', updatedBy: 'cli:tester' });
    expect(stop).toMatchObject({ sequence: 0, version: 4, status: 'planned', ...customer, window });
    expect(second).toMatchObject({ sequence: 1, version: 5, phone: null, notes: '' });

    // Versions on versioned rows equal their change-log version, so a console's pull carries them.
    const changes = await ctx.db.selectFrom('changes').select(['version', 'entity', 'entity_id']).where('location_id', '=', 'depot-a').orderBy('version').execute();
    expect(changes).toEqual([
      { version: 1, entity: 'driver', entity_id: driver.id },
      { version: 2, entity: 'vehicle', entity_id: 'veh-a1' },
      { version: 3, entity: 'route', entity_id: 'route-a1' },
      { version: 4, entity: 'stop', entity_id: 'stop-a1' },
      { version: 5, entity: 'stop', entity_id: second.id },
    ]);
    const pulled = await loadEntityChanges(ctx, 'depot-a', changes.map((c) => ({ entity: c.entity as 'stop', id: c.entity_id })));
    expect(pulled.get('stop:stop-a1')).toMatchObject({ entity: 'stop', version: 4, data: { customerName: customer.customerName, phone: customer.phone } });
    expect(pulled.get('route:route-a1')).toMatchObject({ version: 3 });
    expect((await ctx.db.selectFrom('locations').select('version').where('id', '=', 'depot-a').executeTakeFirstOrThrow()).version).toBe(5);

    const audit = await ctx.db.selectFrom('audit_log').select(['action', 'actor', 'target_id', 'location_id', 'details']).orderBy('seq').execute();
    expect(audit.map((a) => [a.action, a.target_id, a.location_id])).toEqual([
      ['location.create', 'depot-a', 'depot-a'], ['location.create', 'depot-b', 'depot-b'], ['driver.create', driver.id, 'depot-a'],
      ['vehicle.create', 'veh-a1', 'depot-a'], ['route.create', 'route-a1', 'depot-a'], ['stop.create', 'stop-a1', 'depot-a'], ['stop.create', second.id, 'depot-a'],
    ]);
    expect(audit.every((a) => a.actor === 'cli:tester')).toBe(true);
    expect(JSON.parse(audit[5]!.details)).toEqual({ fields: ['address', 'customerName', 'notes', 'phone'], routeId: 'route-a1', sequence: 0, window });
    // Neither customer PII nor the driver's name is in the audit log.
    const dump = JSON.stringify(audit);
    for (const text of [...Object.values(customer), 'Ben Quayle', 'Mill Race', 'Dana Driver']) expect(dump).not.toContain(text);
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: true, entries: 7 });
  });

  it('refuses bad input, duplicates and cross-location references, leaving nothing behind', async () => {
    const before = await counts(ctx);
    const bad = await expectAppError(createLocation(ctx, actor, { id: 'depot c', name: '', timezone: 'Atlantis/Lost' }), 'bad_request');
    expect(bad.extra.issues).toEqual(expect.arrayContaining([expect.stringMatching(/^id:/), expect.stringMatching(/^name:/), expect.stringMatching(/^timezone:/)]));
    await expectAppError(createLocation(ctx, actor, { id: 'depot-a', name: 'Again', timezone: 'UTC' }), 'conflict');
    await expectAppError(createVehicle(ctx, actor, { id: 'veh-a1', locationId: 'depot-a', label: 'Van', plate: 'X' }), 'conflict');
    await expectAppError(createDriver(ctx, actor, { locationId: 'depot-zz', name: 'Nobody' }), 'not_found');
    await expectAppError(createDriver(ctx, actor, { locationId: 'depot-a', name: 'Linked', userId: 'no-such-user' }), 'not_found');
    const otherDriver = await createDriver(ctx, actor, { id: 'drv-b1', locationId: 'depot-b', name: 'Bea' });
    const afterDriver = await counts(ctx);
    // A driver of depot B cannot drive a depot A route; the version taken inside the failed
    // transaction is rolled back with it.
    await expectAppError(createRoute(ctx, actor, { locationId: 'depot-a', name: 'R', date: '2026-11-23', driverId: otherDriver.id }), 'not_found');
    await expectAppError(createRoute(ctx, actor, { locationId: 'depot-a', name: 'R', date: '23.11.2026' }), 'bad_request');
    await expectAppError(createStop(ctx, actor, { locationId: 'depot-b', routeId: 'route-a1', ...customer, window }), 'not_found');
    await expectAppError(createStop(ctx, actor, { locationId: 'depot-a', routeId: 'route-a1', ...customer, phone: 'call me', window }), 'bad_request');
    await expectAppError(createStop(ctx, actor, { id: 'stop-a1', locationId: 'depot-a', routeId: 'route-a1', ...customer, window }), 'conflict');
    await expectAppError(createStop(ctx, actor, { locationId: 'depot-a', routeId: 'route-a1', ...customer, window: { start: 10, end: 5 } }), 'bad_request');
    expect(await counts(ctx)).toEqual({ ...before, drivers: before.drivers! + 1, changes: before.changes! + 1, audit_log: before.audit_log! + 1 });
    expect(await counts(ctx)).toEqual(afterDriver);
    expect((await ctx.db.selectFrom('locations').select('version').where('id', '=', 'depot-a').executeTakeFirstOrThrow()).version).toBe(5);
  });

  it('names the OS account of the operator in the audit label', () => {
    expect(operatorActor()).toEqual({ userId: null, label: expect.stringMatching(/^cli:.+/) as unknown, deviceId: null, ip: null });
  });
});
