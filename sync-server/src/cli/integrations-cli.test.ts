import type { IntegrationView } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import type { ServerContext } from '../context';

/** `depotline-admin integration create|list|show|update|suspend|resume|allowlist|profile`, in process, on both databases. */
describe.each(backends)('depotline-admin integrations (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    expect((await runAdmin(env, ['location', 'create', '--id', 'depot-north', '--name', 'North', '--timezone', 'Europe/Berlin'])).code).toBe(0);
    expect((await runAdmin(env, ['location', 'create', '--id', 'depot-south', '--name', 'South', '--timezone', 'Europe/Berlin'])).code).toBe(0);
  });
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  const count = async () => (await ctx.db.selectFrom('integrations').select('id').execute()).length;

  it('registers, lists, shows, changes, suspends and resumes an integration, each audited as the operator', async () => {
    const create = ['integration', 'create', '--name', 'acme-shop', '--kind', 'shop', '--contact', 'ops@acme.example', '--locations', 'depot-north', '--scopes', 'orders.write,status.read'];
    for (const [extra, message] of [
      [['--allowlist', '10.1.2.3/8'], 'did you mean 10.0.0.0/8'],
      [['--profile', 'orderRef,phone'], 'approval'],
      [['--scopes', 'stop.edit'], 'not an integration scope'],
    ] as const) {
      const bad = await runAdminJson(env, [...create, ...extra]);
      expect(bad.code).toBe(1);
      expect(JSON.stringify(bad.json)).toContain(message);
    }
    expect((await runAdminJson(env, [...create.filter((a) => a !== '--scopes' && a !== 'orders.write,status.read')])).code).toBe(2);
    expect(await count()).toBe(0);

    const created = await runAdminJson<{ integration: IntegrationView }>(env, [...create, '--allowlist', '192.0.2.0/24,::ffff:198.51.100.0/120']);
    expect(created).toMatchObject({
      code: 0,
      json: { integration: { name: 'acme-shop', scopes: [{ locationId: 'depot-north', permissions: ['orders.write', 'status.read'] }], ipAllowlist: ['192.0.2.0/24', '198.51.100.0/24'], warnings: [] } },
    });
    expect((await runAdmin(env, create)).code).toBe(1);

    const listed = await runAdminJson<{ integrations: IntegrationView[] }>(env, ['integration', 'list', '--location', 'depot-south']);
    expect(listed.json.integrations).toEqual([]);
    expect((await runAdmin(env, ['integration', 'show', '--integration', 'acme-shop'])).stdout).toContain('at depot-north: orders.write, status.read');
    // Which orders it reads: only its own until the operator chooses every order at its locations; nothing else is accepted.
    expect(created.json.integration.orderVisibility).toBe('own');
    expect((await runAdmin(env, ['integration', 'update', '--integration', 'acme-shop', '--orders', 'everything'])).code).toBe(1);
    expect((await runAdminJson(env, ['integration', 'update', '--integration', 'acme-shop', '--orders', 'location'])).json)
      .toMatchObject({ integration: { orderVisibility: 'location', version: 2 } });
    expect((await runAdmin(env, ['integration', 'show', '--integration', 'acme-shop'])).stdout).toContain('every order at its locations');
    expect((await runAdminJson(env, ['integration', 'update', '--integration', 'acme-shop', '--orders', 'own'])).json)
      .toMatchObject({ integration: { orderVisibility: 'own', version: 3 } });

    // The operator is trusted: contact fields on without a second person, still audited.
    const widened = await runAdminJson<{ integration: IntegrationView }>(env, ['integration', 'update', '--integration', 'acme-shop', '--profile', 'orderRef,status,phone', '--allowlist', '', '--expected-version', '3']);
    expect(widened).toMatchObject({ code: 0, json: { integration: { dataProfile: ['orderRef', 'status', 'phone'], ipAllowlist: [], version: 4 } } });
    expect(widened.json.integration.warnings.join(' ')).toContain('any address');
    expect((await runAdmin(env, ['integration', 'update', '--integration', 'acme-shop', '--contact', 'x', '--expected-version', '1'])).code).toBe(1);
    expect((await runAdmin(env, ['integration', 'update', '--integration', 'acme-shop', '--locations', 'depot-south'])).code).toBe(1);

    // One list edited without restating it; entries compared in canonical form.
    expect((await runAdminJson(env, ['integration', 'allowlist', '--integration', 'acme-shop', '--add', '192.0.2.0/24,2001:DB8::/32'])).json)
      .toMatchObject({ integration: { ipAllowlist: ['192.0.2.0/24', '2001:db8::/32'] } });
    expect((await runAdminJson(env, ['integration', 'allowlist', '--integration', 'acme-shop', '--remove', '::ffff:192.0.2.0/120'])).json)
      .toMatchObject({ integration: { ipAllowlist: ['2001:db8::/32'] } });
    expect((await runAdmin(env, ['integration', 'allowlist', '--integration', 'acme-shop', '--add', '300.1.1.1'])).code).toBe(1);
    expect((await runAdmin(env, ['integration', 'allowlist', '--integration', 'acme-shop'])).code).toBe(1);
    expect((await runAdminJson(env, ['integration', 'profile', '--integration', 'acme-shop', '--add', 'eta', '--remove', 'phone'])).json)
      .toMatchObject({ integration: { dataProfile: ['orderRef', 'status', 'eta'], version: 7 } });

    expect((await runAdminJson(env, ['integration', 'suspend', '--integration', 'acme-shop', '--reason', 'partner asked'])).json).toMatchObject({ integration: { suspendedReason: 'partner asked' } });
    expect((await runAdmin(env, ['integration', 'show', '--integration', 'acme-shop'])).stdout).toContain('SUSPENDED');
    expect((await runAdminJson(env, ['integration', 'resume', '--integration', 'acme-shop'])).json).toMatchObject({ integration: { suspendedAt: null } });
    expect((await runAdmin(env, ['integration', 'show', '--integration', 'nope'])).code).toBe(1);

    const audit = await ctx.db.selectFrom('audit_log').select(['action', 'actor', 'details']).where('target_type', '=', 'integration').orderBy('seq').execute();
    expect(audit.map((a) => a.action)).toEqual(['integration.create', ...Array<string>(6).fill('integration.update'), 'integration.suspend', 'integration.resume']);
    for (const a of audit) expect(a.actor).toMatch(/^cli:/);
    expect(audit.map((a) => a.details).join(' ')).not.toContain('ops@acme.example');
  });
});
