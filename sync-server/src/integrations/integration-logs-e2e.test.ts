import crypto from 'node:crypto';
import { IntegrationCallPage } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CredentialWorld, credentialWorld } from '../../test/credential-fixtures';
import { restCall } from '../../test/factories';
import { backends } from '../../test/harness';
import { anomalyPolicy, integrationAlertsSettled } from './anomalies';
import { flushIntegrationCalls } from './call-log';

/**
 * The integration logs end to end: a real server, a real API key, real HTTP. What a partner sends
 * in bodies and query strings never reaches the log; a burst of refused calls raises one alert to
 * the integration's admins and suspends an integration set to it, so its next call is refused.
 */
describe.each(backends)('integration logs end to end (%s)', (backend) => {
  let w: CredentialWorld;
  let key: { id: string; secret: string };
  const tag = () => crypto.randomBytes(6).toString('hex');

  beforeAll(async () => {
    w = await credentialWorld(backend);
    key = await w.makeKey({ scopes: ['orders.write', 'orders.read', 'status.read'] });
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
  });

  const call = (method: string, path: string, body?: unknown) =>
    restCall(w.server.url, method, path, { body, headers: { authorization: `Bearer ${key.secret}` } });
  const settled = async () => {
    await flushIntegrationCalls(w.ctx);
    await integrationAlertsSettled(w.ctx);
  };

  it('logs each call with its route template, status and credential, and nothing the partner sent', async () => {
    const unique = { ref: `SO-${tag()}`, name: `Name-${tag()}`, note: `Note-${tag()}`, query: `q-${tag()}`, phone: `+49 30 ${Math.floor(1e6 + Math.random() * 8e6)}` };
    const start = w.clock.now() + 3_600_000;
    const created = await call('POST', `/locations/${w.A}/orders`, {
      orderRef: unique.ref, customerName: unique.name, notes: unique.note, phone: unique.phone, address: '1 Harbour Street, Kiel',
      timeWindow: { start, end: start + 3_600_000 },
    });
    expect(created.status).toBe(201);
    expect((await call('GET', `/locations/${w.A}/orders/${unique.ref}?probe=${unique.query}`)).status).toBeLessThan(500);
    expect((await call('GET', `/locations/${w.A}/orders/${unique.ref}/history`)).status).toBe(200);
    expect((await call('GET', `/locations/${w.A}/order-changes?cursor=${unique.query}`)).status).toBe(400);
    await settled();

    const rows = await w.ctx.db.selectFrom('integration_calls').selectAll().where('integration_id', '=', w.shopId).orderBy('at').execute();
    expect(rows.map((r) => [r.method, r.route, r.status])).toEqual(expect.arrayContaining([
      ['POST', '/api/v1/locations/:locationId/orders', 201],
      ['GET', '/api/v1/locations/:locationId/orders/:orderRef/history', 200],
      ['GET', '/api/v1/locations/:locationId/order-changes', 400],
    ]));
    for (const r of rows) expect(r.credential_id).toBe(key.id);
    const everything = JSON.stringify(rows);
    for (const value of [...Object.values(unique), key.secret, 'Harbour']) expect(everything).not.toContain(value);

    // The admin reads the same over REST.
    const page = IntegrationCallPage.parse((await w.asAdmin('GET', `/integrations/${w.shopId}/calls`)).body);
    expect(page.calls.length).toBe(rows.length);
    expect(JSON.stringify(page)).not.toContain(unique.name);
  });

  it('a burst of refused calls raises one alert and suspends the integration set to it: its next call is refused', async () => {
    const set = await w.asAdmin('PATCH', `/integrations/${w.shopId}`, { autoSuspendOnAlert: true });
    expect(set.status).toBe(200);
    // 403s: the key used at a depot it holds no scope at (404s alone alert, never suspend).
    for (let i = 0; i < anomalyPolicy.refusedBurst; i++) {
      expect((await call('GET', `/locations/${w.B}/orders/missing-${tag()}`)).status).toBe(403);
    }
    await settled();
    const row = await w.ctx.db.selectFrom('integrations').select(['suspended_at', 'suspended_reason']).where('id', '=', w.shopId).executeTakeFirstOrThrow();
    expect(row.suspended_reason).toBe('unusual activity: refused_burst');
    const next = await call('GET', `/locations/${w.A}/order-changes`);
    expect(next.status).toBe(403);
    expect(JSON.stringify(next.body)).toContain('suspended');
    const notices = await w.ctx.db.selectFrom('security_alerts').select('details').where('user_id', '=', w.admin.id).where('kind', '=', 'integration_activity').execute();
    expect(notices.map((n) => (JSON.parse(n.details) as { rule: string }).rule)).toEqual(['refused_burst']);
    const alerts = (await w.asAdmin('GET', `/integrations/${w.shopId}/alerts`)).body as { alerts: { kind: string; suspended: boolean }[] };
    expect(alerts.alerts).toEqual([expect.objectContaining({ kind: 'refused_burst', suspended: true })]);
    // The refused call after the suspension is logged as well.
    await settled();
    const last = await w.ctx.db.selectFrom('integration_calls').select(['status', 'route']).where('integration_id', '=', w.shopId).orderBy('at', 'desc').orderBy('id', 'desc').limit(50).execute();
    expect(last).toEqual(expect.arrayContaining([{ status: 403, route: '/api/v1/locations/:locationId/order-changes' }]));
  });

  it('a burst of unknown keys from one address raises an address alert to the integration admins', async () => {
    for (let i = 0; i < anomalyPolicy.refusedBurst; i++) {
      const res = await restCall(w.server.url, 'GET', `/locations/${w.A}/order-changes`, { headers: { authorization: `Bearer dlk_${tag()}${tag()}_guess` } });
      expect(res.status).toBe(401);
    }
    await settled();
    const notices = await w.ctx.db.selectFrom('security_alerts').select('details').where('user_id', '=', w.admin.id).where('kind', '=', 'integration_activity').execute();
    expect(notices.map((n) => JSON.parse(n.details) as { rule: string; integrationId: string | null })).toEqual(
      expect.arrayContaining([expect.objectContaining({ rule: 'refused_burst', integrationId: null })]),
    );
  });
});
