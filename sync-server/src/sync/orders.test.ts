/**
 * The order a stop carries, tried as a careless client and a curious colleague would: who sees
 * which order field (pull, REST and the live feed), who may set billing data, order references
 * that clash, order data that does not hold together, and failures without a reason. Real
 * server, real sockets, SQLite and PostgreSQL.
 */
import type { Change, PullResponse, PushResponse, Stop } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildWorld, connectSocket, emitAck, eventually, mutationId, rest, type TestSocket, type World, type WorldUser } from '../../test/world';

type AckOk<T> = { ok: true; data: T };
const stopsIn = (changes: readonly unknown[]) =>
  (changes as Change[]).filter((c): c is Extract<Change, { entity: 'stop' }> => c.entity === 'stop').map((c) => c.data);

async function pullStop(socket: TestSocket, locationId: string, stopId: string): Promise<Stop> {
  let after = 0;
  let found: Stop | undefined;
  for (;;) {
    const res = await emitAck<AckOk<PullResponse>>(socket, 'sync:pull', { locationId, after, limit: 500 });
    expect(res.ok).toBe(true);
    found = stopsIn(res.data.changes).find((s) => s.id === stopId) ?? found;
    after = res.data.cursor;
    if (!res.data.hasMore) break;
  }
  expect(found).toBeDefined();
  return found!;
}

const billing = ['paymentRef', 'codAmount', 'deliveryFee', 'currency'] as const;
const order = {
  orderRef: 'SO-100', parcelCount: 2, barcodes: ['JJD0001', 'JJD0002'], coordinates: { lat: 52.52, lng: 13.405 },
  email: 'ada.lovelace@example.com', minimumAge: 18, idCheck: true,
  paymentRef: 'PAY-SECRET-77', codAmount: 2450, deliveryFee: 499, currency: 'EUR',
};

describe.each(backends)('orders on stops (%s)', (backend) => {
  let w: World;
  let created: string;

  async function push(user: WorldUser, mutation: Record<string, unknown>) {
    const m = { id: mutationId(), locationId: user.locationId, createdAt: w.ctx.now(), ...mutation };
    const res = await rest(w, 'POST', '/sync/push', user.token, { mutations: [m] });
    return { status: res.status, result: res.status === 200 ? (res.body as unknown as PushResponse).results[0]! : null, body: res.body, id: m.id };
  }
  const newStop = (stopId: string, extra: Record<string, unknown> = {}) => ({
    type: 'stop.create', stopId, routeId: w.routes.A2, sequence: 50, customerName: 'Ada Lovelace', address: '12 Analytical Row',
    phone: '+49 30 5550100', notes: 'ring the bell twice', window: { start: 1_800_000_000_000, end: 1_800_003_600_000 }, ...extra,
  });

  beforeAll(async () => {
    w = await buildWorld(backend, 2);
    created = 'stop-order-1';
    const res = await push(w.users.manager, newStop(created, order));
    expect(res.result).toMatchObject({ status: 'applied' });
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('each role pulls what its permissions reveal: finance billing but no notes or contact, dispatchers no billing, reporting neither', async () => {
    const sockets = await Promise.all((['manager', 'finance', 'dispatcher', 'reporting'] as const).map((r) => connectSocket(w.server.url, w.users[r].token)));
    try {
      const [manager, finance, dispatcher, reporting] = await Promise.all(sockets.map((s) => pullStop(s, w.A, created))) as [Stop, Stop, Stop, Stop];
      expect(manager).toMatchObject({ ...order, customerName: 'Ada Lovelace', notes: 'ring the bell twice', failureReason: null });

      expect(finance).toMatchObject({ orderRef: 'SO-100', paymentRef: 'PAY-SECRET-77', codAmount: 2450, deliveryFee: 499, currency: 'EUR', customerName: 'Ada Lovelace' });
      for (const f of ['notes', 'phone', 'email', 'failureNote'] as const) expect(finance).not.toHaveProperty(f);

      expect(dispatcher).toMatchObject({ orderRef: 'SO-100', email: 'ada.lovelace@example.com', coordinates: order.coordinates, minimumAge: 18, idCheck: true });
      for (const f of billing) expect(dispatcher).not.toHaveProperty(f);

      expect(reporting).toMatchObject({ orderRef: 'SO-100', parcelCount: 2, barcodes: ['JJD0001', 'JJD0002'] });
      for (const f of [...billing, 'customerName', 'address', 'coordinates', 'phone', 'email', 'notes', 'failureNote'] as const) {
        expect(reporting).not.toHaveProperty(f);
      }
      expect(JSON.stringify(reporting)).not.toContain('PAY-SECRET');

      // REST answers as the socket does.
      const viaRest = await rest(w, 'GET', `/locations/${w.A}/changes?after=0`, w.users.dispatcher.token);
      expect(JSON.stringify(viaRest.body)).not.toContain('PAY-SECRET-77');
      expect(JSON.stringify(viaRest.body)).toContain('ada.lovelace@example.com');
    } finally {
      for (const s of sockets) s.close();
    }
  });

  it('the live feed redacts the same way: a billing edit and a failure with its note', async () => {
    const [finance, dispatcher, reporting] = await Promise.all(
      (['finance', 'dispatcher', 'reporting'] as const).map((r) => connectSocket(w.server.url, w.users[r].token))) as [TestSocket, TestSocket, TestSocket];
    try {
      expect((await push(w.users.manager, { type: 'stop.update', stopId: created, changes: { paymentRef: 'PAY-LIVE-88', email: 'new.mail@example.com' } })).result)
        .toMatchObject({ status: 'applied' });
      await push(w.users.manager, { type: 'stop.setStatus', stopId: created, to: 'en_route' });
      expect((await push(w.users.manager, {
        type: 'stop.setStatus', stopId: created, to: 'failed', failureReason: 'customer_absent', reason: 'neighbour says away until Friday',
      })).result).toMatchObject({ status: 'applied' });
      const done = (s: TestSocket) => stopsIn(s.received).some((x) => x.id === created && x.status === 'failed');
      expect(await eventually(() => done(finance) && done(dispatcher) && done(reporting))).toBe(true);

      const latest = (s: TestSocket) => stopsIn(s.received).filter((x) => x.id === created).at(-1)!;
      expect(latest(finance)).toMatchObject({ paymentRef: 'PAY-LIVE-88', failureReason: 'customer_absent' });
      expect(JSON.stringify(finance.received)).not.toContain('new.mail@example.com');
      expect(JSON.stringify(finance.received)).not.toContain('away until Friday');
      expect(latest(dispatcher)).toMatchObject({ email: 'new.mail@example.com', failureReason: 'customer_absent', failureNote: 'neighbour says away until Friday' });
      expect(JSON.stringify(dispatcher.received)).not.toContain('PAY-LIVE-88');
      expect(latest(reporting)).toMatchObject({ failureReason: 'customer_absent' });
      for (const secret of ['PAY-LIVE-88', 'new.mail@example.com', 'away until Friday']) expect(JSON.stringify(reporting.received)).not.toContain(secret);

      // Stored encrypted, like the customer fields; a new attempt clears the reason and its note.
      const row = await w.ctx.db.selectFrom('stops').selectAll().where('id', '=', created).executeTakeFirstOrThrow();
      for (const stored of [row.email_enc, row.payment_ref_enc, row.failure_note_enc, row.coordinates_enc]) expect(stored).toMatch(/^v1\./);
      expect(JSON.stringify(row)).not.toMatch(/PAY-LIVE|new\.mail|Friday|52\.52/);
      expect((await push(w.users.manager, { type: 'stop.setStatus', stopId: created, to: 'planned' })).result).toMatchObject({ status: 'applied' });
      const again = await w.ctx.db.selectFrom('stops').select(['failure_reason', 'failure_note_enc']).where('id', '=', created).executeTakeFirstOrThrow();
      expect(again).toEqual({ failure_reason: null, failure_note_enc: null });
    } finally {
      for (const s of [finance, dispatcher, reporting]) s.close();
    }
  });

  it('billing data is set only by those who may read it: a dispatcher is refused, audited, and nothing changes', async () => {
    const before = await w.ctx.db.selectFrom('stops').selectAll().where('id', '=', created).executeTakeFirstOrThrow();
    const update = await push(w.users.dispatcher, { type: 'stop.update', stopId: created, changes: { codAmount: 1 } });
    expect(update.result).toMatchObject({ status: 'rejected', code: 'forbidden' });
    const clear = await push(w.users.dispatcher, { type: 'stop.update', stopId: created, changes: { paymentRef: null } });
    expect(clear.result).toMatchObject({ status: 'rejected', code: 'forbidden' });
    const create = await push(w.users.dispatcher, newStop('stop-order-d1', { orderRef: 'SO-D1', codAmount: 100, currency: 'EUR' }));
    expect(create.result).toMatchObject({ status: 'rejected', code: 'forbidden' });
    expect(await w.ctx.db.selectFrom('stops').selectAll().where('id', '=', created).executeTakeFirstOrThrow()).toEqual(before);
    expect(await w.ctx.db.selectFrom('stops').select('id').where('id', '=', 'stop-order-d1').executeTakeFirst()).toBeUndefined();
    const denied = await w.ctx.db.selectFrom('audit_log').select(['action', 'outcome', 'details'])
      .where('actor', '=', w.users.dispatcher.username).where('outcome', '=', 'denied').execute();
    expect(denied.filter((e) => (JSON.parse(e.details) as { permission?: string }).permission === 'stop.readBilling')).toHaveLength(3);
    // Without billing data the same dispatcher creates the order (no billing set: none needed).
    expect((await push(w.users.dispatcher, newStop('stop-order-d2', { orderRef: 'SO-D2', paymentRef: null }))).result).toMatchObject({ status: 'applied' });
  });

  it('an order reference names one stop per location: a duplicate is refused with the stop that has it; another depot may reuse it', async () => {
    const dup = await push(w.users.dispatcher, newStop('stop-order-dup', { orderRef: 'SO-100' }));
    expect(dup.result).toMatchObject({ status: 'rejected', code: 'conflict' });
    expect(dup.result).toHaveProperty('reason', `Order SO-100 is already stop ${created} at this location.`);
    // The current value is the holder, redacted for the dispatcher (no billing).
    const current = (dup.result as { current: Extract<Change, { entity: 'stop' }> }).current;
    expect(current.data).toMatchObject({ id: created, orderRef: 'SO-100' });
    expect(current.data).not.toHaveProperty('paymentRef');
    expect(await w.ctx.db.selectFrom('stops').select('id').where('id', '=', 'stop-order-dup').executeTakeFirst()).toBeUndefined();

    const moved = await push(w.users.dispatcher, { type: 'stop.update', stopId: w.stops.A2[0]!.id, changes: { orderRef: 'SO-100' } });
    expect(moved.result).toMatchObject({ status: 'rejected', code: 'conflict' });
    // Setting a stop's own reference again is no clash.
    expect((await push(w.users.dispatcher, { type: 'stop.update', stopId: created, changes: { orderRef: 'SO-100', parcelCount: 3 } })).result)
      .toMatchObject({ status: 'applied' });

    const elsewhere = { ...newStop('stop-order-b1', { orderRef: 'SO-100' }), routeId: w.routes.B1 };
    expect((await push(w.dispatcherB, elsewhere)).result).toMatchObject({ status: 'applied' });
    // The database holds the line too, whatever a handler might miss.
    const raw = await w.ctx.db.selectFrom('stops').selectAll().where('id', '=', w.stops.A1[0]!.id).executeTakeFirstOrThrow();
    await expect(w.ctx.db.updateTable('stops').set({ order_ref: 'SO-100' }).where('id', '=', raw.id).execute()).rejects.toThrow();
  });

  it('order data that cannot be right is refused in plain words, and nothing is written', async () => {
    const bad: [string, Record<string, unknown>][] = [
      ['latitude out of range', { coordinates: { lat: 91, lng: 0 } }],
      ['window ends before it starts', { window: { start: 1_800_000_000_000, end: 1_700_000_000_000 } }],
      ['a barcode twice', { barcodes: ['X1', 'X1'] }],
      ['a negative amount', { deliveryFee: -1, currency: 'EUR' }],
      ['a fractional amount', { codAmount: 9.99, currency: 'EUR' }],
      ['not a currency code', { deliveryFee: 100, currency: 'euros' }],
      ['not an email', { email: 'ada at example' }],
    ];
    for (const [what, extra] of bad) {
      const res = await push(w.users.manager, newStop(`stop-bad-${what.replaceAll(' ', '-')}`, extra));
      expect(res.status, what).toBe(400);
    }
    const noCurrency = await push(w.users.manager, newStop('stop-bad-currency', { codAmount: 500 }));
    expect(noCurrency.result).toMatchObject({ status: 'rejected', code: 'bad_request', reason: 'An amount needs a currency.' });
    // On an update the stop as it would be counts: clearing the currency of a stop that collects money is refused.
    const clearCurrency = await push(w.users.manager, { type: 'stop.update', stopId: created, changes: { currency: null } });
    expect(clearCurrency.result).toMatchObject({ status: 'rejected', code: 'bad_request' });
    expect(await w.ctx.db.selectFrom('stops').select('id').where('id', 'like', 'stop-bad-%').execute()).toEqual([]);
  });

  it('a failed delivery needs a reason from the list, and only a failed one has a reason', async () => {
    const stopId = w.stops.A2[1]!.id;
    expect((await push(w.users.dispatcher, { type: 'stop.setStatus', stopId, to: 'en_route' })).result).toMatchObject({ status: 'applied' });
    const bare = await push(w.users.dispatcher, { type: 'stop.setStatus', stopId, to: 'failed', reason: 'free text is not enough' });
    expect(bare.result).toMatchObject({ status: 'rejected', code: 'bad_request', reason: 'A failed delivery needs a reason from the list.' });
    expect((bare.result as { current: { data: Stop } }).current.data.status).toBe('en_route');
    expect((await push(w.users.dispatcher, { type: 'stop.setStatus', stopId, to: 'failed', failureReason: 'lost_in_space' })).status).toBe(400);
    const stray = await push(w.users.dispatcher, { type: 'stop.setStatus', stopId, to: 'arrived', failureReason: 'refused' });
    expect(stray.result).toMatchObject({ status: 'rejected', code: 'bad_request' });
    expect((await w.ctx.db.selectFrom('stops').select(['status', 'failure_reason']).where('id', '=', stopId).executeTakeFirstOrThrow()))
      .toEqual({ status: 'en_route', failure_reason: null });
    expect((await push(w.users.dispatcher, { type: 'stop.setStatus', stopId, to: 'failed', failureReason: 'access_denied' })).result)
      .toMatchObject({ status: 'applied' });
  });
});
