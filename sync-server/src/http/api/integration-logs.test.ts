import { IntegrationAlertList, IntegrationCallPage, WebhookAttemptPage } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startTestServer, type TestServer } from '../../../test/harness';
import { buildLocation, buildUser, type BuiltUser, restCall, signIn } from '../../../test/factories';
import { callEntry, insertApiKey, insertIntegration, insertWebhookAttempts } from '../../../test/integration-log-fixtures';
import { anomalyPolicy } from '../../integrations/anomalies';
import { flushIntegrationCalls, recordIntegrationCall } from '../../integrations/call-log';

const day = 86_400_000;

describe.each(backends)('integration logs over REST (%s)', (backend) => {
  let server: TestServer;
  let depot: string;
  let integrationId: string;
  let keyId: string;
  let admin: BuiltUser;
  let adminToken: string;
  const start = Date.now() - 60_000;

  beforeAll(async () => {
    server = await startTestServer(backend);
    const { ctx } = server;
    depot = (await buildLocation(ctx)).id;
    integrationId = (await insertIntegration(ctx, { locationIds: [depot] })).id;
    keyId = await insertApiKey(ctx, integrationId, ctx.now() + 300 * day);
    admin = await buildUser(ctx, { role: 'admin', locationIds: [depot], withTotp: true });
    adminToken = (await signIn(server.url, ctx, admin)).tokens.accessToken;
    for (let i = 0; i < 30; i++) {
      recordIntegrationCall(ctx, callEntry(integrationId, keyId, { at: start + i * 1000, status: i % 10 === 0 ? 404 : 201, route: '/api/v1/locations/:locationId/orders' }));
    }
    await flushIntegrationCalls(ctx);
    await insertWebhookAttempts(ctx, integrationId, depot, [
      { at: start, statusCode: 503, error: 'http', nextRetryAt: start + 30_000 },
      { at: start + 30_000, statusCode: null, error: 'timeout', nextRetryAt: null },
    ], 'dead');
  }, 60_000);

  afterAll(async () => {
    await server.dispose();
  });

  it('an admin of the integration\'s location reads its calls newest first, in pages, filtered by status', async () => {
    const first = await restCall(server.url, 'GET', `/integrations/${integrationId}/calls?limit=20`, { token: adminToken });
    expect(first.status).toBe(200);
    const page1 = IntegrationCallPage.parse(first.body);
    expect(page1.calls).toHaveLength(20);
    expect(page1.calls[0]).toMatchObject({ at: start + 29_000, route: '/api/v1/locations/:locationId/orders', credentialId: keyId, method: 'POST', ip: '203.0.113.7' });
    const page2 = IntegrationCallPage.parse((await restCall(server.url, 'GET', `/integrations/${integrationId}/calls?limit=20&cursor=${page1.nextCursor!}`, { token: adminToken })).body);
    expect(page2.calls).toHaveLength(10);
    expect(page2.nextCursor).toBeNull();
    expect(new Set([...page1.calls, ...page2.calls].map((c) => c.id)).size).toBe(30);
    const refused = IntegrationCallPage.parse((await restCall(server.url, 'GET', `/integrations/${integrationId}/calls?status=4xx`, { token: adminToken })).body);
    expect(refused.calls.map((c) => c.status)).toEqual([404, 404, 404]);
    const since = IntegrationCallPage.parse((await restCall(server.url, 'GET', `/integrations/${integrationId}/calls?since=${start + 25_000}`, { token: adminToken })).body);
    expect(since.calls).toHaveLength(5);
  });

  it('reads webhook attempts with their outcome, and the alerts', async () => {
    const res = await restCall(server.url, 'GET', `/integrations/${integrationId}/webhook-attempts`, { token: adminToken });
    expect(res.status).toBe(200);
    const page = WebhookAttemptPage.parse(res.body);
    expect(page.attempts.map((a) => [a.attempt, a.outcome, a.status, a.error])).toEqual([[2, 'gave_up', null, 'timeout'], [1, 'retrying', 503, 'http']]);
    expect(page.attempts[0]!.url).toBe('https://hooks.example.test/depotline');
    // A burst of refusals raises an alert, which the alerts list shows once (whatever the number of locations).
    for (let i = 0; i < anomalyPolicy.refusedBurst; i++) recordIntegrationCall(server.ctx, callEntry(integrationId, keyId, { status: 401 }));
    await flushIntegrationCalls(server.ctx);
    const alerts = IntegrationAlertList.parse((await restCall(server.url, 'GET', `/integrations/${integrationId}/alerts`, { token: adminToken })).body);
    expect(alerts.alerts).toEqual([expect.objectContaining({ kind: 'refused_burst', credentialId: keyId, suspended: false })]);
    expect(alerts.alerts[0]!.summary).toContain('refused calls');
  });

  it('bad input is a clear 400', async () => {
    for (const q of ['limit=0', 'limit=5000', 'status=abc', 'cursor=x', 'since=-1', 'unknown=1']) {
      const res = await restCall(server.url, 'GET', `/integrations/${integrationId}/calls?${q}`, { token: adminToken });
      expect(res.status, q).toBe(400);
    }
  });

  it('a dispatcher of the location, and an admin of another depot, cannot read them: the integration does not exist for them (audited)', async () => {
    const { ctx } = server;
    const dispatcher = await buildUser(ctx, { role: 'dispatcher', locationIds: [depot], withTotp: true });
    const elsewhere = await buildUser(ctx, { role: 'admin', withTotp: true });
    for (const user of [dispatcher, elsewhere]) {
      const token = (await signIn(server.url, ctx, user)).tokens.accessToken;
      for (const path of ['calls', 'webhook-attempts', 'alerts']) {
        const res = await restCall(server.url, 'GET', `/integrations/${integrationId}/${path}`, { token });
        expect(res.status, `${user.username} ${path}`).toBe(404);
        expect(JSON.stringify(res.body)).not.toContain(keyId);
      }
      const denied = await ctx.db.selectFrom('audit_log').select('outcome').where('action', '=', 'integration.logs.read').where('actor_user_id', '=', user.id).execute();
      expect(denied.map((d) => d.outcome)).toEqual(['denied', 'denied', 'denied']);
    }
    expect((await restCall(server.url, 'GET', `/integrations/${integrationId}/calls`, { token: null })).status).toBe(401);
  });
});
