import type { LocationAccess, LocationRetention } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdminJson } from '../../test/admin-cli';
import { backends } from '../../test/harness';
import { buildWorld, connectSocket, emitAck, insertUser, openSession, rest, type World } from '../../test/world';
import { createGrant } from '../access/grants';
import { phoneKey } from '../privacy/blind-index';
import { activeHolds, holdsOn, isHeld } from './holds';
import { effectiveRetention } from './policy';

/**
 * Retention periods and legal holds on a real server, both engines: who may read and change a
 * location's periods, narrowing at once and widening only through a second admin, bad periods
 * refused with nothing stored, desktops told the periods with their locations; holds placed on what
 * exists only, seen by the purge's test (`activeHolds`/`isHeld`/`holdsOn`), released only by two
 * people; the CLI; every change audited without the hold's reason or the customer.
 */

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };

describe.each(backends)('retention periods and legal holds (%s)', (backend) => {
  let world: World;
  let admin2: { id: string; token: string };

  const policyRows = () => world.ctx.db.selectFrom('retention_policies').selectAll().where('location_id', '=', world.A).orderBy('class').execute();
  const holdRows = () => world.ctx.db.selectFrom('legal_holds').selectAll().orderBy('placed_at').orderBy('id').execute();
  const auditOf = (action: string) => world.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('seq').execute();
  const approve = (id: string, token: string) => rest(world, 'POST', `/approvals/${id}/approve`, token, {});

  beforeAll(async () => {
    world = await buildWorld(backend, 3);
    const id = await insertUser(world.ctx, 'admin-two');
    await createGrant(world.ctx, operator, { userId: id, role: 'admin', locationIds: [world.A] });
    admin2 = { id, token: (await openSession(world.ctx, id)).token };
  }, 120_000);
  afterAll(async () => world?.dispose());

  it('GET /retention names every class with its default and bounds; a location starts at the defaults', async () => {
    const res = await rest(world, 'GET', '/retention', world.users.dispatcher.token);
    expect(res.status).toBe(200);
    const classes = (res.body as { classes: { class: string; defaultDays: number; maxDays: number | null; perLocation: boolean }[] }).classes;
    expect(classes.map((c) => c.class)).toEqual(['contact', 'delivery', 'proof', 'trackingLink', 'positionHistory', 'integrationLog', 'session', 'audit']);
    expect(classes.find((c) => c.class === 'contact')).toMatchObject({ defaultDays: 90, maxDays: 365, perLocation: true });
    expect(classes.find((c) => c.class === 'audit')).toMatchObject({ defaultDays: 2555, maxDays: null, perLocation: false });

    const view = await rest(world, 'GET', `/locations/${world.A}/retention`, world.users.dispatcher.token);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ effective: { contactDays: 90, deliveryDays: 730, proofDays: 180, trackingLinkDays: 30, positionHistoryDays: 30 }, overrides: {} });
    // Another depot's periods are not this dispatcher's business.
    expect((await rest(world, 'GET', `/locations/${world.A}/retention`, world.dispatcherB.token)).status).toBe(403);
  });

  it('only retention.manage changes periods; narrowing applies at once, is audited, and reaches desktops with their locations', async () => {
    const refused = await rest(world, 'PUT', `/locations/${world.A}/retention`, world.users.manager.token, { contactDays: 30 });
    expect(refused.status).toBe(403);
    expect(await policyRows()).toEqual([]);

    const res = await rest(world, 'PUT', `/locations/${world.A}/retention`, world.users.admin.token, { contactDays: 30, positionHistoryDays: 7 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ retention: { effective: { contactDays: 30, positionHistoryDays: 7, deliveryDays: 730 }, overrides: { contactDays: 30, positionHistoryDays: 7 } } });
    expect((await policyRows()).map((r) => [r.class, Number(r.days)])).toEqual([['contact', 30], ['positionHistory', 7]]);
    const audited = (await auditOf('retention.set')).filter((e) => e.outcome === 'ok');
    expect(audited).toHaveLength(1);
    expect((await auditOf('retention.set')).filter((e) => e.outcome === 'denied').map((e) => e.actor_user_id)).toEqual([world.users.manager.id]);
    expect(JSON.parse(audited[0]!.details)).toEqual({ periods: { contact: { from: 90, to: 30 }, positionHistory: { from: 30, to: 7 } } });

    // The desktop learns the policy with its locations, over the socket and REST alike.
    const socket = await connectSocket(world.server.url, world.users.dispatcher.token, { origin: 'app://depotline' });
    try {
      const ack = await emitAck<{ ok: true; data: LocationAccess[] }>(socket, 'sync:locations', {});
      expect(ack.data.find((l) => l.location.id === world.A)?.retention).toMatchObject({ contactDays: 30, positionHistoryDays: 7, deliveryDays: 730 });
    } finally {
      socket.close();
    }
    const listed = await rest(world, 'GET', '/locations', world.dispatcherB.token);
    const locations = (listed.body as { locations: LocationAccess[] }).locations;
    expect(locations.map((l) => [l.location.id, l.retention])).toEqual([
      [world.B, { contactDays: 90, deliveryDays: 730, proofDays: 180, trackingLinkDays: 30, positionHistoryDays: 30 }],
    ]);
  });

  it('a period of zero, of a hundred years, above the maximum, or of an unknown class is refused and nothing is stored', async () => {
    const before = await policyRows();
    for (const body of [{ contactDays: 0 }, { deliveryDays: 36_500 }, { contactDays: 1.5 }, { auditDays: 400 }, { contactDays: 'forever' }, {}]) {
      const res = await rest(world, 'PUT', `/locations/${world.A}/retention`, world.users.admin.token, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const overMax = await rest(world, 'PUT', `/locations/${world.A}/retention`, world.users.admin.token, { contactDays: 400, proofDays: 10 });
    expect(overMax.status).toBe(400);
    expect(JSON.stringify(overMax.body)).toContain('365 days, DEPOTLINE_RETENTION_CONTACT_MAX_DAYS');
    expect(await policyRows()).toEqual(before);
    const missing = await rest(world, 'PUT', '/locations/depot-nowhere/retention', world.users.admin.token, { contactDays: 10 });
    expect(missing.status).toBe(403);
  });

  it('widening waits for a second admin: nothing changes until approved, the requester cannot approve it, then it applies audited', async () => {
    // Without a reason: refused whole, the narrowing in the same body included.
    const noReason = await rest(world, 'PUT', `/locations/${world.A}/retention`, world.users.admin.token, { contactDays: 200, proofDays: 100 });
    expect(noReason.status).toBe(400);
    expect((await effectiveRetention(world.ctx, world.A)).proofDays).toBe(180);

    const res = await rest(world, 'PUT', `/locations/${world.A}/retention`, world.users.admin.token, { contactDays: 200, proofDays: 100, reason: 'claims take longer here' });
    expect(res.status).toBe(202);
    const body = res.body as { approvalRequired: true; approval: { id: string; kind: string; status: string; change: unknown }; retention: { effective: LocationRetention } };
    expect(body.approval).toMatchObject({ kind: 'retention.widen', status: 'pending', change: { locationId: world.A, days: { contactDays: 200 } } });
    // The narrowing part applied; the widening did not.
    expect(body.retention.effective).toMatchObject({ contactDays: 30, proofDays: 100 });

    expect((await approve(body.approval.id, world.users.admin.token)).status).toBe(403);
    expect((await effectiveRetention(world.ctx, world.A)).contactDays).toBe(30);
    // A manager holds approval.decide but not retention.manage: not an approver of this.
    expect((await approve(body.approval.id, world.users.manager.token)).status).toBe(403);

    const approved = await approve(body.approval.id, admin2.token);
    expect(approved.status).toBe(200);
    expect(await effectiveRetention(world.ctx, world.A)).toMatchObject({ contactDays: 200, proofDays: 100 });
    const widened = await auditOf('retention.widen');
    expect(widened).toHaveLength(1);
    expect(JSON.parse(widened[0]!.details)).toEqual({ periods: { contact: { from: 30, to: 200 } }, approvalId: body.approval.id });
    expect(widened[0]!.actor_user_id).toBe(world.users.admin.id);
  });

  it('an operator who lowers a maximum lowers every location set above it', async () => {
    const { config } = world.ctx;
    const lowered = { ...config, retention: { ...config.retention, location: { ...config.retention.location, contact: { defaultDays: 90, maxDays: 120 } } } };
    expect((await effectiveRetention(world.ctx, world.A)).contactDays).toBe(200);
    expect((await effectiveRetention({ config: lowered, db: world.ctx.db }, world.A)).contactDays).toBe(120);
  });

  it('a hold is placed only on what exists, never by someone without legalHold.manage, and the purge sees it', async () => {
    const stop = world.stops.A1[0]!;
    const hold = { reason: 'claim 2026-114 (damaged parcel)', owner: 'Legal: claims desk' };
    const before = await holdRows();
    for (const [path, token, body, status] of [
      [`/locations/${world.A}/legal-holds`, world.users.admin.token, { scope: 'stop', stopId: 'no-such-stop', ...hold }, 404],
      // A stop of another depot is not found here either.
      [`/locations/${world.A}/legal-holds`, world.users.admin.token, { scope: 'stop', stopId: world.stops.B1[0]!.id, ...hold }, 404],
      ['/locations/depot-nowhere/legal-holds', world.users.admin.token, { scope: 'location', ...hold }, 403],
      [`/locations/${world.A}/legal-holds`, world.users.manager.token, { scope: 'location', ...hold }, 403],
      [`/locations/${world.A}/legal-holds`, world.users.admin.token, { scope: 'customer', phone: 'not a phone', ...hold }, 400],
      [`/locations/${world.A}/legal-holds`, world.users.admin.token, { scope: 'customer', phone: stop.phone, email: 'a@b.example', ...hold }, 400],
      [`/locations/${world.A}/legal-holds`, world.users.admin.token, { scope: 'customer', phone: '+44 20 7946 0000', ...hold }, 404],
      [`/locations/${world.A}/legal-holds`, world.users.admin.token, { scope: 'location', reason: 'x', owner: 'Legal' }, 400],
    ] as const) {
      expect((await rest(world, 'POST', path, token, body)).status, JSON.stringify(body)).toBe(status);
    }
    expect(await holdRows()).toEqual(before);

    const onStop = await rest(world, 'POST', `/locations/${world.A}/legal-holds`, world.users.admin.token, { scope: 'stop', stopId: stop.id, ...hold });
    expect(onStop.status).toBe(201);
    expect(onStop.body).toMatchObject({ hold: { scope: 'stop', stopId: stop.id, locationId: world.A, owner: hold.owner, releasedAt: null } });

    // A customer hold by their phone, written differently from the stop (international prefix 00, no spaces).
    const customerStop = world.stops.A2[1]!;
    const national = `00${customerStop.phone.replace(/[+\s]/g, '')}`;
    await world.ctx.db.updateTable('stops').set({ phone_bidx: phoneKey(world.ctx, customerStop.phone) }).where('id', '=', customerStop.id).execute();
    const onCustomer = await rest(world, 'POST', `/locations/${world.A}/legal-holds`, world.users.admin.token, { scope: 'customer', phone: national, ...hold });
    expect(onCustomer.status).toBe(201);
    const stored = (await holdRows()).find((r) => r.scope === 'customer')!;
    expect(stored.customer_key).toBe(phoneKey(world.ctx, customerStop.phone));
    // The response never carries the key, and the audit entries carry neither reason, owner nor customer.
    expect(JSON.stringify(onCustomer.body)).not.toContain(stored.customer_key!);
    const placed = await auditOf('legalHold.place');
    expect(placed.filter((e) => e.outcome === 'ok')).toHaveLength(2);
    // The refused attempts (no grant at that location, no legalHold.manage) are audited too.
    expect(placed.filter((e) => e.outcome === 'denied').map((e) => e.actor_user_id)).toEqual([world.users.admin.id, world.users.manager.id]);
    for (const e of placed) {
      expect(e.details).not.toContain('claim 2026-114');
      expect(e.details).not.toContain('claims desk');
      expect(e.details).not.toContain(stored.customer_key!);
    }

    const holds = await activeHolds(world.ctx.db, world.A);
    const rowOf = async (id: string) => world.ctx.db.selectFrom('stops').select(['id', 'phone_bidx', 'email_bidx']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(isHeld(holds, await rowOf(stop.id))).toBe(true);
    expect(isHeld(holds, await rowOf(customerStop.id))).toBe(true);
    expect(isHeld(holds, await rowOf(world.stops.A2[0]!.id))).toBe(false);
    expect(await activeHolds(world.ctx.db, world.B)).toMatchObject({ location: false, stopIds: new Set(), customerKeys: new Set() });
    const covering = await holdsOn(world.ctx.db, world.A, [stop.id, customerStop.id, world.stops.A2[0]!.id]);
    expect(covering.map((c) => [c.hold.scope, c.stopIds])).toEqual([['stop', [stop.id]], ['customer', [customerStop.id]]]);
    expect(covering[0]!.hold).toMatchObject({ reason: hold.reason, owner: hold.owner });

    const listed = await rest(world, 'GET', `/locations/${world.A}/legal-holds?active=true`, world.users.admin.token);
    expect((listed.body as { holds: unknown[] }).holds).toHaveLength(2);
    expect((await rest(world, 'GET', `/locations/${world.A}/legal-holds`, world.users.dispatcher.token)).status).toBe(403);
  });

  it('the one who placed a hold cannot release it alone; a second admin\u2019s approval does, audited, and then the purge may reach it', async () => {
    const placed = await rest(world, 'POST', `/locations/${world.A}/legal-holds`, world.users.admin.token, { scope: 'location', reason: 'regulator inquiry', owner: 'Compliance' });
    expect(placed.status).toBe(201);
    const holdId = (placed.body as { hold: { id: string } }).hold.id;
    expect((await activeHolds(world.ctx.db, world.A)).location).toBe(true);

    expect((await rest(world, 'POST', '/legal-holds/no-such-hold/release', world.users.admin.token, { reason: 'done with it' })).status).toBe(404);
    // Someone else's depot: the same answer as an unknown hold, and the attempt is audited.
    expect((await rest(world, 'POST', `/legal-holds/${holdId}/release`, world.dispatcherB.token, { reason: 'done with it' })).status).toBe(404);
    expect((await auditOf('legalHold.release')).filter((e) => e.outcome === 'denied')).toHaveLength(1);

    const asked = await rest(world, 'POST', `/legal-holds/${holdId}/release`, world.users.admin.token, { reason: 'inquiry closed' });
    expect(asked.status).toBe(202);
    const approval = (asked.body as { approval: { id: string; kind: string; status: string } }).approval;
    expect(approval).toMatchObject({ kind: 'legalHold.release', status: 'pending' });
    expect((await approve(approval.id, world.users.admin.token)).status).toBe(403);
    expect((await activeHolds(world.ctx.db, world.A)).location).toBe(true);

    expect((await approve(approval.id, admin2.token)).status).toBe(200);
    expect((await activeHolds(world.ctx.db, world.A)).location).toBe(false);
    const row = (await holdRows()).find((r) => r.id === holdId)!;
    expect(row).toMatchObject({ released_by: world.users.admin.username, release_reason: 'inquiry closed' });
    const released = (await auditOf('legalHold.release')).filter((e) => e.outcome === 'ok');
    expect(released).toHaveLength(1);
    expect(JSON.parse(released[0]!.details)).toEqual({ scope: 'location', approvalId: approval.id });

    // Released already: a new request is refused as such.
    expect((await rest(world, 'POST', `/legal-holds/${holdId}/release`, world.users.admin.token, { reason: 'again' })).status).toBe(409);
  });

  it('depotline-admin retention show|set and hold place|list|release at the server host', async () => {
    const env = world.server.env;
    const shown = await runAdminJson<{ retention: { effective: LocationRetention } }>(env, ['retention', 'show', '--location', world.B, '--json']);
    expect(shown.code).toBe(0);
    expect(shown.json.retention.effective.contactDays).toBe(90);

    const set = await runAdminJson<{ retention: { effective: LocationRetention } }>(env, ['retention', 'set', '--location', world.B, '--contact-days', '120', '--tracking-link-days', '10', '--json']);
    expect(set.code).toBe(0);
    expect(set.json.retention.effective).toMatchObject({ contactDays: 120, trackingLinkDays: 10 });
    const bad = await runAdminJson(env, ['retention', 'set', '--location', world.B, '--contact-days', '0', '--json']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--contact-days');
    expect((await runAdminJson(env, ['retention', 'set', '--location', world.B, '--contact-days', '9999', '--json'])).code).toBe(1);
    expect((await effectiveRetention(world.ctx, world.B)).contactDays).toBe(120);
    for (const args of [['retention', 'show', '--location', 'depot-nowhere'], ['hold', 'place', '--location', 'depot-nowhere', '--reason', 'x y z', '--owner', 'Legal']]) {
      const missing = await runAdminJson(env, [...args, '--json']);
      expect(missing.code, args.join(' ')).toBe(1);
      expect(missing.stderr).toContain('location');
    }

    const stopId = world.stops.B1[2]!.id;
    const placed = await runAdminJson<{ hold: { id: string } }>(env, ['hold', 'place', '--location', world.B, '--stop', stopId, '--reason', 'police request', '--owner', 'Depot manager', '--json']);
    expect(placed.code).toBe(0);
    expect((await activeHolds(world.ctx.db, world.B)).stopIds.has(stopId)).toBe(true);
    expect((await runAdminJson(env, ['hold', 'place', '--location', world.B, '--stop', 'nope', '--reason', 'x y z', '--owner', 'Legal', '--json'])).code).toBe(1);
    const listed = await runAdminJson<{ holds: { id: string }[] }>(env, ['hold', 'list', '--location', world.B, '--active', '--json']);
    expect(listed.json.holds.map((h) => h.id)).toEqual([placed.json.hold.id]);
    const released = await runAdminJson(env, ['hold', 'release', '--id', placed.json.hold.id, '--reason', 'request withdrawn', '--json']);
    expect(released.code).toBe(0);
    expect((await activeHolds(world.ctx.db, world.B)).stopIds.size).toBe(0);
    expect((await auditOf('legalHold.release')).some((e) => e.actor.startsWith('cli:'))).toBe(true);
  });
});
