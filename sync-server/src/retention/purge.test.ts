/**
 * The retention purge on a real server and database (docs/operations.md, "Retention"): each class
 * on time and not before (the server's test clock moves, nothing sleeps), legal holds, evidence
 * entries that verify with the audit chain, a batch that fails half-way (a real database error
 * raised by a trigger) resumed without double evidence, and what desktops receive.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../audit/verify';
import { fieldKeyUsage } from '../provisioning/field-key-usage';
import { testClock, type TestClock } from '../../test/factories';
import { backends } from '../../test/harness';
import { buildWorld, connectSocket, openSession, rest, type TestSocket, type World } from '../../test/world';
import { presentStop } from '../sync/presenters';
import { purgeJob, purgeUnderLease } from './job';
import { holdJobLease, releaseJobLease } from '../db/job-leases';
import { runAdminJson } from '../../test/admin-cli';
import { purgeAction, runPurge } from './purge';
import { idsDigest } from './stop-erasure';

const day = 86_400_000;

async function evidenceOf(w: World, cls?: string) {
  const rows = await w.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', purgeAction).orderBy('seq').execute();
  return rows.map((r) => ({ ...r, d: JSON.parse(r.details) as { class: string; count: number; idsSha256: string; cutoff: number; mode: string } }))
    .filter((r) => cls === undefined || r.d.class === cls);
}

/** A legal hold, active from `at`, straight in the table (placing one through the API is tested with the holds). */
const insertHold = (w: World, at: number, h: { id: string; scope: string; location: string; stopId?: string | null; customerKey?: string | null; reason?: string }) => w.ctx.db.insertInto('legal_holds').values({
  id: h.id, scope: h.scope, location_id: h.location, stop_id: h.stopId ?? null, customer_key: h.customerKey ?? null, reason: h.reason ?? 'Dispute 42', owner: 'legal@example.test',
  placed_by: 'admin-a', placed_at: at, released_at: null, released_by: null, release_reason: null,
}).execute();

const stopRow = (w: World, id: string) => w.ctx.db.selectFrom('stops').selectAll().where('id', '=', id).executeTakeFirst();

async function addProof(w: World, stopId: string, at: number): Promise<string> {
  const id = crypto.randomUUID();
  await w.ctx.db.insertInto('proofs').values({
    id, stop_id: stopId, location_id: w.A, kind: 'photo', captured_by: null, captured_by_label: 'driver-a', device_time: null, server_time: at,
    gps_enc: 'v1.x.y.z', gps_accuracy_m: 5, distance_m: 3, content_type: 'image/jpeg', size_bytes: 10, sha256: 'ab'.repeat(32),
    wrapped_key: 'wrapped', storage_key: null, derived_from: null, annotation: null, created_at: at, deleted_at: null, deleted_by: null,
  }).execute();
  return id;
}

describe.each(backends)('retention purge (%s)', (backend) => {
  let w: World;
  let clock: TestClock;
  let t0: number;

  beforeEach(async () => {
    w = await buildWorld(backend, 3);
    clock = testClock(Date.now());
    w.ctx.now = clock.now;
    t0 = clock.now();
  });
  afterEach(async () => {
    await w.dispose();
  });

  const allStops = () => [...w.stops.A1, ...w.stops.A2, ...w.stops.B1].map((s) => s.id);
  const endStops = (at: number) => w.ctx.db.updateTable('stops').set({ window_end: at, window_start: at - 3_600_000 }).execute();

  it('purges each class on time and not before', async () => {
    await endStops(t0);
    const proofId = await addProof(w, w.stops.A1[0]!.id, t0);
    await w.ctx.db.insertInto('tracking_links').values({
      id: 'link-1', token_hash: 'h'.repeat(64), stop_id: w.stops.A1[0]!.id, location_id: w.A, origin: 'dispatcher', created_by: null, created_at: t0 - day, expires_at: t0, revoked_at: null, revoked_by: null,
    }).execute();
    await w.ctx.db.insertInto('tracking_link_hits').values({ link_id: 'link-1', location_id: w.A, hour: t0 - day, views: 2, audited_at: null }).execute();
    await w.ctx.db.insertInto('position_history').values({ id: 'pos-1', driver_id: w.driverRecordId, location_id: w.A, lat: 52.5, lng: 13.4, heading_deg: null, speed_kmh: null, recorded_at: t0 }).execute();
    await w.ctx.db.insertInto('positions').values({ driver_id: w.driverRecordId, location_id: w.A, lat: 52.5, lng: 13.4, heading_deg: null, speed_kmh: null, recorded_at: t0, version: 1 }).execute();
    const counts = async (at: number) => { clock.set(at); return (await runPurge(w.ctx, null)).counts; };

    // Tracking links, position history and sessions: 30 days.
    expect(await counts(t0 + 29 * day)).toMatchObject({ trackingLink: 0, positionHistory: 0, contact: 0, delivery: 0, proof: 0 });
    expect(await w.ctx.db.selectFrom('tracking_links').select('id').execute()).toHaveLength(1);
    const sessionsBefore = (await w.ctx.db.selectFrom('sessions').select('id').execute()).length;
    // The history and the driver's last position alike.
    expect(await counts(t0 + 31 * day)).toMatchObject({ trackingLink: 1, positionHistory: 2, session: sessionsBefore });
    expect(await w.ctx.db.selectFrom('positions').select('driver_id').execute()).toEqual([]);
    expect(await w.ctx.db.selectFrom('tracking_links').select('id').execute()).toEqual([]);
    expect(await w.ctx.db.selectFrom('tracking_link_hits').select('link_id').execute()).toEqual([]);
    expect(await w.ctx.db.selectFrom('position_history').select('id').execute()).toEqual([]);
    expect(await w.ctx.db.selectFrom('sessions').select('id').execute()).toEqual([]);

    // Contact details: 90 days, then pseudonymised; the delivery record stays.
    expect(await counts(t0 + 89 * day)).toMatchObject({ contact: 0 });
    const before = (await stopRow(w, w.stops.A1[1]!.id))!;
    expect(await counts(t0 + 91 * day)).toMatchObject({ contact: allStops().length, delivery: 0 });
    const after = (await stopRow(w, w.stops.A1[1]!.id))!;
    expect(after).toMatchObject({
      customer_name_enc: '', address_enc: '', notes_enc: '', phone_enc: null, email_enc: null, coordinates_enc: null,
      payment_ref_enc: null, failure_note_enc: null, pin_enc: null, phone_bidx: null, email_bidx: null, pseudonymised_at: t0 + 91 * day,
      status: before.status, window_end: before.window_end, order_ref: before.order_ref, parcel_count: before.parcel_count,
    });
    expect(after.version).toBeGreaterThan(before.version);
    const presented = presentStop(w.ctx, after);
    expect(presented).toMatchObject({ pseudonymised: true, phone: null, email: null });
    expect(presented).not.toHaveProperty('customerName');
    expect(presented).not.toHaveProperty('withheld');
    // An erased value is no ciphertext: the key usage count (and so rotation) does not take it for tampering.
    expect((await fieldKeyUsage(w.ctx)).unreadable).toEqual([]);
    // The proof keeps its metadata but not where the customer lives.
    expect(await w.ctx.db.selectFrom('proofs').select(['gps_enc', 'wrapped_key']).where('id', '=', proofId).executeTakeFirst()).toEqual({ gps_enc: null, wrapped_key: 'wrapped' });
    expect(await counts(t0 + 92 * day)).toMatchObject({ contact: 0 });

    // Proofs: 180 days, by key destruction.
    expect(await counts(t0 + 179 * day)).toMatchObject({ proof: 0 });
    expect(await counts(t0 + 181 * day)).toMatchObject({ proof: 1 });
    expect(await w.ctx.db.selectFrom('proofs').select(['wrapped_key', 'deleted_at', 'deleted_by']).where('id', '=', proofId).executeTakeFirst())
      .toEqual({ wrapped_key: null, deleted_at: t0 + 181 * day, deleted_by: 'system' });

    // Delivery records: 730 days, then deleted with what hangs on them.
    expect(await counts(t0 + 729 * day)).toMatchObject({ delivery: 0 });
    expect(await counts(t0 + 731 * day)).toMatchObject({ delivery: allStops().length });
    expect(await w.ctx.db.selectFrom('stops').select('id').execute()).toEqual([]);
    expect(await w.ctx.db.selectFrom('proofs').select('id').execute()).toEqual([]);

    // One evidence entry per class and location batch, and the chain verifies with them in it.
    const classes = (await evidenceOf(w)).map((e) => `${e.d.class}@${e.location_id ?? '-'}`).sort();
    expect(classes).toEqual(['contact@depot-a', 'contact@depot-b', 'delivery@depot-a', 'delivery@depot-b', 'positionHistory@depot-a', 'positionHistory@depot-a', 'proof@depot-a', 'session@-', 'trackingLink@depot-a']);
    expect(await verifyAuditChain(w.ctx.db)).toMatchObject({ ok: true });
  });

  it('leaves what a legal hold covers, until the hold is released', async () => {
    await endStops(t0 - 100 * day);
    const [held, customer, free] = w.stops.A1;
    await w.ctx.db.updateTable('stops').set({ phone_bidx: 'held-customer-key' }).where('id', '=', customer!.id).execute();
    await insertHold(w, t0, { id: 'hold-stop', scope: 'stop', location: w.A, stopId: held!.id });
    await insertHold(w, t0, { id: 'hold-customer', scope: 'customer', location: w.A, customerKey: 'held-customer-key' });
    await insertHold(w, t0, { id: 'hold-b', scope: 'location', location: w.B });

    const report = await runPurge(w.ctx, null);
    expect(report.counts.contact).toBe(4);
    expect(report.held).toBe(2);
    expect((await stopRow(w, held!.id))!.pseudonymised_at).toBeNull();
    expect((await stopRow(w, customer!.id))!.pseudonymised_at).toBeNull();
    expect((await stopRow(w, free!.id))!.pseudonymised_at).toBe(t0);
    for (const s of w.stops.B1) expect((await stopRow(w, s.id))!.pseudonymised_at).toBeNull();

    await w.ctx.db.updateTable('legal_holds').set({ released_at: t0, released_by: 'admin-b', release_reason: 'settled' }).where('id', '=', 'hold-stop').execute();
    expect((await runPurge(w.ctx, null)).counts.contact).toBe(1);
    expect((await stopRow(w, held!.id))!.pseudonymised_at).toBe(t0);
    expect((await stopRow(w, customer!.id))!.pseudonymised_at).toBeNull();
  });

  it('evidence names class, location, cutoff, count and a hash over the ids, never the data', async () => {
    await endStops(t0 - 100 * day);
    await runPurge(w.ctx, null, { locationIds: [w.A] });
    const [entry, ...more] = await evidenceOf(w, 'contact');
    expect(more).toEqual([]);
    const ids = [...w.stops.A1, ...w.stops.A2].map((s) => s.id);
    expect(entry!.d).toEqual({ class: 'contact', cutoff: t0 - 90 * day, mode: 'pseudonymise', count: ids.length, idsSha256: idsDigest(ids) });
    expect(idsDigest(ids)).toBe(crypto.createHash('sha256').update([...ids].sort().join('\n')).digest('hex'));
    expect(entry).toMatchObject({ actor: 'system', location_id: w.A, target_type: 'location', target_id: w.A, outcome: 'ok' });
    const text = JSON.stringify(await w.ctx.db.selectFrom('audit_log').selectAll().execute());
    for (const s of w.stops.A1) for (const v of [s.customerName, s.phone, s.address, s.id]) expect(text).not.toContain(v);
    expect(await verifyAuditChain(w.ctx.db)).toMatchObject({ ok: true });
  });

  it('a batch that fails half-way leaves whole batches evidenced, and the next run finishes without counting twice', async () => {
    const ids = allStops();
    // Distinct ends, so the batches (2 stops each, oldest first) are known.
    for (const [i, id] of ids.entries()) await w.ctx.db.updateTable('stops').set({ window_end: t0 - 100 * day + i * 1000 }).where('id', '=', id).execute();
    const third = ids[2]!;
    // A real database error in the second batch's UPDATE: the batch's transaction rolls back.
    if (backend === 'sqlite') {
      await sql.raw(`create trigger purge_crash before update on stops when old.id = '${third}' begin select raise(abort, 'simulated crash'); end`).execute(w.ctx.db);
    } else {
      await sql.raw(`create function purge_crash() returns trigger language plpgsql as $$ begin if old.id = '${third}' then raise exception 'simulated crash'; end if; return new; end $$`).execute(w.ctx.db);
      await sql.raw('create trigger purge_crash before update on stops for each row execute function purge_crash()').execute(w.ctx.db);
    }
    await expect(runPurge(w.ctx, null, { batchSize: 2, locationIds: [w.A] })).rejects.toThrow(/simulated crash/);
    const first = await evidenceOf(w, 'contact');
    expect(first.map((e) => e.d.count)).toEqual([2]);
    expect(first[0]!.d.idsSha256).toBe(idsDigest(ids.slice(0, 2)));
    for (const id of ids.slice(2, 6)) expect((await stopRow(w, id))!.pseudonymised_at).toBeNull();

    await sql.raw('drop trigger purge_crash' + (backend === 'postgres' ? ' on stops' : '')).execute(w.ctx.db);
    await runPurge(w.ctx, null, { batchSize: 2, locationIds: [w.A] });
    const all = await evidenceOf(w, 'contact');
    expect(all.map((e) => e.d.count)).toEqual([2, 2, 2]);
    expect(all.map((e) => e.d.idsSha256)).toEqual([idsDigest(ids.slice(0, 2)), idsDigest(ids.slice(2, 4)), idsDigest(ids.slice(4, 6))]);
    expect(await verifyAuditChain(w.ctx.db)).toMatchObject({ ok: true });
  });

  it('desktops are told: pseudonymised stops by the live feed and the pull, deleted ones as removed', async () => {
    await endStops(t0 - 100 * day);
    const gone = w.stops.A1.map((s) => s.id);
    await w.ctx.db.updateTable('stops').set({ window_end: t0 - 800 * day }).where('id', 'in', gone).execute();
    const cursor = Number((await w.ctx.db.selectFrom('locations').select('version').where('id', '=', w.A).executeTakeFirstOrThrow()).version);
    const sockets: TestSocket[] = [];
    try {
      const dispatcher = await connectSocket(w.server.url, w.users.dispatcher.token);
      const driver = await connectSocket(w.server.url, w.users.driver.token);
      sockets.push(dispatcher, driver);
      const report = await w.server.retentionPurge.runOnce();
      expect(report?.counts).toMatchObject({ delivery: 3, contact: 6 });

      type Sent = { entity: string; data: { id: string; kind?: string; pseudonymised?: boolean; customerName?: string } };
      const removedIn = (s: TestSocket) => (s.received as Sent[]).filter((c) => c.entity === 'removed').map((c) => c.data.id).sort();
      await expect.poll(() => removedIn(dispatcher), { timeout: 10_000 }).toEqual([...gone].sort());
      await expect.poll(() => removedIn(driver), { timeout: 10_000 }).toEqual([...gone].sort());
      const kept = w.stops.A2.map((s) => s.id).sort();
      await expect.poll(() => (dispatcher.received as Sent[]).filter((c) => c.entity === 'stop' && c.data.pseudonymised).map((c) => c.data.id).sort(), { timeout: 10_000 }).toEqual(kept);
      expect((dispatcher.received as Sent[]).some((c) => c.entity === 'stop' && c.data.customerName !== undefined)).toBe(false);

      const pulled = await rest(w, 'GET', `/locations/${w.A}/changes?after=${cursor}&limit=1000`, w.users.dispatcher.token);
      expect(pulled.status).toBe(200);
      const changes = (pulled.body as { changes: Sent[] }).changes;
      expect(changes.filter((c) => c.entity === 'removed').map((c) => `${c.data.kind}:${c.data.id}`).sort()).toEqual(gone.map((id) => `stop:${id}`).sort());
      expect(changes.filter((c) => c.entity === 'stop').map((c) => [c.data.id, c.data.pseudonymised])).toEqual(expect.arrayContaining(kept.map((id) => [id, true])));
    } finally {
      for (const s of sockets) s.disconnect();
    }
  });

  it('depotline-admin retention run purges now unless a server holds the lease; retention runs lists the evidence', async () => {
    // The command line runs on the real clock: these stops ended 100 days ago by it too.
    await endStops(Date.now() - 100 * day);
    expect(await holdJobLease(w.ctx.db, purgeJob, 'a-server', Date.now(), 3_600_000)).toBe(true);
    const refused = await runAdminJson<{ error: { message: string } }>(w.server.env, ['retention', 'run']);
    expect(refused.code).toBe(1);
    expect(refused.json.error.message).toMatch(/A server process is purging/);
    expect(await w.ctx.db.selectFrom('stops').select('id').where('pseudonymised_at', 'is not', null).execute()).toEqual([]);
    await releaseJobLease(w.ctx.db, purgeJob, 'a-server');

    const ran = await runAdminJson<{ ran: boolean; counts: Record<string, number> }>(w.server.env, ['retention', 'run', '--location', w.A]);
    expect(ran.code).toBe(0);
    expect(ran.json).toMatchObject({ ran: true, counts: { contact: 6 } });
    const runs = await runAdminJson<{ runs: { class: string; count: number; locationId: string; idsSha256: string }[] }>(w.server.env, ['retention', 'runs', '--location', w.A]);
    expect(runs.json.runs.map((r) => [r.class, r.count, r.locationId])).toEqual([['contact', 6, w.A]]);
    expect(runs.json.runs[0]!.idsSha256).toBe(idsDigest([...w.stops.A1, ...w.stops.A2].map((s) => s.id)));
  });

  it('an edit a console queued before the purge brings none of the erased data back', async () => {
    await endStops(t0 - 100 * day);
    await runPurge(w.ctx, null, { locationIds: [w.A] });
    const seeded = w.stops.A1[1]!;
    const late = await rest(w, 'POST', '/sync/push', w.users.dispatcher.token, { mutations: [
      { id: crypto.randomUUID(), locationId: w.A, createdAt: t0 - day, type: 'stop.update', stopId: seeded.id, changes: { customerName: seeded.customerName, phone: seeded.phone } },
      { id: crypto.randomUUID(), locationId: w.A, createdAt: t0 - day, type: 'stop.editNotes', stopId: seeded.id, notes: seeded.notes },
    ] });
    expect((late.body as { results: { status: string; code?: string; current?: { data: { pseudonymised?: boolean } } }[] }).results)
      .toMatchObject([{ status: 'rejected', code: 'conflict', current: { data: { pseudonymised: true } } }, { status: 'rejected', code: 'conflict' }]);
    expect(await stopRow(w, seeded.id)).toMatchObject({ customer_name_enc: '', phone_enc: null, phone_bidx: null, notes_enc: '' });
    // A status change carries no customer data and is still applied.
    const status = await rest(w, 'POST', '/sync/push', w.users.dispatcher.token, { mutations: [
      { id: crypto.randomUUID(), locationId: w.A, createdAt: t0, type: 'stop.setStatus', stopId: w.stops.A1[2]!.id, to: 'en_route' },
    ] });
    expect((status.body as { results: { status: string }[] }).results[0]!.status).toBe('applied');
  });

  it('a hold placed while the purge runs is honoured from the next batch on', async () => {
    const ids = [...w.stops.A1, ...w.stops.A2].map((s) => s.id);
    for (const [i, id] of ids.entries()) await w.ctx.db.updateTable('stops').set({ window_end: t0 - 100 * day + i * 1000 }).where('id', '=', id).execute();
    // Batches of 2 stops; after the first one commits, a hold is placed on a stop of the second
    // and one on the customer of the third. The feed here is a stand-in: it is the hook that runs
    // between two batches (the real feed's sockets are tested above).
    await w.ctx.db.updateTable('stops').set({ phone_bidx: 'late-customer' }).where('id', '=', ids[5]!).execute();
    let placed = false;
    const feed = { publish: async () => {
      if (placed) return;
      placed = true;
      await insertHold(w, t0, { id: 'late-stop', scope: 'stop', location: w.A, stopId: ids[3]! });
      await insertHold(w, t0, { id: 'late-customer', scope: 'customer', location: w.A, customerKey: 'late-customer' });
    } };
    const report = await runPurge(w.ctx, feed, { batchSize: 2, locationIds: [w.A] });
    expect(report.counts.contact).toBe(4);
    expect(report.held).toBe(2);
    const pseudonymised = async (id: string) => (await stopRow(w, id))!.pseudonymised_at !== null;
    expect(await Promise.all(ids.map(pseudonymised))).toEqual([true, true, true, false, true, false]);
    expect((await evidenceOf(w, 'contact')).map((e) => e.d.idsSha256)).toEqual([idsDigest(ids.slice(0, 2)), idsDigest([ids[2]!]), idsDigest([ids[4]!])]);

    // A location hold placed mid-run stops the rest of that location's purge.
    await endStops(t0 - 800 * day);
    placed = false;
    const feed2 = { publish: async () => {
      if (placed) return;
      placed = true;
      await insertHold(w, t0, { id: 'late-location', scope: 'location', location: w.A });
    } };
    const second = await runPurge(w.ctx, feed2, { batchSize: 2, locationIds: [w.A] });
    expect(second.counts.delivery).toBe(2);
    expect(await w.ctx.db.selectFrom('stops').select('id').where('location_id', '=', w.A).execute()).toHaveLength(4);
  });

  it('a delivery purge evidences the proofs whose keys go with the stops, and deletes the routes it empties', async () => {
    await endStops(t0);
    const proofId = await addProof(w, w.stops.A1[0]!.id, t0);
    await w.ctx.db.updateTable('routes').set({ date: '2999-01-01' }).where('id', '=', w.routes.B1).execute();
    await insertHold(w, t0, { id: 'keep-a2', scope: 'stop', location: w.A, stopId: w.stops.A2[0]!.id });
    const cursor = Number((await w.ctx.db.selectFrom('locations').select('version').where('id', '=', w.A).executeTakeFirstOrThrow()).version);
    const dispatcher = await connectSocket(w.server.url, w.users.dispatcher.token);
    try {
      clock.set(t0 + 731 * day);
      const report = await w.server.retentionPurge.runOnce();
      expect(report?.counts).toMatchObject({ delivery: allStops().length - 1, proof: 1 });

      const [proof, ...more] = await evidenceOf(w, 'proof');
      expect(more).toEqual([]);
      expect(proof!.d).toEqual({ class: 'proof', cutoff: t0 + day, mode: 'destroyKeys', count: 1, idsSha256: idsDigest([proofId]) });
      expect(proof!.location_id).toBe(w.A);
      expect(await w.ctx.db.selectFrom('proofs').select('id').execute()).toEqual([]);
      expect(await verifyAuditChain(w.ctx.db)).toMatchObject({ ok: true });

      // A1 is empty and dated before the cutoff: gone. A2 keeps a held stop; B1 is dated later.
      expect((await w.ctx.db.selectFrom('routes').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual([w.routes.A2, w.routes.B1].sort());
      const logged = await w.ctx.db.selectFrom('changes').select(['entity', 'entity_id']).where('location_id', '=', w.A).where('version', '>', cursor).where('entity', '=', 'route').execute();
      expect(logged).toEqual([{ entity: 'route', entity_id: w.routes.A1 }]);
      type Sent = { entity: string; data: { id: string; kind?: string } };
      await expect.poll(() => (dispatcher.received as Sent[]).filter((c) => c.entity === 'removed' && c.data.kind === 'route').map((c) => c.data.id), { timeout: 10_000 }).toEqual([w.routes.A1]);
      // A console that was offline catches up by pull: the emptied route is named removed too.
      // Two years on, the dispatcher's morning session is long over: a new one, as the console signs in again.
      const { token } = await openSession(w.ctx, w.users.dispatcher.id);
      const pulled = await rest(w, 'GET', `/locations/${w.A}/changes?after=${cursor}&limit=1000`, token);
      expect(pulled.status).toBe(200);
      const removedRoutes = (pulled.body as { changes: Sent[] }).changes.filter((c) => c.entity === 'removed' && c.data.kind === 'route');
      expect(removedRoutes.map((c) => c.data.id)).toEqual([w.routes.A1]);
    } finally {
      dispatcher.disconnect();
    }
  });

  it('one process purges at a time: the job lease keeps a second one out', async () => {
    await endStops(t0 - 100 * day);
    expect(await purgeUnderLease(w.ctx, null, 'first')).toMatchObject({ counts: { contact: 9 } });
    expect(await purgeUnderLease(w.ctx, null, 'second')).toBeNull();
    clock.advance(3 * 3_600_000);
    expect(await purgeUnderLease(w.ctx, null, 'second')).toMatchObject({ counts: { contact: 0 } });
  });
});
