import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessHolder, Group, Grant } from '@depotline/shared';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';

/** `depotline-admin group ...`, `grant add --group` and `access show`, in process, on both databases. */
describe.each(backends)('depotline-admin groups (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    expect((await runAdmin(env, ['location', 'create', '--id', 'depot-north', '--name', 'North', '--timezone', 'Europe/Berlin'])).code).toBe(0);
    expect((await runAdmin(env, ['user', 'create', '--username', 'dana', '--name', 'Dana'])).code).toBe(0);
  });
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  const count = async (table: 'permission_groups' | 'grants' | 'audit_log') =>
    Number((await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(ctx.db)).rows[0]!.n);

  it('creates a denial group, grants it next to a role, shows who holds what, updates and retires it', async () => {
    const bad = await runAdminJson(env, ['group', 'create', '--name', 'oops', '--allow', 'location.read,stop.fly', '--locations', 'depot-north']);
    expect(bad.code).toBe(1);
    expect(JSON.stringify(bad.json)).toContain('--allow.1: unknown permission \\"stop.fly\\"');
    expect(await count('permission_groups')).toBe(0);

    const created = await runAdminJson<{ group: Group }>(env, ['group', 'create', '--name', 'no-phones', '--allow', '', '--deny', 'stop.readPhone', '--locations', 'depot-north']);
    expect(created).toMatchObject({ code: 0, json: { group: { name: 'no-phones', permissions: [], denials: ['stop.readPhone'], mfaRequired: true, version: 1 } } });

    expect((await runAdmin(env, ['grant', 'add', '--user', 'dana', '--role', 'dispatcher', '--locations', 'depot-north'])).code).toBe(0);
    const grant = await runAdminJson<{ grant: Grant }>(env, ['grant', 'add', '--user', 'dana', '--group', 'no-phones', '--locations', 'depot-north']);
    expect(grant).toMatchObject({ code: 0, json: { grant: { role: null, groupName: 'no-phones' } } });
    expect((await runAdmin(env, ['grant', 'add', '--user', 'dana', '--group', 'nope', '--locations', 'depot-north'])).code).toBe(1);
    expect((await runAdmin(env, ['grant', 'add', '--user', 'dana', '--role', 'finance', '--group', 'no-phones', '--locations', 'depot-north'])).code).toBe(1);

    const access = await runAdminJson<{ holders: AccessHolder[] }>(env, ['access', 'show', '--location', 'depot-north']);
    const dana = access.json.holders.find((h) => h.username === 'dana')!;
    expect(dana.denials).toEqual(['stop.readPhone']);
    expect(dana.permissions).toContain('stop.readNotes');
    expect(dana.permissions).not.toContain('stop.readPhone');
    expect((await runAdmin(env, ['access', 'show', '--location', 'depot-north'])).stdout).toContain('denied: stop.readPhone');

    const updated = await runAdminJson<{ group: Group }>(env, ['group', 'update', '--group', 'no-phones', '--deny', 'stop.readPhone,stop.readNotes', '--expected-version', '1']);
    expect(updated).toMatchObject({ code: 0, json: { group: { denials: ['stop.readNotes', 'stop.readPhone'], version: 2, holders: 1 } } });
    expect((await runAdmin(env, ['group', 'update', '--group', 'no-phones', '--description', 'late', '--expected-version', '1'])).code).toBe(1);
    expect((await runAdminJson<{ groups: Group[] }>(env, ['group', 'list'])).json.groups.map((g) => g.name)).toEqual(['no-phones']);
    expect((await runAdmin(env, ['group', 'show', '--group', 'no-phones'])).stdout).toContain('denies: stop.readNotes, stop.readPhone');

    const retired = await runAdminJson<{ revokedGrantIds: string[]; changed: boolean }>(env, ['group', 'retire', '--group', 'no-phones']);
    expect(retired.json).toEqual(expect.objectContaining({ revokedGrantIds: [grant.json.grant.id], changed: true }));
    expect((await runAdminJson(env, ['group', 'retire', '--group', 'no-phones'])).json).toMatchObject({ changed: false });
    expect((await runAdminJson<{ groups: Group[] }>(env, ['group', 'list'])).json.groups).toEqual([]);

    const actions = (await ctx.db.selectFrom('audit_log').select('action').where('target_type', 'in', ['group']).orderBy('seq').execute()).map((a) => a.action);
    expect(actions).toEqual(['group.create', 'group.update', 'group.retire']);
  });
});
