import crypto from 'node:crypto';
import type { ApprovalRequest, IntegrationView } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CredentialWorld, credentialWorld, dayMs, registerIntegration } from '../../test/credential-fixtures';
import { buildUser, restCall } from '../../test/factories';
import { backends } from '../../test/harness';
import { openSession } from '../../test/world';
import { enqueueWebhookEvents } from '../webhooks/outbox';

/**
 * Where an integration's data goes, as a partner or a hurried admin would stretch it: another
 * shop's orders at a shared depot (read by reference, in the change feed, in webhooks), a new
 * depot for an integration approved to receive phone numbers, every order at the depot instead
 * of its own, and a token asked for from outside the integration's address allowlist.
 */
describe.each(backends)('integration order visibility and widening (%s)', (backend) => {
  let w: CredentialWorld;
  const tag = () => crypto.randomBytes(4).toString('hex');
  const start = () => w.clock.now() + 7_200_000;
  const order = (ref: string) => ({ orderRef: ref, customerName: 'Cleo Private', address: '1 Quiet Lane', phone: '+49 40 5550123', timeWindow: { start: start(), end: start() + 3_600_000 } });
  const call = (method: string, path: string, key: string, body?: unknown) => restCall(w.server.url, method, path, { headers: { authorization: `Bearer ${key}` }, body });
  const keyOf = async (integrationId: string, scopes: string[]) => {
    const res = await w.asAdmin('POST', `/integrations/${integrationId}/keys`, { name: 'k', scopes, expiresAt: w.clock.now() + 10 * dayMs });
    expect(res.status).toBe(201);
    return res.body!.secret as string;
  };

  beforeAll(async () => {
    w = await credentialWorld(backend);
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
  });

  it('a shop reads and hears of only its own orders; with "all orders at its locations" it reads the others too', async () => {
    const otherId = await registerIntegration(w.ctx, `other-shop-${tag()}`, [{ locationId: w.A, permissions: ['orders.write', 'orders.read', 'status.read'] }]);
    const shopKey = await keyOf(w.shopId, ['orders.write', 'orders.read']);
    const otherKey = await keyOf(otherId, ['orders.write', 'orders.read', 'status.read']);
    const theirs = `SO-${tag()}`;
    const mine = `MY-${tag()}`;
    expect((await call('POST', `/locations/${w.A}/orders`, shopKey, order(theirs))).status).toBe(201);
    expect((await call('POST', `/locations/${w.A}/orders`, otherKey, order(mine))).status).toBe(201);

    // Another shop's order does not exist for it: by reference, its history, the change feed.
    expect((await call('GET', `/locations/${w.A}/orders/${theirs}`, otherKey)).status).toBe(404);
    expect((await call('GET', `/locations/${w.A}/orders/${theirs}/history`, otherKey)).status).toBe(404);
    expect((await call('GET', `/locations/${w.A}/orders/${mine}`, otherKey)).status).toBe(200);
    const feed = await call('GET', `/locations/${w.A}/order-changes`, otherKey);
    expect(feed.status).toBe(200);
    const refs = (feed.body!.orders as { orderRef: string }[]).map((o) => o.orderRef);
    expect(refs).toContain(mine);
    expect(refs).not.toContain(theirs);

    // Webhooks: an event about the first shop's order is queued for its own receiver only.
    const now = w.clock.now();
    const subscription = (integrationId: string) => ({
      id: `sub-${tag()}`, integration_id: integrationId, url: 'https://hooks.example.com/in', events: JSON.stringify(['order.created', 'stop.status_changed']),
      secret_enc: 'x', previous_secret_enc: null, previous_secret_expires_at: null, status: 'active' as const, pause_reason: null, paused_at: null,
      failing_since: null, last_success_at: null, version: 1, created_at: now, created_by: 'test', updated_at: now,
    });
    const subs = [subscription(w.shopId), subscription(otherId)];
    await w.ctx.db.insertInto('webhook_subscriptions').values(subs).execute();
    const stop = await w.ctx.db.selectFrom('stops').select('id').where('order_ref', '=', theirs).executeTakeFirstOrThrow();
    const queued = await w.ctx.db.transaction().execute((trx) =>
      enqueueWebhookEvents(trx, w.ctx, [{ type: 'stop.status_changed', locationId: w.A, stopId: stop.id, occurredAt: now }]));
    const rows = await w.ctx.db.selectFrom('webhook_deliveries').select(['subscription_id']).where('id', 'in', queued).execute();
    expect(rows.map((r) => r.subscription_id)).toEqual([subs[0]!.id]);

    // The admin widens the other shop (default profile, no contact field): at once; it now reads and hears of every order.
    const widened = await w.asAdmin('PATCH', `/integrations/${otherId}`, { orderVisibility: 'location' });
    expect(widened).toMatchObject({ status: 200, body: { integration: { orderVisibility: 'location' } } });
    expect((await call('GET', `/locations/${w.A}/orders/${theirs}`, otherKey)).status).toBe(200);
    const again = await w.ctx.db.transaction().execute((trx) =>
      enqueueWebhookEvents(trx, w.ctx, [{ type: 'stop.status_changed', locationId: w.A, stopId: stop.id, occurredAt: now }]));
    expect(again).toHaveLength(2);
  });

  it('an integration receiving phone numbers gets a new depot, a reading scope or every order only with a second admin\u2019s approval', async () => {
    const id = await registerIntegration(w.ctx, `phones-${tag()}`, [{ locationId: w.A, permissions: ['orders.write', 'orders.read'] }]);
    await w.ctx.db.updateTable('integrations').set({ data_profile: JSON.stringify(['orderRef', 'status', 'timeWindow', 'address', 'phone']) }).where('id', '=', id).execute();
    const before = (await w.asAdmin('GET', `/integrations/${id}`)).body!.integration as IntegrationView;
    const withB = [...before.scopes, { locationId: w.B, permissions: ['status.read'] }];

    // Without a reason: refused; mixed with another change: refused whole; nothing changes.
    expect((await w.asAdmin('PATCH', `/integrations/${id}`, { scopes: withB })).status).toBe(400);
    expect((await w.asAdmin('PATCH', `/integrations/${id}`, { scopes: withB, contact: 'x@y.example', reason: 'second depot' })).status).toBe(400);
    const asked = await w.asAdmin('PATCH', `/integrations/${id}`, { scopes: withB, reason: 'the partner now serves depot B' });
    expect(asked).toMatchObject({ status: 202, body: { approvalRequired: true, approval: { kind: 'integration.profile', status: 'pending' } } });
    const approval = (asked.body as { approval: ApprovalRequest }).approval;
    expect(approval.summary).toContain(w.B);
    expect(approval.handsOut).toContain('stop.readPhone');
    const stored = async () => (await w.ctx.db.selectFrom('integration_scopes').select('location_id').where('integration_id', '=', id).execute()).map((r) => r.location_id);
    expect(new Set(await stored())).toEqual(new Set([w.A]));

    // A new reading scope at a depot it already serves, and "every order", are widenings too.
    expect((await w.asAdmin('PATCH', `/integrations/${id}`, { orderVisibility: 'location' })).status).toBe(400);
    const moreReading = [{ locationId: w.A, permissions: ['orders.write', 'orders.read', 'status.read'] }];
    expect((await w.asAdmin('PATCH', `/integrations/${id}`, { scopes: moreReading })).status).toBe(400);

    // A second admin of both depots approves: applied as asked.
    const second = await buildUser(w.ctx, { role: 'admin', locationIds: [w.A, w.B] });
    const token = (await openSession(w.ctx, second.id)).token;
    expect((await restCall(w.server.url, 'POST', `/approvals/${approval.id}/approve`, { token, body: { note: 'checked with depot B' } })).status).toBe(200);
    expect(new Set(await stored())).toEqual(new Set([w.A, w.B]));

    // Narrowing is immediate.
    const narrowed = await w.asAdmin('PATCH', `/integrations/${id}`, { scopes: before.scopes });
    expect(narrowed.status).toBe(200);
  });

  it('an admin of one depot of a shared integration sees only that depot\u2019s webhook deliveries', async () => {
    const id = await registerIntegration(w.ctx, `shared-${tag()}`, [{ locationId: w.A, permissions: ['status.read'] }, { locationId: w.B, permissions: ['status.read'] }]);
    const now = w.clock.now();
    const sub = {
      id: `whsub_${crypto.randomBytes(12).toString('hex')}`, integration_id: id, url: 'https://hooks.example.com/in', events: JSON.stringify(['stop.status_changed']),
      secret_enc: 'x', previous_secret_enc: null, previous_secret_expires_at: null, status: 'active' as const, pause_reason: null, paused_at: null,
      failing_since: null, last_success_at: null, version: 1, created_at: now, created_by: 'test', updated_at: now,
    };
    await w.ctx.db.insertInto('webhook_subscriptions').values(sub).execute();
    const delivery = (locationId: string) => ({
      id: `msg_${tag()}`, subscription_id: sub.id, integration_id: id, event_type: 'stop.status_changed', location_id: locationId, stop_id: `stop-${tag()}`,
      data: '{}', occurred_at: now, created_at: now, next_attempt_at: Number.MAX_SAFE_INTEGER, retry_until: now, attempts: 0, status: 'dead' as const,
      delivered_at: null, last_attempt_at: null, last_status: null,
    });
    await w.ctx.db.insertInto('webhook_deliveries').values([delivery(w.A), delivery(w.B)]).execute();
    const adminA = await buildUser(w.ctx, { role: 'admin', locationIds: [w.A] });
    const token = (await openSession(w.ctx, adminA.id)).token;
    const seen = await restCall(w.server.url, 'GET', `/integrations/${id}/webhooks/${sub.id}/deliveries`, { token });
    expect(seen.status).toBe(200);
    expect((seen.body!.deliveries as { locationId: string }[]).map((d) => d.locationId)).toEqual([w.A]);
    const all = await w.asAdmin('GET', `/integrations/${id}/webhooks/${sub.id}/deliveries`);
    expect((all.body!.deliveries as unknown[]).length).toBe(2);
  });

  it('the token endpoint refuses a client calling from outside its integration\u2019s allowlist, audited', async () => {
    const id = await registerIntegration(w.ctx, `fenced-${tag()}`, [{ locationId: w.A, permissions: ['status.read'] }]);
    const made = await w.asAdmin('POST', `/integrations/${id}/oauth-clients`, { name: 'c', scopes: ['status.read'], expiresAt: w.clock.now() + 10 * dayMs });
    expect(made.status).toBe(201);
    const clientId = (made.body!.client as { id: string }).id;
    const secret = made.body!.clientSecret as string;
    const ask = () => fetch(`${w.server.url}/api/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect((await ask()).status).toBe(200); // no allowlist: any address
    expect((await w.asAdmin('PATCH', `/integrations/${id}`, { ipAllowlist: ['192.0.2.0/24'] })).status).toBe(200);
    const refused = await ask();
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'unauthorized_client' });
    const audited = await w.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'integration.oauth.token').where('outcome', '=', 'denied').execute();
    expect(audited.some((a) => a.details.includes('address not allowed'))).toBe(true);
  });
});
