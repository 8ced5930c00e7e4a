/**
 * The delivery PIN and regulated-goods checks on a real server, tried as a driver at the door,
 * a driver guessing and a careless client would: a PIN stop cannot be delivered without its
 * PIN, wrong PINs are counted (also in parallel), audited and lock the stop until a dispatcher
 * unlocks it; the PIN itself is never sent to a console and is stored only as a keyed hash and
 * a sealed copy for the tracking page; an age or ID stop cannot be delivered without a passing
 * check, whose input refuses document numbers and dates of birth. SQLite and PostgreSQL.
 */
import { maxPinAttempts, type PushResponse, type Stop } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../test/harness';
import { buildWorld, mutationId, rest, type World, type WorldUser } from '../../test/world';
import { hashPin, revealPinForTracking } from './delivery-pin';
import { listProofsOfStop } from './records';

describe.each(backends)('delivery PIN and checks (%s)', (backend) => {
  let w: World;
  let seq = 100;

  async function push(user: WorldUser, mutation: Record<string, unknown>) {
    const m = { id: mutationId(), locationId: user.locationId, createdAt: w.ctx.now(), ...mutation };
    const res = await rest(w, 'POST', '/sync/push', user.token, { mutations: [m] });
    expect(res.status).toBe(200);
    return (res.body as unknown as PushResponse).results[0]!;
  }
  /** A stop on the driver's own route (A1), or another's (A2), with the order fields given. */
  async function newStop(order: Record<string, unknown>, routeId = w.routes.A1): Promise<string> {
    const stopId = `stop-door-${++seq}`;
    const result = await push(w.users.manager, {
      type: 'stop.create', stopId, routeId, sequence: seq, customerName: 'Pat Door', address: '1 Gate Lane', phone: null, notes: '',
      window: { start: 1_800_000_000_000, end: 1_800_003_600_000 }, ...order,
    });
    expect(result).toMatchObject({ status: 'applied' });
    return stopId;
  }
  const setStatus = (user: WorldUser, stopId: string, to: string, extra: Record<string, unknown> = {}) => push(user, { type: 'stop.setStatus', stopId, to, ...extra });
  async function arrive(stopId: string) {
    expect(await setStatus(w.users.driver, stopId, 'en_route')).toMatchObject({ status: 'applied' });
    expect(await setStatus(w.users.driver, stopId, 'arrived')).toMatchObject({ status: 'applied' });
  }
  const pin = (user: WorldUser, stopId: string, value: string) => rest(w, 'POST', `/stops/${stopId}/proof/pin`, user.token, { pin: value });
  const check = (user: WorldUser, stopId: string, body: unknown) => rest(w, 'POST', `/stops/${stopId}/proof/check`, user.token, body);
  const wrongPin = (right: string) => (right === '000000' ? '000001' : '000000');
  const row = (stopId: string) => w.ctx.db.selectFrom('stops').selectAll().where('id', '=', stopId).executeTakeFirstOrThrow();
  const audits = (action: string, stopId: string) => w.ctx.db.selectFrom('audit_log').selectAll()
    .where('action', '=', action).where('target_id', '=', stopId).orderBy('seq').execute();
  async function stopAsSent(stopId: string, token: string): Promise<{ stop: Stop; raw: string }> {
    const res = await fetch(`${w.server.url}/api/v1/locations/${w.A}/changes?after=0&limit=1000`, { headers: { authorization: `Bearer ${token}` } });
    const raw = await res.text();
    const changes = (JSON.parse(raw) as { changes: { entity: string; data: Stop }[] }).changes;
    return { stop: changes.filter((c) => c.entity === 'stop' && c.data.id === stopId).at(-1)!.data, raw };
  }

  beforeAll(async () => {
    w = await buildWorld(backend, 1);
  }, 120_000);
  afterAll(async () => w?.dispose());

  it('a PIN stop gets a six-digit PIN kept as a keyed hash and a sealed copy, shown to no console, only to the tracking page', async () => {
    const stopId = await newStop({ pinRequired: true });
    const clear = await revealPinForTracking(w.ctx, stopId);
    expect(clear).toMatch(/^\d{6}$/);
    const r = await row(stopId);
    expect(r.pin_hash).toBe(hashPin(w.ctx, stopId, clear!));
    expect(r.pin_hash).not.toContain(clear);
    expect(r.pin_enc).not.toContain(clear);
    const { stop, raw } = await stopAsSent(stopId, w.users.manager.token);
    expect(stop).toMatchObject({ pinRequired: true, handover: { pinVerified: false, pinLocked: false, checkPassed: false } });
    expect(raw).not.toContain(r.pin_hash);
    expect(raw).not.toMatch(/pin_?(hash|enc)/i);
    // A stop without the requirement has no PIN at all.
    const plain = await newStop({});
    expect(await revealPinForTracking(w.ctx, plain)).toBeNull();
    expect((await row(plain)).pin_hash).toBeNull();
  });

  it('delivered is refused until the PIN is verified; the right PIN is a pin proof and delivers', async () => {
    const stopId = await newStop({ pinRequired: true });
    await arrive(stopId);
    const refused = await setStatus(w.users.driver, stopId, 'delivered');
    expect(refused).toMatchObject({ status: 'rejected', code: 'invalid_transition' });
    expect((refused as { reason: string }).reason).toMatch(/PIN has not been verified/);
    const clear = (await revealPinForTracking(w.ctx, stopId))!;
    const ok = await pin(w.users.driver, stopId, clear);
    expect(ok).toMatchObject({ status: 200, body: { verified: true } });
    expect((await stopAsSent(stopId, w.users.dispatcher.token)).stop.handover).toEqual({ pinVerified: true, pinLocked: false, checkPassed: false });
    expect((await listProofsOfStop(w.ctx.db, stopId)).map((p) => [p.kind, p.detail])).toEqual([['pin', { verified: true }]]);
    expect(await audits('pod.pin', stopId)).toEqual([expect.objectContaining({ outcome: 'ok', actor_user_id: w.users.driver.id })]);
    expect(await setStatus(w.users.driver, stopId, 'delivered')).toMatchObject({ status: 'applied' });
    // Once delivered, the PIN is shown nowhere any more and no more tries are taken.
    expect(await revealPinForTracking(w.ctx, stopId)).toBeNull();
    expect((await pin(w.users.driver, stopId, clear)).status).toBe(409);
  });

  it('wrong PINs are counted and audited; the fifth locks the stop, even against the right PIN, until a dispatcher unlocks it', async () => {
    const stopId = await newStop({ pinRequired: true });
    await arrive(stopId);
    const clear = (await revealPinForTracking(w.ctx, stopId))!;
    for (let i = 1; i <= maxPinAttempts; i++) {
      const res = await pin(w.users.driver, stopId, wrongPin(clear));
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ error: { code: 'pin_incorrect' } });
      if (i < maxPinAttempts) expect((res.body as { error: { message: string } }).error.message).toContain(`${maxPinAttempts - i} tr`);
    }
    const locked = await pin(w.users.driver, stopId, clear);
    expect(locked).toMatchObject({ status: 423, body: { error: { code: 'pin_locked' } } });
    const failures = await audits('pod.pin', stopId);
    expect(failures).toHaveLength(maxPinAttempts + 1);
    expect(failures.every((a) => a.outcome === 'failed')).toBe(true);
    expect(failures.map((a) => a.details).join('\n')).not.toContain(clear);
    expect((await stopAsSent(stopId, w.users.dispatcher.token)).stop.handover?.pinLocked).toBe(true);
    expect((await setStatus(w.users.driver, stopId, 'delivered') as { reason: string }).reason).toMatch(/locked/);

    // The driver cannot unlock it; the dispatcher can (audited), and the same PIN then works.
    expect((await rest(w, 'POST', `/stops/${stopId}/pin/unlock`, w.users.driver.token)).status).toBe(403);
    expect((await rest(w, 'POST', `/stops/${stopId}/pin/unlock`, w.users.dispatcher.token)).status).toBe(204);
    expect(await audits('pod.pinUnlock', stopId)).toEqual([
      expect.objectContaining({ outcome: 'denied', actor_user_id: w.users.driver.id }),
      expect.objectContaining({ outcome: 'ok', actor_user_id: w.users.dispatcher.id }),
    ]);
    expect(await pin(w.users.driver, stopId, clear)).toMatchObject({ status: 200 });
    expect(await setStatus(w.users.driver, stopId, 'delivered')).toMatchObject({ status: 'applied' });
  });

  it('twenty PIN guesses at once are counted one by one: five are judged, the rest find the stop locked', async () => {
    const stopId = await newStop({ pinRequired: true });
    const clear = (await revealPinForTracking(w.ctx, stopId))!;
    const answers = await Promise.all(Array.from({ length: 20 }, () => pin(w.users.driver, stopId, wrongPin(clear))));
    const codes = answers.map((a) => a.status).sort();
    expect(codes.filter((c) => c === 422)).toHaveLength(maxPinAttempts);
    expect(codes.filter((c) => c === 423)).toHaveLength(20 - maxPinAttempts);
    expect((await row(stopId)).pin_failures).toBe(maxPinAttempts);
  });

  it('a driver cannot enter a PIN or a check on another driver\u2019s stop, nor a dispatcher; a bad PIN shape stores nothing', async () => {
    const other = await newStop({ pinRequired: true, minimumAge: 18 }, w.routes.A2);
    const clear = (await revealPinForTracking(w.ctx, other))!;
    expect((await pin(w.users.driver, other, clear)).status).toBe(403);
    expect((await check(w.users.driver, other, { kind: 'age', documentType: 'passport', result: 'pass', overThreshold: true })).status).toBe(403);
    expect((await pin(w.users.dispatcher, other, clear)).status).toBe(403);
    expect((await pin(w.users.driver, 'stop-nope', '123456')).status).toBe(403);
    for (const bad of [{ pin: '12345' }, { pin: '1234567' }, { pin: 'abcdef' }, { pin: 123456 }, { pin: clear, extra: 1 }]) {
      expect((await rest(w, 'POST', `/stops/${other}/proof/pin`, w.users.admin.token, bad)).status).toBe(400);
    }
    const r = await row(other);
    expect([r.pin_failures, r.pin_verified_at, r.check_passed]).toEqual([0, null, null]);
    expect(await listProofsOfStop(w.ctx.db, other)).toEqual([]);
  });

  it('an age stop needs a passing age check; the check refuses document numbers and birth dates and keeps only type and result', async () => {
    const stopId = await newStop({ minimumAge: 18 });
    await arrive(stopId);
    expect((await setStatus(w.users.driver, stopId, 'delivered') as { reason: string }).reason).toMatch(/age check \(18\+\)/);
    const leaky = [
      { kind: 'age', documentType: 'passport', result: 'pass', overThreshold: true, documentNumber: 'C01X00T47' },
      { kind: 'age', documentType: 'id_card', result: 'pass', overThreshold: true, dateOfBirth: '1990-04-01' },
      { kind: 'age', documentType: 'id_card', result: 'pass', overThreshold: true, name: 'Pat Door' },
      { kind: 'age', documentType: 'library_card', result: 'pass', overThreshold: true },
      { kind: 'age', documentType: 'passport', result: 'pass', overThreshold: false },
      { kind: 'age', documentType: 'passport', result: 'pass' },
    ];
    for (const body of leaky) expect((await check(w.users.driver, stopId, body)).status).toBe(400);
    // An ID check proves nothing about age.
    expect((await check(w.users.driver, stopId, { kind: 'id', documentType: 'passport', result: 'pass' })).status).toBe(409);
    expect(await w.ctx.db.selectFrom('delivery_checks').selectAll().where('stop_id', '=', stopId).execute()).toEqual([]);

    const passed = await check(w.users.driver, stopId, { kind: 'age', documentType: 'driving_licence', result: 'pass', overThreshold: true, deviceTime: w.ctx.now() - 5000 });
    expect(passed).toMatchObject({ status: 201, body: { check: { kind: 'age', documentType: 'driving_licence', result: 'pass', overThreshold: true } } });
    const stored = await w.ctx.db.selectFrom('delivery_checks').selectAll().where('stop_id', '=', stopId).execute();
    expect(stored).toHaveLength(1);
    expect(Object.keys(stored[0]!).sort()).toEqual(['device_time', 'document_type', 'id', 'kind', 'location_id', 'over_threshold', 'recorded_at', 'recorded_by', 'result', 'stop_id']);
    expect((await listProofsOfStop(w.ctx.db, stopId)).map((p) => [p.kind, p.detail])).toEqual([
      ['check', { checkKind: 'age', documentType: 'driving_licence', result: 'pass', overThreshold: true }],
    ]);
    expect((await audits('pod.check', stopId))).toHaveLength(1);
    expect(await setStatus(w.users.driver, stopId, 'delivered')).toMatchObject({ status: 'applied' });
  });

  it('a failed check takes a pass back; the refused handover has its own reason, only on stops with a check', async () => {
    const stopId = await newStop({ idCheck: true });
    await arrive(stopId);
    expect(await check(w.users.driver, stopId, { kind: 'id', documentType: 'id_card', result: 'pass' })).toMatchObject({ status: 201 });
    expect(await check(w.users.driver, stopId, { kind: 'id', documentType: 'id_card', result: 'fail' })).toMatchObject({ status: 201 });
    expect((await stopAsSent(stopId, w.users.dispatcher.token)).stop.handover?.checkPassed).toBe(false);
    expect((await setStatus(w.users.driver, stopId, 'delivered') as { reason: string }).reason).toMatch(/ID check/);
    expect(await setStatus(w.users.driver, stopId, 'failed', { failureReason: 'handover_refused_check' })).toMatchObject({ status: 'applied' });

    const plain = await newStop({});
    await arrive(plain);
    expect(await check(w.users.driver, plain, { kind: 'id', documentType: 'id_card', result: 'pass' })).toMatchObject({ status: 409 });
    expect(await setStatus(w.users.driver, plain, 'failed', { failureReason: 'handover_refused_check' })).toMatchObject({ status: 'rejected', code: 'bad_request' });
  });

  it('turning the requirement on later makes a PIN once; turning it off forgets it', async () => {
    const stopId = await newStop({});
    expect(await push(w.users.manager, { type: 'stop.update', stopId, changes: { pinRequired: true } })).toMatchObject({ status: 'applied' });
    const first = await revealPinForTracking(w.ctx, stopId);
    expect(first).toMatch(/^\d{6}$/);
    expect(await push(w.users.manager, { type: 'stop.update', stopId, changes: { pinRequired: true, parcelCount: 3 } })).toMatchObject({ status: 'applied' });
    expect(await revealPinForTracking(w.ctx, stopId)).toBe(first);
    expect(await push(w.users.manager, { type: 'stop.update', stopId, changes: { pinRequired: false } })).toMatchObject({ status: 'applied' });
    expect(await revealPinForTracking(w.ctx, stopId)).toBeNull();
    expect((await row(stopId)).pin_hash).toBeNull();
  });
});
