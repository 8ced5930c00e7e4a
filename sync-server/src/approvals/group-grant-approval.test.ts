import type { ApprovalRequest, Permission, RoleName } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLocation, buildUser, restCall, testClock, testOperator } from '../../test/factories';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { openSession } from '../../test/world';
import { createGrant } from '../access/grants';
import { applyGroupCreate } from '../access/groups';

/**
 * Granting an existing group that holds a sensitive permission (grant.manage, group.manage,
 * approval.decide, audit.read, an export) is a four-eyes change exactly like granting admin or
 * manager (`grant.privileged`), tried the way an insider would: granting it directly, approving
 * it themselves, slipping an edit of the group in between, asking without the rights.
 */
describe.each(backends)('granting a sensitive group needs a second person (%s)', (backend) => {
  const clock = testClock();
  const operator = { kind: 'operator' as const, actor: testOperator };
  let server: TestServer;
  let A: string;
  let n = 0;

  beforeAll(async () => {
    server = await startTestServer(backend, {}, { now: clock.now });
    A = (await buildLocation(server.ctx)).id;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const ctx = () => server.ctx;
  async function person(role: RoleName | null) {
    const u = await buildUser(ctx(), role ? { role, locationIds: [A] } : {});
    return { ...u, token: (await openSession(ctx(), u.id)).token };
  }
  /** A group made by the operator (who needs no approval), as a group that already exists. */
  const group = (permissions: Permission[]) => ctx().db.transaction().execute((trx) => applyGroupCreate(trx, operator, {
    name: `g-${++n}-${Math.random().toString(36).slice(2, 6)}`, description: '', permissions, denials: [], locationIds: [A], mfaRequired: true, mustExpire: false,
  }, ctx().now()));
  const call = (token: string, method: string, path: string, body?: unknown) => restCall(server.url, method, path, { token, body });
  const groupGrantsOf = async (userId: string) => (await ctx().db.selectFrom('grants').select('group_id').where('user_id', '=', userId).where('group_id', 'is not', null).where('revoked_at', 'is', null).execute()).map((g) => g.group_id);
  const rowOf = (id: string) => ctx().db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  async function askGroupGrant(token: string, userId: string, groupId: string): Promise<ApprovalRequest> {
    const res = await call(token, 'POST', '/grants', { userId, groupId, locationIds: [A], reason: 'runs the depot this month' });
    expect(res).toMatchObject({ status: 202, body: { approvalRequired: true, approval: { kind: 'grant.privileged', status: 'pending', mine: true, mayDecide: false } } });
    return (res.body as { approval: ApprovalRequest }).approval;
  }

  it('a manager cannot grant a group with grant.manage directly: 202, nothing granted until a second person approves', async () => {
    const leads = await group(['location.read', 'grant.manage', 'audit.read']);
    const asker = await person('manager');
    const target = await person(null);
    // No reason, no request; and never a grant.
    expect(await call(asker.token, 'POST', '/grants', { userId: target.id, groupId: leads.id, locationIds: [A] })).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    const approval = await askGroupGrant(asker.token, target.id, leads.id);
    expect(approval).toMatchObject({
      change: { userId: target.id, groupId: leads.id, groupVersion: 1, locationIds: [A] },
      handsOut: ['audit.read', 'grant.manage', 'location.read'], locationIds: [A],
    });
    expect(approval.summary).toContain(`"${leads.name}"`);
    expect(await groupGrantsOf(target.id)).toEqual([]);

    // The new sensitive permissions count too: approval.decide or group.manage alone make a group sensitive.
    const deciders = await group(['location.read', 'approval.decide']);
    await askGroupGrant(asker.token, target.id, deciders.id);
    expect(await groupGrantsOf(target.id)).toEqual([]);
    // A plain group is still granted at once.
    const viewers = await group(['location.read', 'stop.readCustomer']);
    expect((await call(asker.token, 'POST', '/grants', { userId: target.id, groupId: viewers.id, locationIds: [A] })).status).toBe(201);

    const approver = await person('manager');
    expect((await call(approver.token, 'POST', `/approvals/${approval.id}/approve`, { note: 'agreed' })).status).toBe(200);
    expect((await groupGrantsOf(target.id)).sort()).toEqual([leads.id, viewers.id].sort());
    // The grant is the requester's, audited as theirs, in the decision's transaction.
    const entry = await ctx().db.selectFrom('audit_log').select(['actor', 'details']).where('action', '=', 'grant.create')
      .where('details', 'like', `%${leads.id}%`).executeTakeFirstOrThrow();
    expect(entry.actor).toBe(asker.username);
  });

  it('the requester cannot approve their own request from another session; nor can the grantee; a manager cannot approve a group.manage grant', async () => {
    const designers = await group(['location.read', 'group.manage', 'grant.manage']);
    const asker = await person('admin');
    const target = await person('manager');
    const approval = await askGroupGrant(asker.token, target.id, designers.id);
    const otherSession = (await openSession(ctx(), asker.id)).token;
    for (const token of [asker.token, otherSession]) {
      expect(await call(token, 'POST', `/approvals/${approval.id}/approve`, {})).toMatchObject({ status: 403, body: { error: { code: 'approval_own_request' } } });
    }
    // The grantee holds approval.decide at A (manager): still not theirs to decide.
    expect(await call(target.token, 'POST', `/approvals/${approval.id}/approve`, {})).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    // Another manager holds approval.decide but not group.manage, which the grant hands out.
    const manager = await person('manager');
    expect(await call(manager.token, 'POST', `/approvals/${approval.id}/approve`, {})).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect((await rowOf(approval.id)).status).toBe('pending');
    expect(await groupGrantsOf(target.id)).toEqual([]);
    const refusals = await ctx().db.selectFrom('audit_log').select(['outcome']).where('target_id', '=', approval.id).where('action', '=', 'approval.approve').execute();
    expect(refusals.map((r) => r.outcome)).toEqual(['denied', 'denied', 'denied', 'denied']);
    const admin = await person('admin');
    expect((await call(admin.token, 'POST', `/approvals/${approval.id}/approve`, {})).status).toBe(200);
    expect(await groupGrantsOf(target.id)).toEqual([designers.id]);
  });

  it('a group edited between request and approval makes the request stale: nothing is granted', async () => {
    const auditors = await group(['location.read', 'audit.read', 'export.operational']);
    const asker = await person('manager');
    const approver = await person('admin');
    const target = await person(null);
    const approval = await askGroupGrant(asker.token, target.id, auditors.id);
    // Edited directly meanwhile (a change needing no approval): whatever changed, the approver would not decide what was asked.
    const edited = await call(approver.token, 'PATCH', `/groups/${auditors.id}`, { description: 'edited in passing' });
    expect(edited.status).toBe(200);
    const stale = await call(approver.token, 'POST', `/approvals/${approval.id}/approve`, {});
    expect(stale).toMatchObject({ status: 409, body: { error: { code: 'approval_stale' } } });
    expect(await rowOf(approval.id)).toMatchObject({ status: 'stale', stale_reason: 'the group changed since the request (version 1, now 2)' });
    expect(await groupGrantsOf(target.id)).toEqual([]);
    const trail = await ctx().db.selectFrom('audit_log').select(['action', 'outcome']).where('target_id', '=', approval.id).orderBy('seq').execute();
    expect(trail.map((e) => `${e.action}:${e.outcome}`)).toEqual(['approval.request:ok', 'approval.stale:failed']);

    // Asking again names the new version and is approved.
    const again = await askGroupGrant(asker.token, target.id, auditors.id);
    expect(again.change).toMatchObject({ groupVersion: 2 });
    expect((await call(approver.token, 'POST', `/approvals/${again.id}/approve`, {})).status).toBe(200);
    expect(await groupGrantsOf(target.id)).toEqual([auditors.id]);
  });

  it('whoever may not grant the group cannot ask for it either; a request naming an old version is refused', async () => {
    const leads = await group(['location.read', 'grant.manage']);
    const target = await person(null);
    const dispatcher = await person('dispatcher');
    expect(await call(dispatcher.token, 'POST', '/grants', { userId: target.id, groupId: leads.id, locationIds: [A], reason: 'please please' }))
      .toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const refused = await ctx().db.selectFrom('audit_log').select('outcome').where('actor_user_id', '=', dispatcher.id).where('action', '=', 'approval.request').execute();
    expect(refused.map((r) => r.outcome)).toEqual(['denied']);
    // A manager lacks group.manage: a group allowing it is beyond them.
    const designers = await group(['location.read', 'group.manage']);
    const manager = await person('manager');
    expect((await call(manager.token, 'POST', '/grants', { userId: target.id, groupId: designers.id, locationIds: [A], reason: 'please please' })).status).toBe(403);
    // Asking through /approvals with a version the group no longer has is a conflict.
    const admin = await person('admin');
    const old = await call(admin.token, 'POST', '/approvals', {
      kind: 'grant.privileged', change: { userId: target.id, groupId: leads.id, groupVersion: 7, locationIds: [A] }, reason: 'an old copy of the form',
    });
    expect(old).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(await groupGrantsOf(target.id)).toEqual([]);
  });

  it('a group granted directly is granted only at the version judged not to need approval', async () => {
    const plain = await group(['location.read']);
    const target = await person(null);
    await ctx().db.updateTable('permission_groups').set({ version: 2 }).where('id', '=', plain.id).execute();
    await expect(createGrant(ctx(), operator, { userId: target.id, groupId: plain.id, locationIds: [A] }, { groupVersion: 1 })).rejects.toMatchObject({ code: 'conflict' });
    expect(await groupGrantsOf(target.id)).toEqual([]);
    await createGrant(ctx(), operator, { userId: target.id, groupId: plain.id, locationIds: [A] }, { groupVersion: 2 });
    expect(await groupGrantsOf(target.id)).toEqual([plain.id]);
  });
});
