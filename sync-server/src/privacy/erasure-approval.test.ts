import crypto from 'node:crypto';
import type { ApprovalRequest, ApprovalRequired, PrivacyEraseResult, PrivacyRequest } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdminJson } from '../../test/admin-cli';
import { backends } from '../../test/harness';
import { seedPhotoProof } from '../../test/proof-seed';
import { buildWorld, connectSocket, insertUser, openSession, rest, type TestSocket, type World } from '../../test/world';
import { createGrant } from '../access/grants';
import { proofFileStore, proofStorageKey } from '../proofs/storage';

/**
 * Erasure and the second admin (both engines, real server): an erasure that destroys proofs of
 * delivery or deletes stops waits for a `privacy.erase` approval (202), which the requester cannot
 * give and a second admin holding privacy.manage at every location of the request can; approving
 * runs it (evidence naming the approval, desktops told). A pseudonymise-only erasure without proofs
 * runs at once and says how the customer was found. A completed erasure forgets the customer in
 * their earlier requests too. The command line erases directly.
 */

const operator = { kind: 'operator' as const, actor: { userId: null, label: 'test', deviceId: null, ip: null } };

describe.each(backends)('erasure approvals (%s)', (backend) => {
  let w: World;
  let second: string;
  let secondAtAOnly: string;
  const photo = crypto.randomBytes(1024);

  const seedPhoto = (stopId: string, locationId: string) => seedPhotoProof(w, stopId, locationId, photo);

  const admin = () => w.users.admin.token;
  const register = async (token: string, body: Record<string, unknown>) => {
    const res = await rest(w, 'POST', '/privacy/requests', token, body);
    expect(res.status).toBe(201);
    return res.body as unknown as PrivacyRequest;
  };

  beforeAll(async () => {
    w = await buildWorld(backend, 2);
    const a2 = await insertUser(w.ctx, 'second-admin');
    await createGrant(w.ctx, operator, { userId: a2, role: 'admin', locationIds: [w.A, w.B] });
    second = (await openSession(w.ctx, a2)).token;
    // Admin at A only: the request below covers A and B.
    const a3 = await insertUser(w.ctx, 'admin-a-only');
    await createGrant(w.ctx, operator, { userId: a3, role: 'admin', locationIds: [w.A] });
    secondAtAOnly = (await openSession(w.ctx, a3)).token;
    const ab = await insertUser(w.ctx, 'requester-ab');
    await createGrant(w.ctx, operator, { userId: ab, role: 'admin', locationIds: [w.A, w.B] });
  }, 120_000);

  afterAll(async () => {
    await w?.dispose();
  });

  it('a pseudonymise-only erasure without proofs runs at once, says it found the customer by the index, and forgets them in earlier requests', async () => {
    const stop = w.stops.A2[0]!;
    const subject = { phone: stop.phone, customerName: stop.customerName };
    const access = await register(admin(), { kind: 'access', law: 'gdpr', locationIds: [w.A], subject });
    expect((await rest(w, 'POST', `/privacy/requests/${access.id}/close`, admin(), { reason: 'completed' })).status).toBe(200);
    // Another request about the same customer that also covers B keeps them: their data at B was not erased.
    const wider = await register(second, { kind: 'access', law: 'gdpr', locationIds: [w.A, w.B], subject });
    const erasure = await register(admin(), { kind: 'erasure', law: 'gdpr', locationIds: [w.A], subject });
    const res = await rest(w, 'POST', `/privacy/requests/${erasure.id}/erase`, admin(), { mode: 'pseudonymise' });
    expect(res.status).toBe(200);
    const out = res.body as unknown as PrivacyEraseResult;
    expect(out).toMatchObject({ stopsErased: 1, foundBy: ['phone'], request: { status: 'closed', subject: null } });
    expect(out.summary).toMatch(/found by the customer's phone number only/);
    expect(out.summary).toMatch(/1 earlier request/);

    const earlier = (await rest(w, 'GET', `/privacy/requests/${access.id}`, admin())).body as unknown as PrivacyRequest;
    expect(earlier).toMatchObject({ kind: 'access', status: 'closed', closeReason: 'completed', subject: null });
    expect(earlier.subjectErasedAt).not.toBeNull();
    expect(earlier.actions.map((a) => a.action)).toEqual(['received', 'close']);
    const row = await w.ctx.db.selectFrom('privacy_requests').select('subject_enc').where('id', '=', access.id).executeTakeFirstOrThrow();
    expect(row.subject_enc).toBeNull();
    const kept = (await rest(w, 'GET', `/privacy/requests/${wider.id}`, second)).body as unknown as PrivacyRequest;
    expect(kept.subject?.phone).toBe(stop.phone);
    const forget = await w.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'privacy.request.forget').where('target_id', '=', access.id).execute();
    expect(forget).toHaveLength(1);
    expect(forget[0]!.details).toContain(erasure.id);
    expect(forget[0]!.details).not.toContain(stop.phone.slice(-4));
  });

  it('destroying proofs waits for a second admin: not the requester, not one without privacy.manage everywhere; approving erases, names the approval in the evidence and tells desktops', async () => {
    const { ctx } = w;
    const stop = w.stops.A1[0]!;
    const proofId = await seedPhoto(stop.id, w.A);
    const erasure = await register(admin(), { kind: 'erasure', law: 'ccpa', locationIds: [w.A], subject: { phone: stop.phone } });
    const res = await rest(w, 'POST', `/privacy/requests/${erasure.id}/erase`, admin(), {});
    expect(res.status).toBe(202);
    const approval = (res.body as unknown as ApprovalRequired).approval;
    expect(approval).toMatchObject({ kind: 'privacy.erase', status: 'pending', locationIds: [w.A], handsOut: ['privacy.manage'], change: { requestId: erasure.id, mode: 'pseudonymise' } });
    expect(approval.reason).toMatch(/1 proof of delivery/);
    expect(JSON.stringify(approval)).not.toContain(stop.phone);
    // Nothing happened yet; asking again answers the same request.
    expect((await ctx.db.selectFrom('proofs').select('wrapped_key').where('id', '=', proofId).executeTakeFirstOrThrow()).wrapped_key).not.toBeNull();
    const again = await rest(w, 'POST', `/privacy/requests/${erasure.id}/erase`, admin(), {});
    expect(again.status).toBe(202);
    expect((again.body as unknown as ApprovalRequired).approval.id).toBe(approval.id);

    const own = await rest(w, 'POST', `/approvals/${approval.id}/approve`, admin(), {});
    expect(own.status).toBe(403);
    expect((own.body as { error: { code: string } }).error.code).toBe('approval_own_request');
    expect((await rest(w, 'POST', `/approvals/${approval.id}/approve`, w.users.dispatcher.token, {})).status).not.toBe(200);

    const socket: TestSocket = await connectSocket(w.server.url, w.users.dispatcher.token);
    try {
      const ok = await rest(w, 'POST', `/approvals/${approval.id}/approve`, second, {});
      expect(ok.status).toBe(200);
      expect((ok.body as { approval: ApprovalRequest }).approval.status).toBe('approved');
      const proof = await ctx.db.selectFrom('proofs').select('wrapped_key').where('id', '=', proofId).executeTakeFirstOrThrow();
      expect(proof.wrapped_key).toBeNull();
      await expect.poll(() => proofFileStore(ctx).get(proofStorageKey(proofId)), { timeout: 15_000 }).toBeNull();
      const row = await ctx.db.selectFrom('stops').select(['phone_enc', 'pseudonymised_at']).where('id', '=', stop.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ phone_enc: null });
      expect(row.pseudonymised_at).not.toBeNull();
      await expect.poll(() => socket.received.some((c) => JSON.stringify(c).includes(stop.id)), { timeout: 15_000 }).toBe(true);
    } finally {
      socket.disconnect();
    }
    const after = (await rest(w, 'GET', `/privacy/requests/${erasure.id}`, admin())).body as unknown as PrivacyRequest;
    expect(after).toMatchObject({ status: 'closed', closeReason: 'completed', subject: null });
    expect(after.actions.at(-1)).toMatchObject({ action: 'erase', counts: { proofsDestroyed: 1, stopsErased: 1 } });
    const evidence = await ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'retention.erase').execute();
    const mine = evidence.filter((e) => e.details.includes(erasure.id));
    expect(mine.map((e) => JSON.parse(e.details) as { class: string; approvalId: string }).map((d) => [d.class, d.approvalId]).sort())
      .toEqual([['contact', approval.id], ['proof', approval.id]]);
  });

  it('delete mode waits too; an approver lacking privacy.manage at one of the request\'s depots is refused; a request closed meanwhile makes it stale', async () => {
    const { ctx } = w;
    const stopA = w.stops.A2[1]!;
    const requester = (await openSession(ctx, (await ctx.db.selectFrom('users').select('id').where('username', '=', 'requester-ab').executeTakeFirstOrThrow()).id)).token;
    const erasure = await register(requester, { kind: 'erasure', law: 'gdpr', locationIds: [w.A, w.B], subject: { phone: stopA.phone } });
    const res = await rest(w, 'POST', `/privacy/requests/${erasure.id}/erase`, requester, { mode: 'delete', reason: 'Customer letter of 3 November' });
    expect(res.status).toBe(202);
    const approval = (res.body as unknown as ApprovalRequired).approval;
    expect(approval.reason).toMatch(/^Customer letter of 3 November \(found when asked: 1 stop/);
    expect(approval.summary).toMatch(/deleted with their delivery records/);
    const partial = await rest(w, 'POST', `/approvals/${approval.id}/approve`, secondAtAOnly, {});
    expect(partial.status).toBe(403);
    expect(await ctx.db.selectFrom('stops').select('id').where('id', '=', stopA.id).execute()).toHaveLength(1);

    expect((await rest(w, 'POST', `/privacy/requests/${erasure.id}/close`, requester, { reason: 'withdrawn' })).status).toBe(200);
    const stale = await rest(w, 'POST', `/approvals/${approval.id}/approve`, second, {});
    expect(stale.status).toBe(409);
    expect((stale.body as { error: { code: string } }).error.code).toBe('approval_stale');
    expect(await ctx.db.selectFrom('stops').select('id').where('id', '=', stopA.id).execute()).toHaveLength(1);
  });

  it('the command line erases at once, delete mode included: the operator is trusted as the second person', async () => {
    const stop = w.stops.B1[0]!;
    await seedPhoto(stop.id, w.B);
    const erasure = await register(second, { kind: 'erasure', law: 'gdpr', locationIds: [w.B], subject: { phone: stop.phone } });
    const out = await runAdminJson<PrivacyEraseResult>(w.server.env, ['privacy', 'erase', '--id', erasure.id, '--delete']);
    expect(out.code).toBe(0);
    expect(out.json).toMatchObject({ stopsErased: 1, proofsDestroyed: 1, request: { status: 'closed' } });
    expect(await w.ctx.db.selectFrom('stops').select('id').where('id', '=', stop.id).execute()).toEqual([]);
    expect(await w.ctx.db.selectFrom('approval_requests').select('id').where('kind', '=', 'privacy.erase').where('change', 'like', `%${erasure.id}%`).execute()).toEqual([]);
  });
});
