import { LoginResponse, PullResponse } from '@depotline/shared';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDeviceId, restCall } from '../../test/factories';
import { backends, createTestContext, createTestEnv, startTestServer, type TestServer } from '../../test/harness';
import { verifyAuditChain } from '../audit/verify';
import type { ServerContext } from '../context';
import { dateInZone } from './demo-data';
import { createLocation } from './locations';
import { operatorActor } from './operator';
import { type SeedDemoResult, demoSeedAction, seedDemo } from './seed-demo';

type Seeded = Extract<SeedDemoResult, { status: 'seeded' }>;

async function snapshot(ctx: ServerContext) {
  const head = await ctx.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
  const { rows } = await sql<{ n: number | string }>`select (select count(*) from users) + (select count(*) from stops) + (select count(*) from grants) as n`.execute(ctx.db);
  return { head, rows: Number(rows[0]!.n) };
}

describe.each(backends)('demo dataset (%s)', (backend) => {
  let server: TestServer;
  let seeded: Seeded;
  beforeAll(async () => {
    server = await startTestServer(backend);
    const result = await seedDemo(server.ctx, { locations: 2, routesPerLocation: 2, stopsPerRoute: 3 });
    if (result.status !== 'seeded') throw new Error(`expected a fresh seed, got ${result.status}`);
    seeded = result;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const credential = (username: string) => {
    const c = seeded.users.find((u) => u.username === username);
    if (!c) throw new Error(`no demo user ${username}`);
    return c;
  };
  const login = (username: string) =>
    restCall(server.url, 'POST', '/auth/login', { body: { username, password: credential(username).password, deviceId: newDeviceId() } });

  it('creates depots with today\u2019s routes, drivers, vans and stops, and one account per role', async () => {
    const { ctx } = server;
    expect(seeded).toMatchObject({ locations: ['depot-north', 'depot-south'], drivers: 4, vehicles: 4, routes: 4, stops: 12 });
    expect(seeded.users.map((u) => [u.username, u.role, u.locationIds.join(','), u.mfaAtFirstSignIn])).toEqual([
      ['admin', 'admin', 'depot-north,depot-south', true],
      ['manager.north', 'manager', 'depot-north', true],
      ['dispatcher.north', 'dispatcher', 'depot-north', true],
      ['dispatcher.south', 'dispatcher', 'depot-south', true],
      ['driver.north', 'driver', 'depot-north', false],
      ['finance', 'finance', 'depot-north,depot-south', false],
      ['reporting', 'reporting', 'depot-north,depot-south', false],
      ['contractor.south', 'contractor', 'depot-south', false],
    ]);
    expect(new Set(seeded.users.map((u) => u.password)).size).toBe(seeded.users.length);
    for (const u of seeded.users) expect(u.password).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    expect(credential('contractor.south').expiresAt).toBeGreaterThan(ctx.now());

    const routes = await ctx.db.selectFrom('routes').innerJoin('locations', 'locations.id', 'routes.location_id').select(['routes.id', 'routes.date', 'locations.timezone', 'routes.driver_id', 'routes.vehicle_id']).execute();
    for (const r of routes) {
      expect(r.date).toBe(dateInZone(ctx.now(), r.timezone));
      expect(r.driver_id).not.toBeNull();
      expect(r.vehicle_id).not.toBeNull();
    }
    const grants = await ctx.db.selectFrom('grants').innerJoin('users', 'users.id', 'grants.user_id').select(['users.username', 'grants.role']).execute();
    expect(grants).toHaveLength(seeded.users.length);
    const driverLink = await ctx.db.selectFrom('drivers').innerJoin('users', 'users.id', 'drivers.user_id').select(['drivers.id', 'users.username']).execute();
    expect(driverLink).toEqual([{ id: 'drv-north-1', username: 'driver.north' }]);
  });

  it('audits every write, records the seeding itself, and never stores a password in the clear', async () => {
    const { ctx } = server;
    expect(await verifyAuditChain(ctx.db)).toMatchObject({ ok: true });
    const audit = await ctx.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
    expect(audit.at(-1)).toMatchObject({ action: demoSeedAction, actor: operatorActor().label });
    const everything = JSON.stringify([audit, await ctx.db.selectFrom('users').selectAll().execute()]);
    for (const u of seeded.users) expect(everything).not.toContain(u.password);
  });

  it('the printed passwords sign in; MFA roles are asked to enroll an authenticator', async () => {
    const finance = LoginResponse.parse((await login('finance')).body);
    expect(finance.status).toBe('ok');
    const dispatcher = LoginResponse.parse((await login('dispatcher.north')).body);
    expect(dispatcher.status).toBe('mfa_enrollment_required');
  });

  it('the demo driver sees only their assigned route, and finance sees no phones or notes', async () => {
    const driver = LoginResponse.parse((await login('driver.north')).body);
    if (driver.status !== 'ok') throw new Error('the driver needs no MFA');
    const pulled = PullResponse.parse((await restCall(server.url, 'GET', '/locations/depot-north/changes?after=0', { token: driver.tokens.accessToken })).body);
    const stops = pulled.changes.filter((c) => c.entity === 'stop').map((c) => c.data);
    expect(stops.map((s) => s.routeId)).toEqual(['route-north-1', 'route-north-1', 'route-north-1']);
    expect(stops.every((s) => typeof s.customerName === 'string' && typeof s.notes === 'string')).toBe(true);

    const finance = LoginResponse.parse((await login('finance')).body);
    if (finance.status !== 'ok') throw new Error('finance needs no MFA');
    const south = PullResponse.parse((await restCall(server.url, 'GET', '/locations/depot-south/changes?after=0', { token: finance.tokens.accessToken })).body);
    const southStops = south.changes.filter((c) => c.entity === 'stop').map((c) => c.data);
    expect(southStops).toHaveLength(6);
    expect(southStops.every((s) => s.customerName !== undefined && s.phone === undefined && s.notes === undefined)).toBe(true);
  });

  it('seeding again says so and changes nothing', async () => {
    const before = await snapshot(server.ctx);
    expect(await seedDemo(server.ctx)).toEqual({ status: 'already_seeded', locations: ['depot-north', 'depot-south'] });
    expect(await snapshot(server.ctx)).toEqual(before);
  });
});

describe.each(backends)('demo dataset on a database in use (%s)', (backend) => {
  it('is refused, even when a real depot happens to be called depot-north', async () => {
    const env = await createTestEnv(backend);
    const ctx = await createTestContext(env);
    try {
      await createLocation(ctx, operatorActor(), { id: 'depot-north', name: 'Our real north depot', timezone: 'Europe/Oslo' });
      const before = await snapshot(ctx);
      expect(await seedDemo(ctx)).toEqual({ status: 'not_empty' });
      expect(await snapshot(ctx)).toEqual(before);
    } finally {
      await ctx.db.destroy();
      await env.dispose();
    }
  });
});
