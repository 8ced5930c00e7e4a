/**
 * Consent and the do-not-sell-or-share flag where the product sends something (docs/security-
 * model.md "Customer consent and sharing"): automatic tracking links, `tracking_link.created`
 * and the other webhooks, through a real server, a real webhook receiver on loopback and the
 * admin REST API that records the customer's choices.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testClock, type TestClock } from '../../test/factories';
import { backends } from '../../test/harness';
import { startReceiver, type Receiver } from '../../test/webhook-receiver';
import { deliveriesOf, push, registerIntegration, setStatus, subscribe, webhookTestSettings } from '../../test/webhook-world';
import { buildWorld, eventually, rest, type World } from '../../test/world';

interface Body { type: string; data: { stopId: string; trackingUrl?: string | null; stop: Record<string, unknown> | null } }

const contactProfile = ['orderRef', 'status', 'customerName', 'address', 'phone', 'email'];

describe.each(backends)('customer consent and sharing (%s)', (backend) => {
  let w: World;
  let clock: TestClock;
  let receiver: Receiver;

  const choose = (path: 'consents' | 'sharing', body: Record<string, unknown>) => rest(w, 'POST', `/privacy/customers/${path}`, w.users.admin.token, body);
  async function integration(name: string, kind: 'courier' | 'shop' | 'notifications', events: string[]) {
    const id = await registerIntegration(w.ctx, name, [{ locationId: w.A, permissions: ['status.read'] }], kind);
    // Contact fields are turned on with a second admin's approval in the product; set here directly.
    await w.ctx.db.updateTable('integrations').set({ data_profile: JSON.stringify(contactProfile) }).where('id', '=', id).execute();
    return { id, sub: await subscribe(w, id, `${receiver.origin}/${name}`, events) };
  }
  const bodiesAt = (name: string) => receiver.received.filter((r) => r.path === `/${name}`).map((r) => JSON.parse(r.body) as Body);

  beforeEach(async () => {
    w = await buildWorld(backend, 3);
    clock = testClock(Date.now());
    w.ctx.now = clock.now;
    webhookTestSettings(w.ctx);
    receiver = await startReceiver();
  }, 120_000);
  afterEach(async () => {
    await receiver?.close();
    await w?.dispose();
  });

  it('withdrawn consent: no automatic link, no tracking_link.created, no phone for SMS withdrawn, nothing to a notifications service', async () => {
    const [s0, s1, s2] = w.stops.A2;
    await push(w, w.users.dispatcher.token, [{ type: 'stop.update', locationId: w.A, stopId: s1!.id, changes: { email: 'bea@example.com' } }]);
    const withdraw = (phone: string, purpose: string) => choose('consents', { customer: { phone }, locationId: w.A, purpose, granted: false, source: 'phone' });
    // s0's customer: no tracking by SMS nor email. s1's: not by SMS. s2's: withdrew, then gave it again (the newest counts).
    for (const p of ['trackingSms', 'trackingEmail']) expect((await withdraw(s0!.phone, p)).status).toBe(201);
    expect((await withdraw(s1!.phone, 'trackingSms')).status).toBe(201);
    expect((await withdraw(s2!.phone, 'trackingSms')).status).toBe(201);
    clock.advance(1000);
    expect((await choose('consents', { customer: { phone: s2!.phone }, locationId: w.A, purpose: 'trackingSms', granted: true, source: 'web' })).status).toBe(201);

    const notifier = await integration('notifier', 'notifications', ['tracking_link.created', 'stop.status_changed']);
    await integration('courier', 'courier', ['tracking_link.created', 'stop.status_changed']);
    await push(w, w.users.dispatcher.token, [{ type: 'route.assign', locationId: w.A, routeId: w.routes.A2, driverId: w.driverRecordId, vehicleId: null }]);

    const links = await w.ctx.db.selectFrom('tracking_links').select('stop_id').orderBy('stop_id').execute();
    expect(links.map((l) => l.stop_id)).toEqual([s1!.id, s2!.id]);
    const skipped = await w.ctx.db.selectFrom('audit_log').select(['target_id', 'details']).where('action', '=', 'tracking_link.skip').execute();
    expect(skipped.map((s) => s.target_id)).toEqual([s0!.id]);
    expect(JSON.parse(skipped[0]!.details)).toMatchObject({ reason: 'consent_withdrawn', purposes: ['trackingEmail', 'trackingSms'] });

    expect(await eventually(() => bodiesAt('notifier').length === 2 && bodiesAt('courier').length === 2, 10_000)).toBe(true);
    const forS1 = bodiesAt('notifier').find((b) => b.data.stopId === s1!.id)!;
    expect(forS1.data.stop).toMatchObject({ email: 'bea@example.com' });
    expect(forS1.data.stop).not.toHaveProperty('phone');
    expect(forS1.data.trackingUrl).toMatch(/\/t\//);
    expect(bodiesAt('notifier').find((b) => b.data.stopId === s2!.id)!.data.stop).toMatchObject({ phone: s2!.phone });

    // A dispatcher's own link for s0 is made, but its announcement is withdrawn before it is sent.
    expect((await rest(w, 'POST', `/stops/${s0!.id}/tracking-links`, w.users.dispatcher.token, {})).status).toBe(201);
    expect(await eventually(async () => (await deliveriesOf(w.ctx, notifier.sub.id)).some((d) => d.stop_id === s0!.id && d.last_status === 'withdrawn'), 10_000)).toBe(true);

    // Delivery notifications withdrawn: a notifications service hears nothing of the stop, a courier still does.
    const a1 = w.stops.A1[0]!;
    expect((await withdraw(a1.phone, 'deliveryNotifications')).status).toBe(201);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, a1.id, 'en_route')]);
    expect(await eventually(() => bodiesAt('courier').some((b) => b.type === 'stop.status_changed' && b.data.stopId === a1.id), 10_000)).toBe(true);
    expect(await eventually(async () => (await deliveriesOf(w.ctx, notifier.sub.id)).some((d) => d.stop_id === a1.id && d.last_status === 'withdrawn'), 10_000)).toBe(true);
    expect(bodiesAt('notifier').some((b) => b.data.stopId === s0!.id || b.data.stopId === a1.id)).toBe(false);
    // The consent records are audited without the phone.
    const audits = await w.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'privacy.consent').execute();
    expect(audits).toHaveLength(6);
    expect(JSON.stringify(audits)).not.toContain(s0!.phone.replace(/\D/g, '').slice(-6));
  });

  it('do not sell or share: the customer\'s identity reaches the courier, not a shop that did not send the order', async () => {
    const stop = w.stops.A1[1]!;
    const other = w.stops.A1[2]!;
    expect((await choose('sharing', { customer: { phone: stop.phone }, locationId: w.A, doNotSell: true })).status).toBe(200);
    const shop = await integration('shop', 'shop', ['stop.status_changed']);
    await integration('courier', 'courier', ['stop.status_changed']);
    expect(shop.id).toBeTruthy();
    await push(w, w.users.dispatcher.token, [setStatus(w.A, stop.id, 'en_route'), setStatus(w.A, other.id, 'en_route')]);
    expect(await eventually(() => bodiesAt('shop').length === 2 && bodiesAt('courier').length === 2, 10_000)).toBe(true);

    const shopView = bodiesAt('shop').find((b) => b.data.stopId === stop.id)!.data.stop!;
    expect(shopView).toMatchObject({ status: 'en_route' });
    for (const k of ['customerName', 'address', 'phone', 'email']) expect(shopView).not.toHaveProperty(k);
    expect(JSON.stringify(bodiesAt('shop').find((b) => b.data.stopId === stop.id))).not.toContain(stop.customerName);
    expect(bodiesAt('courier').find((b) => b.data.stopId === stop.id)!.data.stop).toMatchObject({ phone: stop.phone, customerName: stop.customerName });
    // Another customer's stop goes to the shop as its profile says.
    expect(bodiesAt('shop').find((b) => b.data.stopId === other.id)!.data.stop).toMatchObject({ phone: other.phone });

    // Opting back in lets the next event carry it again; both choices are audited without the phone.
    expect((await choose('sharing', { customer: { phone: stop.phone }, locationId: w.A, doNotSell: false })).status).toBe(200);
    await push(w, w.users.dispatcher.token, [setStatus(w.A, stop.id, 'arrived')]);
    expect(await eventually(() => bodiesAt('shop').length === 3, 10_000)).toBe(true);
    expect(bodiesAt('shop')[2]!.data.stop).toMatchObject({ phone: stop.phone });
    const audits = await w.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'privacy.sharing').execute();
    expect(audits.map((a) => (JSON.parse(a.details) as { doNotSell: boolean }).doNotSell)).toEqual([true, false]);
  });
});
