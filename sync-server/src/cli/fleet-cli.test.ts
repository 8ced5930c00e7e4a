/**
 * `depotline-admin driver|vehicle update|retire|list` on SQLite and PostgreSQL: the same rules
 * as the console's fleet mutations, audited as the operator, each change in the location's
 * change log so consoles pull it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';

const cliTimeout = 180_000;

describe.each(backends)('depotline-admin fleet commands (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    expect((await runAdminJson(env, ['location', 'create', '--id', 'depot-east', '--name', 'East Depot', '--timezone', 'Europe/Berlin'])).code).toBe(0);
  }, cliTimeout);
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  const audit = async (action: string) =>
    (await ctx.db.selectFrom('audit_log').select(['actor', 'actor_user_id', 'target_id', 'details']).where('action', '=', action).execute())
      .map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));

  it('renames a driver, refuses to retire one with routes to do, retires them once free, and lists them', async () => {
    expect((await runAdminJson(env, ['driver', 'create', '--location', 'depot-east', '--name', 'Rosa Parks', '--id', 'drv-rosa'])).code).toBe(0);
    expect(await runAdminJson(env, ['driver', 'update', '--id', 'drv-rosa', '--name', 'Rosa L. Parks'])).toMatchObject({ code: 0, json: { driver: { id: 'drv-rosa', name: 'Rosa L. Parks' } } });
    expect(await audit('driver.update')).toEqual([{ actor: expect.any(String) as string, actor_user_id: null, target_id: 'drv-rosa', details: { fields: ['name'] } }]);

    const now = ctx.now();
    await ctx.db.insertInto('routes').values({ id: 'r-east', location_id: 'depot-east', name: 'East', date: '2026-11-23', driver_id: 'drv-rosa', vehicle_id: null, version: 1, updated_at: now, updated_by: 'test' }).execute();
    await ctx.db.insertInto('stops').values({
      id: 's-east', location_id: 'depot-east', route_id: 'r-east', sequence: 0, customer_name_enc: 'x', address_enc: 'x', phone_enc: null, notes_enc: 'x',
      window_start: 1, window_end: 2, status: 'planned', eta: null, version: 1, updated_at: now, updated_by: 'test',
    }).execute();
    const busy = await runAdminJson(env, ['driver', 'retire', '--id', 'drv-rosa']);
    expect(busy).toMatchObject({ code: 1, json: { error: { code: 'conflict' } } });
    expect((await ctx.db.selectFrom('drivers').select('retired_at').where('id', '=', 'drv-rosa').executeTakeFirstOrThrow()).retired_at).toBeNull();

    await ctx.db.updateTable('stops').set({ status: 'delivered' }).where('id', '=', 's-east').execute();
    const retired = await runAdminJson<{ driver: { retiredAt: string } }>(env, ['driver', 'retire', '--id', 'drv-rosa']);
    expect(retired.code).toBe(0);
    expect(retired.json.driver.retiredAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect((await audit('driver.retire'))[0]).toMatchObject({ actor_user_id: null, target_id: 'drv-rosa', details: { retired: { from: false, to: true } } });
    expect(await runAdminJson(env, ['driver', 'retire', '--id', 'drv-rosa'])).toMatchObject({ code: 1, json: { error: { code: 'conflict' } } });

    const list = await runAdmin(env, ['driver', 'list', '--location', 'depot-east']);
    expect(list.stdout).toMatch(/^drv-rosa\tRosa L\. Parks\tno login\tretired /m);
    const changes = await ctx.db.selectFrom('changes').select('entity').where('entity_id', '=', 'drv-rosa').execute();
    expect(changes.map((c) => c.entity)).toEqual(['driver', 'driver', 'driver']); // created, renamed, retired
    expect(JSON.stringify(await ctx.db.selectFrom('audit_log').select('details').execute())).not.toContain('Rosa');
  }, cliTimeout);

  it('relabels and retires a vehicle with from/to in the audit; bad input changes nothing', async () => {
    expect((await runAdminJson(env, ['vehicle', 'create', '--location', 'depot-east', '--label', 'Van 1', '--plate', 'B-E 1', '--id', 'veh-e1'])).code).toBe(0);
    expect(await runAdminJson(env, ['vehicle', 'update', '--id', 'veh-e1', '--plate', 'B-E 11'])).toMatchObject({ code: 0, json: { vehicle: { label: 'Van 1', plate: 'B-E 11' } } });
    expect((await audit('vehicle.update'))[0]!.details).toEqual({ fields: ['plate'], plate: { from: 'B-E 1', to: 'B-E 11' } });
    expect(await runAdminJson(env, ['vehicle', 'update', '--id', 'veh-e1'])).toMatchObject({ code: 1, json: { error: { code: 'bad_request' } } });
    expect(await runAdminJson(env, ['vehicle', 'update', '--id', 'veh-none', '--label', 'X'])).toMatchObject({ code: 1, json: { error: { code: 'not_found' } } });
    expect((await runAdminJson(env, ['vehicle', 'retire', '--id', 'veh-e1'])).code).toBe(0);
    const list = await runAdminJson<{ vehicles: { id: string; retiredAt: string | null }[] }>(env, ['vehicle', 'list', '--location', 'depot-east']);
    expect(list.json.vehicles).toEqual([expect.objectContaining({ id: 'veh-e1', retiredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) as string })]);
    expect(await runAdminJson(env, ['vehicle', 'list', '--location', 'depot-nowhere'])).toMatchObject({ code: 1, json: { error: { code: 'not_found' } } });
  }, cliTimeout);
});
