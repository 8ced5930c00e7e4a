/**
 * Customer tracking links end to end over HTTP (docs/api.md "Customer tracking links"): a real
 * server per test, dispatchers through the REST API, the public page as a customer's browser
 * (plain fetch here; the page in Chromium is tracking-page.e2e.test.ts).
 */
import crypto from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testClock, type TestClock } from '../../test/factories';
import { backends } from '../../test/harness';
import { startReceiver, type Receiver } from '../../test/webhook-receiver';
import { deliveriesOf, push, registerIntegration, setStatus, subscribe, webhookTestSettings } from '../../test/webhook-world';
import { buildWorld, eventually, rest, type World } from '../../test/world';
import { auditTrackingHits } from './hits';
import { newPinColumns } from '../proofs/delivery-pin';
import { trackingTokenHash } from './links';

const viewKeys = ['active', 'approxDistanceKm', 'asOf', 'depot', 'eta', 'pin', 'status', 'statusText', 'stopsBefore', 'timezone', 'window'];

async function page(w: World, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${w.server.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function createLink(w: World, stopId: string, token = w.users.dispatcher.token) {
  return rest(w, 'POST', `/stops/${stopId}/tracking-links`, token, {});
}

const tokenOf = (url: string) => new URL(url).pathname.replace(/^\/t\//, '');

async function auditOf(w: World, action: string) {
  return w.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('seq').execute();
}

describe.each(backends)('customer tracking links (%s)', (backend) => {
  let w: World;
  let clock: TestClock;

  beforeEach(async () => {
    w = await buildWorld(backend, 3);
    clock = testClock(Date.now());
    w.ctx.now = clock.now;
    // A depot name that is not its id, so the id can be searched for.
    await w.ctx.db.updateTable('locations').set({ name: 'Riverside Depot' }).where('id', '=', w.A).execute();
  });
  afterEach(async () => {
    await w.dispose();
  });

  it('a dispatcher makes a link: its address once, a 256-bit token stored only as its hash, audited; others cannot', async () => {
    const stop = w.stops.A1[1]!;
    const made = await createLink(w, stop.id);
    expect(made.status).toBe(201);
    const { url, link } = made.body as { url: string; link: { id: string; state: string; origin: string; createdBy: string } };
    expect(url).toMatch(/\/t\/[A-Za-z0-9_-]{43}$/);
    expect(link).toMatchObject({ state: 'active', origin: 'dispatcher', createdBy: w.users.dispatcher.username });
    const token = tokenOf(url);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);

    const row = await w.ctx.db.selectFrom('tracking_links').selectAll().where('id', '=', link.id).executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(trackingTokenHash(token));
    expect(JSON.stringify(row)).not.toContain(token);
    const listed = await rest(w, 'GET', `/stops/${stop.id}/tracking-links`, w.users.manager.token);
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(token);
    expect((await auditOf(w, 'tracking_link.create')).map((a) => JSON.parse(a.details) as Record<string, unknown>))
      .toEqual([expect.objectContaining({ stopId: stop.id, origin: 'dispatcher' })]);

    // Neither a driver nor finance may; another depot's dispatcher is told the stop does not exist, and it is audited.
    for (const token of [w.users.driver.token, w.users.finance.token, w.users.reporting.token]) {
      expect((await createLink(w, stop.id, token)).status).toBe(404);
    }
    expect((await createLink(w, stop.id, w.dispatcherB.token)).status).toBe(404);
    expect((await createLink(w, 'no-such-stop')).status).toBe(404);
    const denied = await w.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'tracking_link.create').where('outcome', '=', 'denied').execute();
    expect(denied.length).toBeGreaterThanOrEqual(4);
    expect(await w.ctx.db.selectFrom('tracking_links').select('id').execute()).toHaveLength(1);
  });

  it('the page and its status carry only the public view, hardened, without cookies, ids, names, phone, address or notes', async () => {
    const stop = w.stops.A1[1]!;
    await push(w, w.users.dispatcher.token, [setStatus(w.A, w.stops.A1[0]!.id, 'en_route')]);
    const token = tokenOf((await createLink(w, stop.id)).body!['url'] as string);

    const html = await page(w, `/t/${token}`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(html.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|https?:/);
    expect(html.headers.get('cache-control')).toBe('no-store');
    expect(html.headers.get('referrer-policy')).toBe('no-referrer');
    expect(html.headers.get('x-robots-tag')).toBe('noindex, nofollow');
    expect(html.headers.get('set-cookie')).toBeNull();
    expect(html.text).toContain('Riverside Depot');
    expect(html.text).toContain('Out for delivery');

    const status = await page(w, `/t/${token}/status`);
    expect(status.status).toBe(200);
    expect(status.headers.get('set-cookie')).toBeNull();
    const view = JSON.parse(status.text) as Record<string, unknown>;
    expect(Object.keys(view).sort()).toEqual(viewKeys);
    expect(view).toMatchObject({ active: true, depot: 'Riverside Depot', status: 'out_for_delivery', stopsBefore: 1, pin: null });

    const forbidden = [
      stop.id, stop.routeId, w.A, w.driverRecordId, 'Dana Driver', 'Otto Other', stop.customerName, stop.phone, stop.notes, stop.address,
      ...w.stops.A1.filter((s) => s.id !== stop.id).flatMap((s) => [s.id, s.customerName, s.address]),
    ];
    for (const body of [html.text, status.text]) for (const f of forbidden) expect(body).not.toContain(f);
  });

  it('unknown, malformed, expired and revoked links get one and the same page; delivery ends a link after the grace time', async () => {
    const [s0, s1] = w.stops.A1;
    const t0 = tokenOf((await createLink(w, s0!.id)).body!['url'] as string);
    const made1 = await createLink(w, s1!.id);
    const t1 = tokenOf(made1.body!['url'] as string);
    const unknown = await page(w, `/t/${crypto.randomBytes(32).toString('base64url')}`);
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('This link is no longer active');
    for (const bad of ['short', 'x'.repeat(44), `${t0.slice(0, 42)}!`, `${t0}/../status`]) {
      const r = await page(w, `/t/${encodeURIComponent(bad)}`);
      expect(r.status).toBe(404);
      expect(r.text).toBe(unknown.text);
    }
    expect((await page(w, `/t/${crypto.randomBytes(32).toString('base64url')}/status`)).text).toBe('{"active":false}');

    // Revoked by the dispatcher: the same page at once; audited.
    const linkId = (made1.body!['link'] as { id: string }).id;
    const revoked = await rest(w, 'POST', `/tracking-links/${linkId}/revoke`, w.users.dispatcher.token, {});
    expect(revoked.status).toBe(200);
    expect(revoked.body!['link']).toMatchObject({ state: 'revoked', revokedBy: w.users.dispatcher.username });
    expect((await rest(w, 'POST', `/tracking-links/${linkId}/revoke`, w.dispatcherB.token, {})).status).toBe(404);
    expect((await page(w, `/t/${t1}`)).text).toBe(unknown.text);
    expect((await auditOf(w, 'tracking_link.revoke')).map((a) => a.outcome).sort()).toEqual(['denied', 'ok']);

    // Delivered: still shown for the grace time (DEPOTLINE_TRACKING_AFTER_FINAL_HOURS), then gone.
    for (const to of ['en_route', 'arrived', 'delivered']) await push(w, w.users.dispatcher.token, [setStatus(w.A, s0!.id, to)]);
    const delivered = await page(w, `/t/${t0}/status`);
    expect(JSON.parse(delivered.text)).toMatchObject({ active: true, status: 'delivered', eta: null, stopsBefore: null });
    const row = await w.ctx.db.selectFrom('tracking_links').select('expires_at').where('token_hash', '=', trackingTokenHash(t0)).executeTakeFirstOrThrow();
    expect(Number(row.expires_at)).toBe(clock.now() + w.ctx.config.tracking.afterFinalMs);
    clock.advance(w.ctx.config.tracking.afterFinalMs + 1);
    const expired = await page(w, `/t/${t0}`);
    expect(expired.status).toBe(404);
    expect(expired.text).toBe(unknown.text);
  });

  it('a stop that needs a PIN shows it on its page while open, and no longer once delivered', async () => {
    const stop = w.stops.A1[0]!;
    const pin = newPinColumns(w.ctx, stop.id, true);
    await w.ctx.db.updateTable('stops').set(pin).where('id', '=', stop.id).execute();
    const token = tokenOf((await createLink(w, stop.id)).body!['url'] as string);
    const view = JSON.parse((await page(w, `/t/${token}/status`)).text) as { pin: string | null };
    expect(view.pin).toMatch(/^\d{6}$/);
    expect((await page(w, `/t/${token}`)).text).toContain(view.pin);
    await w.ctx.db.updateTable('stops').set({ status: 'delivered', updated_at: clock.now() }).where('id', '=', stop.id).execute();
    expect(JSON.parse((await page(w, `/t/${token}/status`)).text)).toMatchObject({ status: 'delivered', pin: null });
  });

  it('a link also ends at its maximum age', async () => {
    const token = tokenOf((await createLink(w, w.stops.A1[2]!.id)).body!['url'] as string);
    clock.advance(w.ctx.config.tracking.maxAgeMs - 1000);
    expect((await page(w, `/t/${token}`)).status).toBe(200);
    clock.advance(1000);
    expect((await page(w, `/t/${token}`)).status).toBe(404);
  });

  it('dispatching a route makes links for its open stops, announced by a tracking_link.created webhook whose address opens the page', async () => {
    webhookTestSettings(w.ctx);
    const receiver: Receiver = await startReceiver();
    try {
      const shop = await registerIntegration(w.ctx, 'shop-one', [{ locationId: w.A, permissions: ['status.read'] }]);
      // Whoever holds the address sees the PIN: only an integration with a contact field in its profile is sent it.
      await w.ctx.db.updateTable('integrations').set({ data_profile: JSON.stringify(['orderRef', 'status', 'phone']) }).where('id', '=', shop).execute();
      const sub = await subscribe(w, shop, `${receiver.origin}/hooks`, ['tracking_link.created']);
      const plain = await registerIntegration(w.ctx, 'shop-plain', [{ locationId: w.A, permissions: ['status.read', 'orders.read'] }]);
      await subscribe(w, plain, `${receiver.origin}/plain`, ['tracking_link.created']);
      await push(w, w.users.dispatcher.token, [{ type: 'stop.cancel', locationId: w.A, stopId: w.stops.A2[2]!.id }]);
      await push(w, w.users.dispatcher.token, [{ type: 'route.assign', locationId: w.A, routeId: w.routes.A2, driverId: w.driverRecordId, vehicleId: null }]);
      const links = await w.ctx.db.selectFrom('tracking_links').selectAll().orderBy('stop_id').execute();
      expect(links.map((l) => [l.stop_id, l.origin])).toEqual([[w.stops.A2[0]!.id, 'auto'], [w.stops.A2[1]!.id, 'auto']]);
      // The outbox holds the address sealed, never in the clear.
      const deliveries = await deliveriesOf(w.ctx, sub.id);
      expect(deliveries).toHaveLength(2);
      expect(deliveries.map((d) => d.data).join()).not.toContain('/t/');

      expect(await eventually(() => receiver.received.length === 4, 10_000)).toBe(true);
      const withoutContact = receiver.received.filter((r) => r.path === '/plain').map((r) => JSON.parse(r.body) as { data: Record<string, unknown> });
      expect(withoutContact).toHaveLength(2);
      for (const b of withoutContact) expect(b.data['trackingUrl']).toBeNull();
      expect(receiver.received.map((r) => r.body).filter((b) => b.includes('/t/'))).toHaveLength(2);
      const bodies = receiver.received.filter((r) => r.path === '/hooks').map((r) => JSON.parse(r.body) as { type: string; data: { stopId: string; trackingUrl: string; stop: Record<string, unknown> } });
      for (const b of bodies) {
        expect(b.type).toBe('tracking_link.created');
        const url = new URL(b.data.trackingUrl);
        const opened = await page(w, `${url.pathname}/status`);
        expect(JSON.parse(opened.text)).toMatchObject({ active: true, status: 'scheduled' });
      }
      // Assigning the same driver again is no new dispatch.
      await push(w, w.users.dispatcher.token, [{ type: 'route.assign', locationId: w.A, routeId: w.routes.A2, driverId: w.driverRecordId, vehicleId: w.vehicleA }]);
      expect(await w.ctx.db.selectFrom('tracking_links').select('id').execute()).toHaveLength(2);
      expect(await auditOf(w, 'tracking_link.create')).toHaveLength(2);
    } finally {
      await receiver.close();
    }
  });

  it('views are counted per link per hour and audited once the hour is over, as one entry per link and hour', async () => {
    const token = tokenOf((await createLink(w, w.stops.A1[0]!.id)).body!['url'] as string);
    for (let i = 0; i < 3; i++) expect((await page(w, i === 0 ? `/t/${token}` : `/t/${token}/status`)).status).toBe(200);
    expect(await auditTrackingHits(w.ctx, clock.now())).toBe(0);
    clock.advance(3_600_000);
    expect(await auditTrackingHits(w.ctx, clock.now())).toBe(1);
    expect(await auditTrackingHits(w.ctx, clock.now())).toBe(0);
    const [entry] = await auditOf(w, 'tracking_link.viewed');
    expect(JSON.parse(entry!.details)).toMatchObject({ views: 3 });
    expect(entry!.ip).toBeNull();
    expect(await w.ctx.db.selectFrom('audit_log').select('seq').where('action', 'like', 'tracking_link.view%').execute()).toHaveLength(1);
  });

  it('10,000 requests at random tokens: a clear 429 with Retry-After once over the address budget, and the server keeps serving', async () => {
    const total = 10_000;
    const statuses = new Map<number, number>();
    let retryAfter: string | null = null;
    let next = 0;
    const worker = async () => {
      while (next < total) {
        next++;
        const res = await fetch(`${w.server.url}/t/${crypto.randomBytes(32).toString('base64url')}/status`);
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 429) retryAfter ??= res.headers.get('retry-after');
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: 50 }, worker));
    // Fixed one-minute windows: a slow run may span more than one, each allowing the budget again.
    const windows = Math.ceil((Date.now() - started) / 60_000) + 1;
    const budget = w.ctx.config.tracking.perAddressPerMin;
    expect(statuses.get(404)).toBeGreaterThanOrEqual(budget);
    expect(statuses.get(404)).toBeLessThanOrEqual(budget * windows);
    expect((statuses.get(404) ?? 0) + (statuses.get(429) ?? 0)).toBe(total);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // The API and health check are unaffected (their own budgets).
    expect((await page(w, '/healthz')).status).toBe(200);
    expect((await rest(w, 'GET', `/stops/${w.stops.A1[0]!.id}/tracking-links`, w.users.dispatcher.token)).status).toBe(200);
  }, 120_000);

  it('one link is limited on its own, from any address', async () => {
    const token = tokenOf((await createLink(w, w.stops.A1[0]!.id)).body!['url'] as string);
    const budget = w.ctx.config.tracking.perLinkPerMin;
    const codes: number[] = [];
    for (let i = 0; i <= budget; i++) codes.push((await page(w, `/t/${token}/status`)).status);
    expect(codes.filter((c) => c === 200)).toHaveLength(budget);
    const last = await page(w, `/t/${token}/status`);
    expect(last.status).toBe(429);
    expect(JSON.parse(last.text)).toMatchObject({ error: { code: 'rate_limited' } });
  });
});
