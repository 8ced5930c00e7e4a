/**
 * Who receives what, and when (docs/api.md "Webhooks"): security alerts only to the integration
 * they concern (alerts about no integration only to `notifications` integrations), nothing to a
 * suspended integration until an admin resumes it and then everything that waited, a 410 Gone
 * receiver paused at once, and an order an integration may no longer see withdrawn at send time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { startReceiver, type Receiver } from '../../test/webhook-receiver';
import { deliveriesOf, push, registerIntegration, setStatus, subscribe, webhookTestSettings } from '../../test/webhook-world';
import { buildWorld, eventually, rest, sleep, type World } from '../../test/world';
import { raiseIntegrationAlert } from '../integrations/integration-alerts';
import { enqueueWebhookEvents } from './outbox';

describe.each(backends)('webhook holds and routing (%s)', (backend) => {
  let w: World;
  let receiver: Receiver;

  beforeEach(async () => {
    w = await buildWorld(backend, 3);
    webhookTestSettings(w.ctx);
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    await w.dispose();
  });

  const bodies = () => receiver.received.map((r) => ({ path: r.path, body: JSON.parse(r.body) as { type: string; data: Record<string, unknown> } }));

  it('a security alert reaches only the integration it concerns, with no other integration\'s ids; an address alert only notifications integrations', async () => {
    const shop = await registerIntegration(w.ctx, 'shop-a', [{ locationId: w.A, permissions: ['status.read'] }], 'shop');
    const other = await registerIntegration(w.ctx, 'other-shop', [{ locationId: w.A, permissions: ['status.read'] }], 'shop');
    const pager = await registerIntegration(w.ctx, 'pager', [{ locationId: w.A, permissions: ['status.read'] }], 'notifications');
    await subscribe(w, shop, `${receiver.origin}/shop`, ['security.alert']);
    await subscribe(w, other, `${receiver.origin}/other`, ['security.alert']);
    await subscribe(w, pager, `${receiver.origin}/pager`, ['security.alert']);
    // Not opted in to alerts: hears none.
    await subscribe(w, pager, `${receiver.origin}/pager-orders`, ['stop.status_changed']);
    await w.ctx.db.transaction().execute((trx) => enqueueWebhookEvents(trx, w.ctx, [
      { type: 'security.alert', locationId: w.A, stopId: null, occurredAt: w.ctx.now(), data: { kind: 'integration_activity', rule: 'refused_burst', integrationId: shop, credentialId: 'key_abc', suspendedIntegration: true } },
    ]));
    // The API probed by an address naming no credential: an alert about no integration.
    expect(await raiseIntegrationAlert(w.ctx, { rule: 'refused_burst', integrationId: null, credentialId: null, ip: '203.0.113.9', facts: { refusals: 20 } }, w.ctx.now()))
      .toMatchObject({ raised: true });
    expect(await eventually(() => receiver.received.length >= 2, 20_000)).toBe(true);
    await sleep(300);
    const got = bodies();
    expect(got.map((g) => g.path).sort()).toEqual(['/pager', '/shop']);
    expect(got.find((g) => g.path === '/shop')!.body.data).toMatchObject({ rule: 'refused_burst', integrationId: shop, credentialId: 'key_abc', suspendedIntegration: true });
    // The address alert: kinds and rules only, no address, no ids.
    const probe = got.find((g) => g.path === '/pager')!.body.data;
    expect(probe).toEqual({ locationId: w.A, kind: 'integration_activity', rule: 'refused_burst' });
    expect(JSON.stringify(got)).not.toContain(other);
  });

  it('a suspended integration receives nothing, its events wait, and an admin\'s resume sends them all', async () => {
    const courier = await registerIntegration(w.ctx, 'courier-held', [{ locationId: w.A, permissions: ['status.read'] }]);
    const sub = await subscribe(w, courier, `${receiver.origin}/hooks`, ['stop.status_changed']);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A1[0]!.id, 'en_route')]);
    expect(await eventually(() => receiver.received.length === 1, 20_000)).toBe(true);
    const suspended = await rest(w, 'POST', `/integrations/${courier}/suspend`, w.users.admin.token, { reason: 'key leaked' });
    expect(suspended.status).toBe(200);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A1[1]!.id, 'en_route'), setStatus(w.A, w.stops.A1[2]!.id, 'en_route')]);
    // Queued, held, and not sent (several worker rounds pass).
    expect(await deliveriesOf(w.ctx, sub.id)).toHaveLength(3);
    await sleep(1500);
    expect(receiver.received).toHaveLength(1);
    const pending = (await deliveriesOf(w.ctx, sub.id)).filter((d) => d.status === 'pending');
    expect(pending).toHaveLength(2);
    expect(pending.every((d) => Number(d.next_attempt_at) === Number.MAX_SAFE_INTEGER)).toBe(true);
    const resumed = await rest(w, 'POST', `/integrations/${courier}/resume`, w.users.admin.token);
    expect(resumed.status).toBe(200);
    expect(await eventually(() => receiver.received.length === 3, 20_000)).toBe(true);
    expect(await eventually(async () => (await deliveriesOf(w.ctx, sub.id)).every((d) => d.status === 'delivered'), 20_000)).toBe(true);
  }, 60_000);

  it('a receiver answering 410 Gone is paused at once and its admins alerted; nothing more is sent to it', async () => {
    receiver.answer({ status: 410 });
    const courier = await registerIntegration(w.ctx, 'courier-gone', [{ locationId: w.A, permissions: ['status.read'] }]);
    const sub = await subscribe(w, courier, `${receiver.origin}/hooks`, ['stop.status_changed']);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A2[0]!.id, 'en_route')]);
    const status = async () => (await w.ctx.db.selectFrom('webhook_subscriptions').select(['status', 'pause_reason']).where('id', '=', sub.id).executeTakeFirstOrThrow());
    expect(await eventually(async () => (await status()).status === 'paused', 20_000)).toBe(true);
    expect(await status()).toEqual({ status: 'paused', pause_reason: 'gone' });
    const alerts = await w.ctx.db.selectFrom('security_alerts').selectAll().where('kind', '=', 'webhook_paused').execute();
    expect(alerts.map((a) => a.user_id)).toContain(w.users.admin.id);
    expect(JSON.parse(alerts[0]!.details)).toMatchObject({ reason: 'gone', subscriptionId: sub.id });
    const read = await rest(w, 'GET', `/integrations/${courier}/webhooks/${sub.id}`, w.users.admin.token);
    expect(read.body).toMatchObject({ subscription: { status: 'paused', pauseReason: 'gone' } });
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A2[1]!.id, 'en_route')]);
    await sleep(800);
    expect(receiver.received).toHaveLength(1);
    expect((await deliveriesOf(w.ctx, sub.id)).map((d) => d.status)).toEqual(['pending', 'pending']);
  }, 60_000);

  it('an order the integration may no longer see is withdrawn when the delivery would be sent', async () => {
    const courier = await registerIntegration(w.ctx, 'courier-narrowed', [{ locationId: w.A, permissions: ['status.read'] }]);
    const sub = await subscribe(w, courier, `${receiver.origin}/hooks`, ['stop.status_changed']);
    const suspended = await rest(w, 'POST', `/integrations/${courier}/suspend`, w.users.admin.token, { reason: 'review' });
    expect(suspended.status).toBe(200);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A1[0]!.id, 'en_route')]);
    expect(await deliveriesOf(w.ctx, sub.id)).toHaveLength(1);
    // Narrowed to its own orders meanwhile (it created none of them).
    await w.ctx.db.updateTable('integrations').set({ order_visibility: 'own' }).where('id', '=', courier).execute();
    await rest(w, 'POST', `/integrations/${courier}/resume`, w.users.admin.token);
    expect(await eventually(async () => (await deliveriesOf(w.ctx, sub.id))[0]!.status === 'dead', 20_000)).toBe(true);
    expect((await deliveriesOf(w.ctx, sub.id))[0]!.last_status).toBe('withdrawn');
    expect(receiver.received).toHaveLength(0);
  }, 60_000);
});
