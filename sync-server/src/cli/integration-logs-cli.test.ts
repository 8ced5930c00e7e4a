/**
 * `depotline-admin integration logs` on SQLite and PostgreSQL: an integration's calls, webhook
 * attempts and alerts by name or id, filtered, audited as the operator's read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { buildLocation } from '../../test/factories';
import { backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import { callEntry, insertApiKey, insertIntegration, insertWebhookAttempts } from '../../test/integration-log-fixtures';
import type { ServerContext } from '../context';
import { closeIntegrationCallLog, flushIntegrationCalls, recordIntegrationCall } from '../integrations/call-log';

const cliTimeout = 180_000;

describe.each(backends)('depotline-admin integration logs (%s)', (backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  let shop: { id: string; name: string };
  let keyId: string;
  const at = Date.UTC(2026, 10, 20, 12, 0, 0);

  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    const depot = (await buildLocation(ctx)).id;
    shop = await insertIntegration(ctx, { locationIds: [depot], name: 'acme-shop' });
    keyId = await insertApiKey(ctx, shop.id, Date.now() + 300 * 86_400_000);
    recordIntegrationCall(ctx, callEntry(shop.id, keyId, { at: at - 86_400_000, status: 201 }));
    recordIntegrationCall(ctx, callEntry(shop.id, keyId, { at, status: 404, method: 'GET', route: '/api/v1/locations/:locationId/orders/:orderRef' }));
    recordIntegrationCall(ctx, callEntry(shop.id, keyId, { at: at + 1000, status: 201 }));
    await flushIntegrationCalls(ctx);
    await insertWebhookAttempts(ctx, shop.id, depot, [{ at, statusCode: 200, error: null, nextRetryAt: null }], 'delivered');
  }, cliTimeout);

  afterAll(async () => {
    await closeIntegrationCallLog(ctx);
    await ctx?.db.destroy();
    await env?.dispose();
  });

  it('lists the calls by name, newest first, filtered by time and status, and audits the read', async () => {
    const all = await runAdminJson<{ calls: { status: number }[] }>(env, ['integration', 'logs', '--integration', 'acme-shop', '--json']);
    expect(all.code).toBe(0);
    expect(all.json.calls.map((c) => c.status)).toEqual([201, 404, 201]);
    const since = await runAdminJson<{ calls: { status: number; route: string }[] }>(env, [
      'integration', 'logs', '--integration', shop.id, '--since', '2026-11-20', '--status', '4xx', '--json',
    ]);
    expect(since.json.calls).toEqual([expect.objectContaining({ status: 404, route: '/api/v1/locations/:locationId/orders/:orderRef' })]);
    const text = await runAdmin(env, ['integration', 'logs', '--integration', 'acme-shop']);
    expect(text.stdout).toContain('GET /api/v1/locations/:locationId/orders/:orderRef');
    const audited = await ctx.db.selectFrom('audit_log').select(['actor', 'details']).where('action', '=', 'integration.logs.read').execute();
    expect(audited).toHaveLength(3);
    expect(JSON.parse(audited[0]!.details)).toMatchObject({ via: 'cli', log: 'calls', returned: 3 });
  }, cliTimeout);

  it('shows webhook attempts with --webhooks, and refuses an unknown integration or a bad filter', async () => {
    const hooks = await runAdminJson<{ attempts: { outcome: string; url: string }[] }>(env, ['integration', 'logs', '--integration', 'acme-shop', '--webhooks', '--json']);
    expect(hooks.json.attempts).toEqual([expect.objectContaining({ outcome: 'delivered', url: 'https://hooks.example.test/depotline' })]);
    expect(await runAdminJson(env, ['integration', 'logs', '--integration', 'nobody', '--json'])).toMatchObject({ code: 1, json: { error: { code: 'not_found' } } });
    expect(await runAdminJson(env, ['integration', 'logs', '--integration', 'acme-shop', '--status', 'teapot', '--json'])).toMatchObject({ code: 1, json: { error: { code: 'bad_request' } } });
    expect((await runAdmin(env, ['integration', 'logs'])).code).toBe(2);
  }, cliTimeout);
});
