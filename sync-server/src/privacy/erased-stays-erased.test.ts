import type { Change, Stop } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildWorld, mutationId, rest, type SeededStop, type World } from '../../test/world';
import { pseudonymiseStops } from '../retention/stop-erasure';
import { readStopPii } from '../sync/stop-pii';

interface PushResult { status: string; code?: string; reason?: string; current?: Change | null }

/**
 * A pseudonymised (erased) stop never takes its customer's data back: a late edit from a console
 * that was offline during the erasure (its outbox is pushed before it pulls) is refused with the
 * erased stop as the current value, which makes the console drop the edit; operational edits
 * still apply; and the database itself refuses an update that writes customer data or a blind
 * index onto an erased row. On SQLite and PostgreSQL, over the real push endpoint.
 */
describe.each(backends)('an erased stop stays erased (%s)', (backend) => {
  let w: World;
  let erased: SeededStop[];
  beforeAll(async () => {
    w = await buildWorld(backend, 4);
    erased = w.stops.A2;
    await w.ctx.db.transaction().execute((trx) => pseudonymiseStops(trx, w.ctx, w.A, erased.map((s) => s.id), w.ctx.now()));
  }, 120_000);
  afterAll(async () => {
    await w?.dispose();
  });

  const push = async (m: Record<string, unknown>): Promise<PushResult> => {
    const r = await rest(w, 'POST', '/sync/push', w.users.dispatcher.token, { mutations: [{ id: mutationId(), locationId: w.A, createdAt: Date.now(), ...m }] });
    expect(r.status).toBe(200);
    return (r.body!.results as PushResult[])[0]!;
  };
  const row = (id: string) => w.ctx.db.selectFrom('stops').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  /** Everything a stop could carry of its customer, as stored (ciphertexts and blind indexes included). */
  const customerColumns = async (id: string) => {
    const r = await row(id);
    return [r.customer_name_enc, r.address_enc, r.notes_enc, r.phone_enc, r.email_enc, r.coordinates_enc, r.payment_ref_enc, r.failure_note_enc, r.phone_bidx, r.email_bidx];
  };
  const stillErased = ['', '', '', null, null, null, null, null, null, null];
  /** A refusal the console drops the edit for: its current value is the stop, pseudonymised. */
  const expectErasedRefusal = (result: PushResult, stopId: string) => {
    expect(result).toMatchObject({ status: 'rejected', code: 'conflict', reason: expect.stringContaining('erased') as unknown });
    expect(result.current).toMatchObject({ entity: 'stop', data: { id: stopId, pseudonymised: true } });
    const data: Stop = (result.current as Extract<Change, { entity: 'stop' }>).data;
    expect(JSON.stringify(data)).not.toContain(erased.find((s) => s.id === stopId)!.customerName);
  };

  it('a late stop.editNotes is refused and nothing is written', async () => {
    const stop = erased[0]!;
    const before = await row(stop.id);
    expectErasedRefusal(await push({ type: 'stop.editNotes', stopId: stop.id, notes: stop.notes }), stop.id);
    expect(await customerColumns(stop.id)).toEqual(stillErased);
    expect(Number((await row(stop.id)).version)).toBe(Number(before.version));
    const audit = await w.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'mutation.rejected').orderBy('seq', 'desc').executeTakeFirstOrThrow();
    expect(audit.details).toContain('conflict');
    expect(audit.details).not.toContain(stop.notes);
  });

  it('a late stop.update with the customer\u2019s name, phone and address is refused: no index comes back, search finds nothing', async () => {
    const stop = erased[1]!;
    expectErasedRefusal(await push({ type: 'stop.update', stopId: stop.id, changes: { customerName: stop.customerName, phone: stop.phone, address: stop.address } }), stop.id);
    // A customer field beside an operational one refuses the whole edit, nothing of it applied.
    const mixed = await push({ type: 'stop.update', stopId: stop.id, changes: { sequence: 9, email: 'someone@example.test' } });
    expectErasedRefusal(mixed, stop.id);
    expect(await customerColumns(stop.id)).toEqual(stillErased);
    expect(Number((await row(stop.id)).sequence)).not.toBe(9);
    const search = await rest(w, 'POST', '/privacy/customers/search', w.users.admin.token, { customer: { phone: stop.phone } });
    expect(search.status).toBe(200);
    expect(search.body!.stops).toEqual([]);
  });

  it('a failure note is refused; the status without one, the sequence and the window still apply', async () => {
    const stop = erased[2]!;
    expect(await push({ type: 'stop.setStatus', stopId: stop.id, to: 'en_route' })).toMatchObject({ status: 'applied' });
    const noted = await push({ type: 'stop.setStatus', stopId: stop.id, to: 'failed', failureReason: 'customer_absent', reason: `${stop.customerName} was not home` });
    expectErasedRefusal(noted, stop.id);
    expect((await row(stop.id)).status).toBe('en_route');
    expect(await push({ type: 'stop.setStatus', stopId: stop.id, to: 'failed', failureReason: 'customer_absent' })).toMatchObject({ status: 'applied' });
    const window = { start: 1_800_007_200_000, end: 1_800_010_800_000 };
    expect(await push({ type: 'stop.update', stopId: erased[3]!.id, changes: { sequence: 7, window } })).toMatchObject({ status: 'applied' });
    const moved = await row(erased[3]!.id);
    expect([Number(moved.sequence), Number(moved.window_start), Number(moved.window_end)]).toEqual([7, window.start, window.end]);
    expect([(await row(stop.id)).status, ...await customerColumns(stop.id)]).toEqual(['failed', ...stillErased]);
    expect(await customerColumns(erased[3]!.id)).toEqual(stillErased);
  });

  it('a stop that was never erased is edited as before', async () => {
    const stop = w.stops.A1[0]!;
    expect(await push({ type: 'stop.editNotes', stopId: stop.id, notes: 'ring twice' })).toMatchObject({ status: 'applied' });
    expect(readStopPii(w.ctx, await row(stop.id)).pii.notes).toBe('ring twice');
  });

  it('the database refuses customer data or an index written onto an erased row by any other path; operational columns stay writable', async () => {
    const stop = erased[0]!;
    const cipherOfLive = (await row(w.stops.A1[1]!.id)).customer_name_enc;
    const attempts: Record<string, unknown>[] = [
      { customer_name_enc: cipherOfLive }, { notes_enc: cipherOfLive }, { phone_enc: cipherOfLive }, { email_enc: cipherOfLive },
      { coordinates_enc: cipherOfLive }, { payment_ref_enc: cipherOfLive }, { failure_note_enc: cipherOfLive },
      { phone_bidx: 'abcd1234' }, { email_bidx: 'abcd1234' }, { pseudonymised_at: null },
    ];
    for (const set of attempts) {
      await expect(w.ctx.db.updateTable('stops').set(set).where('id', '=', stop.id).execute(), JSON.stringify(Object.keys(set)))
        .rejects.toThrow(/pseudonymised stop was erased/);
    }
    expect(await customerColumns(stop.id)).toEqual(stillErased);
    expect((await row(stop.id)).pseudonymised_at).not.toBeNull();
    await w.ctx.db.updateTable('stops').set({ status: 'cancelled', sequence: 3, eta: 1_800_000_600_000 }).where('id', '=', stop.id).execute();
    // Writing the erased values again (an erasure run twice) is no new data.
    await w.ctx.db.updateTable('stops').set({ customer_name_enc: '', phone_enc: null, phone_bidx: null }).where('id', '=', stop.id).execute();
    expect((await row(stop.id)).status).toBe('cancelled');
  });
});
