/**
 * Webhooks end to end (docs/api.md "Webhooks"): a real server, a receiver on a loopback port
 * that verifies every request with the `standardwebhooks` package, as an integration would.
 */
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { suggestColumnMapping } from '@depotline/shared';
import { testClock, type TestClock, testOperator } from '../../test/factories';
import { backends } from '../../test/harness';
import { startReceiver, type Receiver } from '../../test/webhook-receiver';
import { attemptsOf, deliveriesOf, push, registerIntegration, setStatus, subscribe, webhookTestSettings } from '../../test/webhook-world';
import { buildWorld, eventually, openSession, rest, type World } from '../../test/world';
import { importOrders } from '../provisioning/order-import';
import { enqueueWebhookEvents } from './outbox';

describe.each(backends)('webhooks (%s)', (backend) => {
  let w: World;
  let clock: TestClock;
  let receiver: Receiver;

  beforeEach(async () => {
    w = await buildWorld(backend, 3);
    clock = testClock(Date.now());
    w.ctx.now = clock.now;
    webhookTestSettings(w.ctx);
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    await w.dispose();
  });

  it('a courier with the default profile receives signed stop events that verify, and never a name, phone, email, note or billing value', async () => {
    const courier = await registerIntegration(w.ctx, 'courier-one', [{ locationId: w.A, permissions: ['status.read'] }]);
    const sub = await subscribe(w, courier, `${receiver.origin}/hooks`, ['order.created', 'stop.status_changed', 'stop.delivered', 'stop.failed']);
    const [s0, s1] = w.stops.A1;
    const secrets = {
      email: 'erika.secret-mail@example.org', paymentRef: 'PAYREF-UNIQUE-7731', customerName: 'Erika Unique-Name', phone: '+49 30 5556677',
      notes: 'Code 4711 at the back door', failureNote: 'Dog in the yard, unique note',
    };
    // An admin creates the order (it carries billing, which a dispatcher may not set).
    await push(w, w.users.admin.token, [
      {
        type: 'stop.create', locationId: w.A, stopId: 'stop-new-1', routeId: w.routes.A1, sequence: 9, customerName: secrets.customerName,
        address: '12 Hauptstrasse, Berlin', phone: secrets.phone, notes: secrets.notes, window: { start: 1_800_000_000_000, end: 1_800_003_600_000 },
        orderRef: 'ORD-1001', email: secrets.email, paymentRef: secrets.paymentRef, codAmount: 1250, deliveryFee: 300, currency: 'EUR',
      },
    ]).then((results) => expect(results.map((r) => r.status)).toEqual(['applied']));
    await push(w, w.users.dispatcher.token, [
      setStatus(w.A, s0!.id, 'en_route'), setStatus(w.A, s0!.id, 'arrived'), setStatus(w.A, s0!.id, 'delivered'),
      setStatus(w.A, s1!.id, 'en_route'), setStatus(w.A, s1!.id, 'failed', { failureReason: 'customer_absent', reason: secrets.failureNote }),
    ]).then((results) => expect(results.map((r) => r.status)).toEqual(Array(5).fill('applied')));
    // Another depot: the courier holds nothing there.
    await push(w, w.dispatcherB.token, [setStatus(w.B, w.stops.B1[0]!.id, 'en_route'), setStatus(w.B, w.stops.B1[1]!.id, 'en_route')]);

    // order.created, 3 + 2 status changes, one delivered, one failed
    expect(await eventually(() => receiver.received.length >= 8, 20_000)).toBe(true);
    const hook = new Webhook(sub.secret);
    const payloads = receiver.received.map((r) => hook.verify(r.body, r.headers) as { type: string; data: Record<string, unknown> });
    expect(payloads.map((p) => p.type).sort()).toEqual([
      'order.created', 'stop.delivered', 'stop.failed', 'stop.status_changed', 'stop.status_changed', 'stop.status_changed', 'stop.status_changed', 'stop.status_changed',
    ]);
    const created = payloads.find((p) => p.type === 'order.created')!;
    expect(created.data).toMatchObject({ locationId: w.A, stopId: 'stop-new-1', stop: { orderRef: 'ORD-1001', status: 'planned', address: '12 Hauptstrasse, Berlin' } });
    const delivered = payloads.filter((p) => p.data['stopId'] === s0!.id && p.type === 'stop.status_changed').map((p) => p.data['to']);
    expect(delivered.sort()).toEqual(['arrived', 'delivered', 'en_route']);
    // The failure reason is not in the default profile, so neither is it in the event.
    expect('failureReason' in payloads.find((p) => p.type === 'stop.failed')!.data).toBe(false);

    const raw = receiver.received.map((r) => r.body).join('\n');
    for (const value of [...Object.values(secrets), s0!.customerName, s0!.phone, s0!.notes, s1!.customerName, s1!.phone, s1!.notes]) expect(raw).not.toContain(value);
    for (const key of ['customerName', 'phone', 'email', 'notes', 'billing', 'paymentRef', 'failureNote', 'codAmount']) expect(raw).not.toContain(`"${key}"`);
    for (const b of w.stops.B1) expect(raw).not.toContain(b.id);
    // Delivered ids are the outbox's stable ids; nothing of the customer is at rest in it.
    const rows = await deliveriesOf(w.ctx, sub.id);
    expect(new Set(receiver.received.map((r) => r.id))).toEqual(new Set(rows.map((r) => r.id)));
    const atRest = JSON.stringify(rows) + JSON.stringify(await w.ctx.db.selectFrom('webhook_attempts').selectAll().execute());
    for (const value of [...Object.values(secrets), 'Hauptstrasse', s0!.customerName]) expect(atRest).not.toContain(value);
    expect(await eventually(async () => (await deliveriesOf(w.ctx, sub.id)).every((d) => d.status === 'delivered'), 10_000)).toBe(true);
  }, 60_000);

  it('during a secret rotation both the old and the new secret verify; after the overlap only the new one', async () => {
    const courier = await registerIntegration(w.ctx, 'courier-rot', [{ locationId: w.A, permissions: ['status.read'] }]);
    const sub = await subscribe(w, courier, `${receiver.origin}/hooks`, ['stop.status_changed']);
    const rotated = await rest(w, 'POST', `/integrations/${courier}/webhooks/${sub.id}/rotate-secret`, w.users.admin.token, { previousSecretEndsAt: clock.now() + 120_000 });
    expect(rotated.status).toBe(201);
    const newSecret = (rotated.body as { secret: string }).secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(sub.secret);
    expect((rotated.body as { subscription: { previousSecretEndsAt: number } }).subscription.previousSecretEndsAt).toBe(clock.now() + 120_000);

    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A1[0]!.id, 'en_route')]);
    expect(await eventually(() => receiver.received.length === 1, 20_000)).toBe(true);
    const during = receiver.received[0]!;
    expect(during.signature.split(' ')).toHaveLength(2);
    expect(() => new Webhook(sub.secret).verify(during.body, during.headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(during.body, during.headers)).not.toThrow();

    clock.advance(150_000);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A1[0]!.id, 'arrived')]);
    expect(await eventually(() => receiver.received.length === 2, 20_000)).toBe(true);
    const after = receiver.received[1]!;
    expect(after.signature.split(' ')).toHaveLength(1);
    expect(() => new Webhook(newSecret).verify(after.body, after.headers)).not.toThrow();
    expect(() => new Webhook(sub.secret).verify(after.body, after.headers)).toThrow();
    // The secret is shown once: reading the subscription never gives it back.
    const read = await rest(w, 'GET', `/integrations/${courier}/webhooks/${sub.id}`, w.users.admin.token);
    expect(JSON.stringify(read.body)).not.toContain('whsec_');
  }, 60_000);

  it('a receiver answering 500 is retried with growing, jittered waits under the same webhook-id until it answers 2xx', async () => {
    receiver.answer((_r, i) => ({ status: i < 2 ? 500 : 204 }));
    const courier = await registerIntegration(w.ctx, 'courier-retry', [{ locationId: w.A, permissions: ['orders.read'] }]);
    const sub = await subscribe(w, courier, `${receiver.origin}/hooks`, ['stop.status_changed']);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A2[0]!.id, 'en_route')]);
    const [delivery] = await deliveriesOf(w.ctx, sub.id);
    for (let failures = 1; failures <= 2; failures++) {
      expect(await eventually(async () => (await attemptsOf(w.ctx, delivery!.id)).length === failures, 20_000)).toBe(true);
      const last = (await attemptsOf(w.ctx, delivery!.id)).at(-1)!;
      expect(last.status_code).toBe(500);
      const wait = Number(last.next_retry_at) - Number(last.at);
      expect(wait).toBeGreaterThanOrEqual(1000);
      expect(wait).toBeLessThanOrEqual(5000 * 2 ** (failures - 1));
      // Not before its time: the clock stands still until the test moves it.
      expect(receiver.received).toHaveLength(failures);
      clock.set(Number(last.next_retry_at));
    }
    expect(await eventually(async () => (await deliveriesOf(w.ctx, sub.id))[0]!.status === 'delivered', 20_000)).toBe(true);
    const attempts = await attemptsOf(w.ctx, delivery!.id);
    expect(attempts.map((a) => [a.attempt, a.status_code, a.error])).toEqual([[1, 500, 'http'], [2, 500, 'http'], [3, 204, null]]);
    expect(new Set(receiver.received.map((r) => r.id))).toEqual(new Set([delivery!.id]));
    for (const r of receiver.received) expect(() => new Webhook(sub.secret).verify(r.body, r.headers)).not.toThrow();
  }, 60_000);

  it('a receiver failing for a day is paused and its admins alerted; resuming sends what waited', async () => {
    receiver.answer({ status: 503 });
    const courier = await registerIntegration(w.ctx, 'courier-down', [{ locationId: w.A, permissions: ['status.read'] }]);
    const sub = await subscribe(w, courier, `${receiver.origin}/hooks`, ['stop.status_changed']);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A2[1]!.id, 'en_route')]);
    expect(await eventually(() => receiver.received.length === 1, 20_000)).toBe(true);
    clock.advance(25 * 60 * 60 * 1000);
    // A day later: fresh sessions (the earlier access tokens have expired).
    const admin = (await openSession(w.ctx, w.users.admin.id)).token;
    const dispatcher = (await openSession(w.ctx, w.users.dispatcher.id)).token;
    expect(await eventually(async () => (await w.ctx.db.selectFrom('webhook_subscriptions').select('status').where('id', '=', sub.id).executeTakeFirstOrThrow()).status === 'paused', 20_000)).toBe(true);
    const alerts = await w.ctx.db.selectFrom('security_alerts').selectAll().where('kind', '=', 'webhook_paused').execute();
    expect(alerts.map((a) => a.user_id)).toContain(w.users.admin.id);
    expect(alerts.map((a) => a.user_id)).not.toContain(w.users.dispatcher.id);
    const audit = await w.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'security.alert').where('target_id', '=', sub.id).execute();
    expect(audit).toHaveLength(1);
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ kind: 'webhook_paused', integrationId: courier });
    const read = await rest(w, 'GET', `/integrations/${courier}/webhooks/${sub.id}`, admin);
    expect(read.body).toMatchObject({ subscription: { status: 'paused', pauseReason: 'failing' } });

    // Paused: a new event is queued, not sent.
    await push(w, dispatcher, [setStatus(w.A, w.stops.A2[2]!.id, 'en_route')]);
    const sent = receiver.received.length;
    receiver.answer({ status: 200 });
    const resumed = await rest(w, 'POST', `/integrations/${courier}/webhooks/${sub.id}/resume`, admin);
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ subscription: { status: 'active' }, requeued: 2 });
    expect(await eventually(async () => (await deliveriesOf(w.ctx, sub.id)).every((d) => d.status === 'delivered'), 20_000)).toBe(true);
    expect(receiver.received.length).toBe(sent + 2);
    expect((await w.ctx.db.selectFrom('audit_log').select('action').where('target_id', '=', sub.id).execute()).map((a) => a.action)).toContain('webhook.resume');
  }, 60_000);

  it('the outbox is written in the change\'s transaction: a rolled-back change queues nothing, a refused mutation neither', async () => {
    const courier = await registerIntegration(w.ctx, 'courier-tx', [{ locationId: w.A, permissions: ['status.read'] }]);
    const sub = await subscribe(w, courier, `${receiver.origin}/hooks`, ['stop.status_changed', 'order.created']);
    await expect(w.ctx.db.transaction().execute(async (trx) => {
      await enqueueWebhookEvents(trx, w.ctx, [{ type: 'stop.status_changed', locationId: w.A, stopId: w.stops.A1[0]!.id, occurredAt: w.ctx.now() }]);
      throw new Error('the change failed after queueing');
    })).rejects.toThrow('the change failed');
    const refused = await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A1[0]!.id, 'delivered')]);
    expect(refused[0]!.status).toBe('rejected');
    expect(await deliveriesOf(w.ctx, sub.id)).toHaveLength(0);
  });

  it('an order import queues order.created for each new order, in the batch\'s transaction', async () => {
    const shop = await registerIntegration(w.ctx, 'shop-import', [{ locationId: w.A, permissions: ['orders.read'] }], 'shop');
    const sub = await subscribe(w, shop, `${receiver.origin}/hooks`, ['order.created']);
    const header = ['Order reference', 'Customer name', 'Address', 'Phone', 'Delivery notes', 'Window start', 'Window end', 'Route name'];
    const sheet = { header, rows: [1, 2, 3].map((i) => ({ row: i + 1, cells: [`IMP-${i}`, `Import Customer ${i}`, `${i} Importweg, Kiel`, '', 'ring', '2026-12-01 10:00', '2026-12-01 12:00', 'Unplanned'] })) };
    const result = await importOrders(w.ctx, testOperator, sheet, {
      locationId: w.A, date: '2026-12-01', currency: null, mapping: suggestColumnMapping(header), dryRun: false, skipInvalid: false,
    });
    expect(result.created).toBe(3);
    expect(await eventually(() => receiver.received.length === 3, 20_000)).toBe(true);
    const refs = receiver.received.map((r) => (new Webhook(sub.secret).verify(r.body, r.headers) as { data: { stop: { orderRef: string } } }).data.stop.orderRef);
    expect(refs.sort()).toEqual(['IMP-1', 'IMP-2', 'IMP-3']);
    expect(receiver.received.map((r) => r.body).join('')).not.toContain('Import Customer');
  });

  it('finished deliveries are deleted with their attempts once past the log retention; a paused receiver\'s waiting ones are kept', async () => {
    const courier = await registerIntegration(w.ctx, 'courier-old', [{ locationId: w.A, permissions: ['status.read'] }]);
    const sub = await subscribe(w, courier, `${receiver.origin}/hooks`, ['stop.status_changed']);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A1[2]!.id, 'en_route')]);
    expect(await eventually(async () => (await deliveriesOf(w.ctx, sub.id))[0]?.status === 'delivered', 20_000)).toBe(true);
    const [done] = await deliveriesOf(w.ctx, sub.id);
    expect((await rest(w, 'POST', `/integrations/${courier}/webhooks/${sub.id}/pause`, w.users.admin.token)).status).toBe(200);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A1[2]!.id, 'arrived')]);
    clock.advance((w.ctx.config.integrationLogDays + 1) * 86_400_000);
    expect(await eventually(async () => (await deliveriesOf(w.ctx, sub.id)).length === 1, 20_000)).toBe(true);
    const [kept] = await deliveriesOf(w.ctx, sub.id);
    expect(kept!.id).not.toBe(done!.id);
    expect(kept!.status).toBe('pending');
    expect(await attemptsOf(w.ctx, done!.id)).toEqual([]);
  });

  it('only admins who manage the integration at its locations see or change its webhooks', async () => {
    const courier = await registerIntegration(w.ctx, 'courier-auth', [{ locationId: w.A, permissions: ['status.read'] }]);
    const sub = await subscribe(w, courier, `${receiver.origin}/hooks`, ['stop.status_changed']);
    for (const token of [w.users.dispatcher.token, w.users.manager.token, w.dispatcherB.token]) {
      expect((await rest(w, 'GET', `/integrations/${courier}/webhooks`, token)).status).toBe(404);
      expect((await rest(w, 'POST', `/integrations/${courier}/webhooks`, token, { url: `${receiver.origin}/x`, events: ['stop.failed'] })).status).toBe(404);
      expect((await rest(w, 'POST', `/integrations/${courier}/webhooks/${sub.id}/pause`, token)).status).toBe(404);
    }
    const list = await rest(w, 'GET', `/integrations/${courier}/webhooks`, w.users.admin.token);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ subscriptions: [{ id: sub.id, url: `${receiver.origin}/hooks`, events: ['stop.status_changed'], status: 'active' }] });
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
    const deleted = await rest(w, 'DELETE', `/integrations/${courier}/webhooks/${sub.id}`, w.users.admin.token);
    expect(deleted.status).toBe(204);
    expect((await rest(w, 'GET', `/integrations/${courier}/webhooks/${sub.id}`, w.users.admin.token)).status).toBe(404);
    const row = await w.ctx.db.selectFrom('webhook_subscriptions').selectAll().where('id', '=', sub.id).executeTakeFirstOrThrow();
    expect([row.status, row.secret_enc, row.previous_secret_enc]).toEqual(['deleted', null, null]);
  });
});
