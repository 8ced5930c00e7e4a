import crypto from 'node:crypto';
import type { IntegrationStopView, MachinePermission, ProfileField } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CredentialWorld, credentialWorld, registerIntegration } from '../../test/credential-fixtures';
import { buildUser, restCall, type RestResult } from '../../test/factories';
import { backends } from '../../test/harness';
import { connectSocket, eventually, openSession } from '../../test/world';
import { appendAuditEntries } from '../audit/audit-log';
import { handlerFor } from '../sync/mutations/registry';

/**
 * The integration API's orders over real HTTP with real API keys: a shop creates orders, retries
 * are harmless, a courier with the default data profile reads status and never receives contact,
 * notes or billing, and every attempt outside scope, location or schema is refused with nothing
 * stored.
 */
describe.each(backends)('integration orders API (%s)', (backend) => {
  let w: CredentialWorld;
  let shopKey: string;
  /** A shop at depot B (where the courier works), allowed billing in its profile. */
  let shopB: { id: string; key: string };
  let courierKey: string;
  const tag = () => crypto.randomBytes(4).toString('hex');

  beforeAll(async () => {
    w = await credentialWorld(backend);
    shopKey = (await w.makeKey({ scopes: ['orders.write', 'orders.read', 'status.read'] })).secret;
    const shopBId = await registerIntegration(w.ctx, `shop-b-${tag()}`, [{ locationId: w.B, permissions: ['orders.write', 'status.read'] }]);
    // Stands for an approved widening of the profile (integration.profile, tested with the registry).
    const billingProfile: ProfileField[] = ['orderRef', 'status', 'timeWindow', 'address', 'billing'];
    await w.ctx.db.updateTable('integrations').set({ data_profile: JSON.stringify(billingProfile) }).where('id', '=', shopBId).execute();
    shopB = { id: shopBId, key: (await w.makeKey({ integrationId: shopBId, scopes: ['orders.write', 'status.read'] })).secret };
    courierKey = (await w.makeKey({ integrationId: w.courierId, scopes: ['status.read', 'orders.read'] })).secret;
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
  });

  const call = (method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<RestResult> =>
    restCall(w.server.url, method, path, { body, headers: { authorization: `Bearer ${key}`, ...headers } });
  const hour = 3_600_000;
  const order = (overrides: Record<string, unknown> = {}) => {
    const start = w.clock.now() + 2 * hour;
    return {
      orderRef: `SO-${tag()}`, customerName: 'Grace Hopper', address: '1 Harbour Street, Kiel', phone: '+49 431 555 0100',
      email: 'grace@example.test', notes: 'leave with the neighbour', timeWindow: { start, end: start + 2 * hour }, parcelCount: 2,
      ...overrides,
    };
  };
  const stopCount = async (locationId: string) => Number((await w.ctx.db.selectFrom('stops').select((eb) => eb.fn.countAll().as('n')).where('location_id', '=', locationId).executeTakeFirstOrThrow()).n);
  const orderOf = (res: RestResult) => res.body!.order as IntegrationStopView;

  it('a shop creates an order with an API key: a stop on the day\u2019s unplanned list, audited as the integration, seen live by a console', async () => {
    const dispatcher = await buildUser(w.ctx, { role: 'dispatcher', locationIds: [w.A] });
    const socket = await connectSocket(w.server.url, (await openSession(w.ctx, dispatcher.id)).token);
    try {
      const body = order({ timeWindow: { start: new Date(w.clock.now() + 3 * hour).toISOString(), end: new Date(w.clock.now() + 4 * hour).toISOString() } });
      const res = await call('POST', `/locations/${w.A}/orders`, shopKey, body);
      expect(res.status).toBe(201);
      const view = orderOf(res);
      // The default profile: reference, status, window, address; no contact or notes.
      expect(view).toMatchObject({ orderRef: body.orderRef, status: 'planned', address: body.address, timeWindow: { start: w.clock.now() + 3 * hour } });
      expect(JSON.stringify(res.body)).not.toMatch(/Grace Hopper|555 0100|grace@example|neighbour/);

      const stop = await w.ctx.db.selectFrom('stops').innerJoin('routes', 'routes.id', 'stops.route_id')
        .select(['stops.id', 'routes.name', 'stops.updated_by']).where('stops.id', '=', view.id).executeTakeFirstOrThrow();
      expect(stop.name).toBe('Unplanned');
      expect(stop.updated_by).toMatch(/^integration:shop-/);
      const audit = await w.ctx.db.selectFrom('audit_log').select(['actor', 'details']).where('action', '=', 'stop.create').where('target_id', '=', view.id).execute();
      expect(audit).toHaveLength(1);
      expect(audit[0]!.actor).toMatch(/^integration:shop-/);
      expect(audit[0]!.details).not.toMatch(/Grace|Harbour|555 0100|4315550100|grace@|neighbour/);
      expect(await eventually(() => JSON.stringify(socket.received).includes(view.id), 10_000)).toBe(true);
    } finally {
      socket.close();
    }
  });

  it('a retry with the same Idempotency-Key is answered with the same order and creates nothing; another body with it is refused', async () => {
    const key = `retry-${tag()}`;
    const body = order();
    const first = await call('POST', `/locations/${w.A}/orders`, shopKey, body, { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const before = await stopCount(w.A);
    const again = await call('POST', `/locations/${w.A}/orders`, shopKey, { ...body, timeWindow: { end: body.timeWindow.end, start: body.timeWindow.start } }, { 'idempotency-key': key });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(orderOf(again).id).toBe(orderOf(first).id);
    const other = await call('POST', `/locations/${w.A}/orders`, shopKey, { ...body, orderRef: `SO-${tag()}` }, { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect((other.body!.error as { code: string }).code).toBe('idempotency_key_reused');
    expect(await stopCount(w.A)).toBe(before);
    // No customer data is kept with the key.
    const rows = await w.ctx.db.selectFrom('idempotency_keys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toMatch(/Grace|Harbour|555 0100|4315550100|grace@|neighbour|retry-/);
  });

  it('identical requests at the same moment make exactly one order', async () => {
    const key = `burst-${tag()}`;
    const body = order();
    const before = await stopCount(w.A);
    const answers = await Promise.all(Array.from({ length: 8 }, () => call('POST', `/locations/${w.A}/orders`, shopKey, body, { 'idempotency-key': key })));
    for (const a of answers) expect(a.status).toBe(201);
    expect(new Set(answers.map((a) => orderOf(a).id)).size).toBe(1);
    expect(await stopCount(w.A)).toBe(before + 1);
    // Without a key, the order reference still names one order: the second create is refused.
    const dup = await call('POST', `/locations/${w.A}/orders`, shopKey, body);
    expect(dup.status).toBe(409);
  });

  it('a batch creates many orders in one request: each answered as a single create, a refused one leaves nothing, retries replay', async () => {
    const before = await stopCount(w.A);
    const good = [order(), order(), order()];
    const taken = good[0]!.orderRef;
    const items = [
      { idempotencyKey: `b-${tag()}`, order: good[0] },
      { idempotencyKey: `b-${tag()}`, order: { ...order(), route: { name: 'Nowhere' } } },
      { order: good[1] },
      { idempotencyKey: `b-${tag()}`, order: { ...order(), orderRef: taken } },
      { idempotencyKey: `b-${tag()}`, order: good[2] },
    ];
    const res = await call('POST', `/locations/${w.A}/orders/batch`, shopKey, { orders: items });
    expect(res.status).toBe(200);
    const results = res.body!.results as { status: number; replayed?: true; order?: IntegrationStopView; error?: { code: string } }[];
    expect(results.map((r) => r.status)).toEqual([201, 400, 201, 409, 201]);
    expect(results[1]!.error!.code).toBe('bad_request');
    expect(await stopCount(w.A)).toBe(before + 3);
    // The first order retried alone, with its key, replays.
    const alone = await call('POST', `/locations/${w.A}/orders`, shopKey, good[0], { 'idempotency-key': items[0]!.idempotencyKey! });
    expect(alone.headers.get('idempotent-replayed')).toBe('true');
    expect(orderOf(alone).id).toBe(results[0]!.order!.id);
    const again = await call('POST', `/locations/${w.A}/orders/batch`, shopKey, { orders: [items[0], items[4]] });
    expect((again.body!.results as { replayed?: true }[]).map((r) => r.replayed)).toEqual([true, true]);
    expect(await stopCount(w.A)).toBe(before + 3);
    // A refused order kept no claim on its key: the key works for a corrected order.
    const fixed = await call('POST', `/locations/${w.A}/orders`, shopKey, { ...items[1]!.order, route: undefined }, { 'idempotency-key': items[1]!.idempotencyKey! });
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();
    const audits = await w.ctx.db.selectFrom('audit_log').select('target_id').where('action', '=', 'stop.create').where('target_id', 'in', results.flatMap((r) => (r.order ? [r.order.id] : []))).execute();
    expect(audits).toHaveLength(3);
    expect((await call('POST', `/locations/${w.A}/orders/batch`, shopKey, { orders: Array.from({ length: 101 }, () => ({ order: order() })) })).status).toBe(400);
  });

  it('a key repeated within one batch is answered as separate creates would be: a replay of the same order, 422 for another, free again after a refusal', async () => {
    const before = await stopCount(w.A);
    const [same, other, refusedKey] = [`r-${tag()}`, `r-${tag()}`, `r-${tag()}`];
    const first = order();
    const outsider = order({ route: { name: 'Nowhere' } });
    const fixed = order();
    const items = [
      { idempotencyKey: same, order: first },
      { idempotencyKey: same, order: first },
      { idempotencyKey: other, order: order() },
      { idempotencyKey: other, order: order() },
      { idempotencyKey: refusedKey, order: outsider },
      { idempotencyKey: refusedKey, order: fixed },
    ];
    const res = await call('POST', `/locations/${w.A}/orders/batch`, shopKey, { orders: items });
    const results = res.body!.results as { status: number; replayed?: true; order?: IntegrationStopView; error?: { code: string } }[];
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 422, 400, 201]);
    expect(results[1]!.replayed).toBe(true);
    expect(results[1]!.order!.id).toBe(results[0]!.order!.id);
    expect(results[3]!.error!.code).toBe('idempotency_key_reused');
    expect(results[5]!.replayed).toBeUndefined();
    expect(await stopCount(w.A)).toBe(before + 3);
    // Each order made has its own audit entry and is recorded as the shop's own.
    const made = [results[0]!, results[2]!, results[5]!].map((r) => r.order!.id);
    expect(await w.ctx.db.selectFrom('audit_log').select('target_id').where('action', '=', 'stop.create').where('target_id', 'in', made).execute()).toHaveLength(3);
    expect(await w.ctx.db.selectFrom('integration_orders').select('stop_id').where('stop_id', 'in', made).execute()).toHaveLength(3);
    // The same batch again: every order it made is replayed, the refusals stay refusals, nothing new.
    const again = await call('POST', `/locations/${w.A}/orders/batch`, shopKey, { orders: items });
    const second = again.body!.results as { status: number; replayed?: true; order?: IntegrationStopView }[];
    expect(second.map((r) => r.status)).toEqual([201, 201, 201, 422, 422, 201]);
    expect(second.filter((r) => r.order).every((r) => r.replayed === true)).toBe(true);
    expect(second[5]!.order!.id).toBe(results[5]!.order!.id);
    expect(await stopCount(w.A)).toBe(before + 3);
  });

  it('a courier with the default profile reads status, history and changes, and never receives name, phone, email, notes or billing', async () => {
    const secrets = {
      customerName: `Name-${tag()}`, phone: `+49 30 ${100000 + Math.floor(Math.random() * 800000)}`, email: `mail-${tag()}@example.test`,
      notes: `Note-${tag()}`, billing: { paymentRef: `PAY-${tag()}`, codAmount: 123457, deliveryFee: 499, currency: 'EUR' },
    };
    const body = order({ ...secrets, route: undefined });
    const created = await call('POST', `/locations/${w.B}/orders`, shopB.key, body);
    expect(created.status).toBe(201);
    const stopId = orderOf(created).id;
    // A driver's status changes, as the push applies them (handler and audit entry in one transaction).
    const setStatus = (to: string, extra: Record<string, unknown> = {}) => w.ctx.db.transaction().execute(async (trx) => {
      const m = { id: crypto.randomUUID(), locationId: w.B, createdAt: w.clock.now(), type: 'stop.setStatus' as const, stopId, to: to as 'en_route', ...extra };
      const h = handlerFor(m);
      const applied = await h.apply({ ctx: w.ctx, trx, by: 'driver', now: w.clock.now(), ownDrivers: new Set() }, m);
      await appendAuditEntries(trx, [{ actor: { userId: null, label: 'driver', deviceId: null, ip: null }, event: { action: m.type, outcome: 'ok', targetType: 'stop', targetId: stopId, locationId: w.B, details: h.auditDetails(m, applied.before) } }], w.clock.now());
    });
    w.clock.advance(60_000);
    await setStatus('en_route');
    w.clock.advance(60_000);
    await setStatus('failed', { failureReason: 'customer_absent', reason: `Failure-${tag()}` });

    const reads = [
      await call('GET', `/locations/${w.B}/orders/${encodeURIComponent(body.orderRef)}`, courierKey),
      await call('GET', `/locations/${w.B}/orders/${encodeURIComponent(body.orderRef)}/history`, courierKey),
      await call('GET', `/locations/${w.B}/order-changes`, courierKey),
    ];
    for (const r of reads) expect(r.status).toBe(200);
    expect(orderOf(reads[0]!)).toMatchObject({ id: stopId, orderRef: body.orderRef, status: 'failed', address: body.address, timeWindow: body.timeWindow });
    expect((reads[1]!.body!.history as { status: string }[]).map((h) => h.status)).toEqual(['planned', 'en_route', 'failed']);
    expect((reads[2]!.body!.orders as IntegrationStopView[]).map((o) => o.id)).toContain(stopId);
    const raw = reads.map((r) => JSON.stringify(r.body)).join('\n');
    for (const secret of [secrets.customerName, secrets.phone, secrets.email, secrets.notes, secrets.billing.paymentRef, '123457', 'Failure-']) {
      expect(raw).not.toContain(secret);
    }
    // The shop allowed billing sees it; it never sees the notes.
    expect(JSON.stringify(created.body)).toContain(secrets.billing.paymentRef);
    expect(JSON.stringify(created.body)).not.toContain(secrets.notes);
  });

  it('the changes list pages with an opaque cursor and sends each order once at its latest state', async () => {
    const made = [];
    for (let i = 0; i < 3; i += 1) made.push(orderOf(await call('POST', `/locations/${w.A}/orders`, shopKey, order())).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let guard = 0; guard < 100; guard += 1) {
      const page = await call('GET', `/locations/${w.A}/order-changes?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, shopKey);
      expect(page.status).toBe(200);
      seen.push(...(page.body!.orders as IntegrationStopView[]).map((o) => o.id));
      cursor = page.body!.cursor as string;
      if (!page.body!.hasMore) break;
    }
    for (const id of made) expect(seen.filter((s) => s === id)).toHaveLength(1);
    const after = await call('GET', `/locations/${w.A}/order-changes?cursor=${encodeURIComponent(cursor!)}`, shopKey);
    expect(after.body!.orders).toEqual([]);
    expect((await call('GET', `/locations/${w.A}/order-changes?cursor=12`, shopKey)).status).toBe(400);
  });

  it('an update changes the shop\u2019s own planned order; another integration\u2019s order is not found to it', async () => {
    const body = order();
    const id = orderOf(await call('POST', `/locations/${w.A}/orders`, shopKey, body)).id;
    const moved = { start: body.timeWindow.start + hour, end: body.timeWindow.end + hour };
    const res = await call('PATCH', `/locations/${w.A}/orders/${body.orderRef}`, shopKey, { timeWindow: moved, notes: 'new note' });
    expect(res.status).toBe(200);
    expect(orderOf(res)).toMatchObject({ id, timeWindow: moved });
    const audit = await w.ctx.db.selectFrom('audit_log').select('action').where('target_id', '=', id).orderBy('seq').execute();
    expect(audit.map((a) => a.action)).toEqual(['stop.create', 'stop.update', 'stop.editNotes']);
    // The same again changes nothing and writes nothing.
    const version = (await w.ctx.db.selectFrom('stops').select('version').where('id', '=', id).executeTakeFirstOrThrow()).version;
    expect((await call('PATCH', `/locations/${w.A}/orders/${body.orderRef}`, shopKey, { timeWindow: moved })).status).toBe(200);
    expect((await w.ctx.db.selectFrom('stops').select('version').where('id', '=', id).executeTakeFirstOrThrow()).version).toBe(version);

    const otherB = order();
    await call('POST', `/locations/${w.B}/orders`, shopB.key, otherB);
    const otherShop = await registerIntegration(w.ctx, `shop-c-${tag()}`, [{ locationId: w.B, permissions: ['orders.write'] }]);
    const otherKey = (await w.makeKey({ integrationId: otherShop, scopes: ['orders.write'] })).secret;
    expect((await call('PATCH', `/locations/${w.B}/orders/${otherB.orderRef}`, otherKey, { notes: 'hijack' })).status).toBe(404);
  });

  it('a shop cancels its own planned order once; an order under way is not cancelled', async () => {
    const body = order();
    const id = orderOf(await call('POST', `/locations/${w.A}/orders`, shopKey, body)).id;
    const cancelled = await call('POST', `/locations/${w.A}/orders/${body.orderRef}/cancel`, shopKey);
    expect(cancelled.status).toBe(200);
    expect(orderOf(cancelled)).toMatchObject({ id, status: 'cancelled' });
    const version = (await w.ctx.db.selectFrom('stops').select('version').where('id', '=', id).executeTakeFirstOrThrow()).version;
    expect((await call('POST', `/locations/${w.A}/orders/${body.orderRef}/cancel`, shopKey)).status).toBe(200);
    expect((await w.ctx.db.selectFrom('stops').select('version').where('id', '=', id).executeTakeFirstOrThrow()).version).toBe(version);
    const history = await call('GET', `/locations/${w.A}/orders/${body.orderRef}/history`, shopKey);
    expect((history.body!.history as { status: string }[]).map((h) => h.status)).toEqual(['planned', 'cancelled']);

    const moving = order();
    const movingId = orderOf(await call('POST', `/locations/${w.A}/orders`, shopKey, moving)).id;
    await w.ctx.db.updateTable('stops').set({ status: 'en_route' }).where('id', '=', movingId).execute();
    const refused = await call('POST', `/locations/${w.A}/orders/${moving.orderRef}/cancel`, shopKey);
    expect(refused.status).toBe(409);
    expect((refused.body!.error as { code: string }).code).toBe('invalid_transition');
  });

  it('calls outside the credential\u2019s scopes or locations are refused and store nothing', async () => {
    const readOnly = (await w.makeKey({ scopes: ['orders.read', 'status.read'] as MachinePermission[] })).secret;
    const beforeA = await stopCount(w.A);
    const beforeB = await stopCount(w.B);
    const refused = [
      await call('POST', `/locations/${w.B}/orders`, shopKey, order()), // the shop holds nothing at B
      await call('POST', `/locations/${w.A}/orders`, readOnly, order()), // a key without orders.write
      await call('POST', `/locations/${w.B}/orders`, courierKey, order()), // a courier reads only
      await call('GET', `/locations/${w.A}/order-changes`, courierKey), // another location
    ];
    for (const r of refused) expect(r.status).toBe(403);
    expect((await call('POST', `/locations/${w.A}/orders`, 'dlk_not_a_key', order())).status).toBe(401);
    expect(await stopCount(w.A)).toBe(beforeA);
    expect(await stopCount(w.B)).toBe(beforeB);
    // Status needs status.read or orders.read: a key with only orders.read reads it, one with only orders.write does not.
    const body = order();
    await call('POST', `/locations/${w.A}/orders`, shopKey, body);
    const ordersRead = (await w.makeKey({ scopes: ['orders.read'] })).secret;
    const writeOnly = (await w.makeKey({ scopes: ['orders.write'] })).secret;
    expect((await call('GET', `/locations/${w.A}/orders/${body.orderRef}`, ordersRead)).status).toBe(200);
    expect((await call('GET', `/locations/${w.A}/orders/${body.orderRef}/history`, writeOnly)).status).toBe(403);
    // Billing from a shop whose profile does not include it.
    const billing = await call('POST', `/locations/${w.A}/orders`, shopKey, order({ billing: { codAmount: 100, currency: 'EUR' } }));
    expect(billing.status).toBe(403);
    expect(await stopCount(w.A)).toBe(beforeA + 1);
  });

  it('bad input gets a clear 400 (413 when too large) and stores nothing', async () => {
    const before = await stopCount(w.A);
    const ref = `SO-${tag()}`;
    const bad: [unknown, RegExp][] = [
      [order({ orderRef: ref, route: { id: 'route-nope' } }), /route\.id: there is no route route-nope/],
      [order({ orderRef: ref, route: { name: 'Nowhere' } }), /no route named "Nowhere"/],
      [order({ orderRef: ref, timeWindow: { start: 'tomorrow morning', end: 'noon' } }), /timeWindow\.start/],
      [order({ orderRef: ref, timeWindow: { start: w.clock.now() + 2 * hour, end: w.clock.now() } }), /timeWindow\.end: the window ends after it starts/],
      [order({ orderRef: ref, timeWindow: { start: '2026-12-01T09:00:00', end: '2026-12-01T10:00:00' } }), /offset/],
      [order({ orderRef: ref, customerName: '' }), /customerName/],
      [order({ orderRef: ref, isAdmin: true }), /isAdmin|Unrecognized/i],
      [order({ orderRef: ' padded' }), /orderRef/],
    ];
    for (const [body, issue] of bad) {
      const res = await call('POST', `/locations/${w.A}/orders`, shopKey, body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect((res.body!.error as { code: string; issues: string[] }).issues.join('\n')).toMatch(issue);
    }
    const huge = await call('POST', `/locations/${w.A}/orders`, shopKey, order({ notes: 'x'.repeat(400_000) }));
    expect(huge.status).toBe(413);
    const badKey = await call('POST', `/locations/${w.A}/orders`, shopKey, order(), { 'idempotency-key': 'has spaces in it' });
    expect(badKey.status).toBe(400);
    expect(await stopCount(w.A)).toBe(before);
    expect(await w.ctx.db.selectFrom('stops').select('id').where('order_ref', '=', ref).execute()).toEqual([]);
  });
});
