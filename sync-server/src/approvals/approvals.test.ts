import type { ApprovalRequest, RoleName } from '@depotline/shared';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLocation, buildUser, restCall, testClock } from '../../test/factories';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { openSession } from '../../test/world';

/**
 * Four-eyes approvals, tried the way an insider would: approving their own request from another
 * session, a second account that lacks what the change hands out, an approver who is missing at
 * one of the locations, late, twice, stale, and two approvers at once.
 */
describe.each(backends)('four-eyes approvals (%s)', (backend) => {
  const clock = testClock();
  let server: TestServer;
  let A: string;
  let B: string;

  beforeAll(async () => {
    server = await startTestServer(backend, {}, { now: clock.now });
    A = (await buildLocation(server.ctx)).id;
    B = (await buildLocation(server.ctx)).id;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const ctx = () => server.ctx;
  async function person(role: RoleName | null, locationIds: string[] = [A], withTotp = false) {
    const u = await buildUser(ctx(), { ...(role ? { role, locationIds } : {}), withTotp });
    return { ...u, token: (await openSession(ctx(), u.id)).token };
  }
  const call = (token: string, method: string, path: string, body?: unknown) => restCall(server.url, method, path, { token, body });
  const grantsOf = async (userId: string) => (await ctx().db.selectFrom('grants').select('role').where('user_id', '=', userId).execute()).map((g) => g.role);
  const rowOf = (id: string) => ctx().db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const auditOf = async (id: string) => (await ctx().db.selectFrom('audit_log').select(['action', 'outcome', 'actor', 'details'])
    .where('target_type', '=', 'approval_request').where('target_id', '=', id).orderBy('seq').execute())
    .map((e) => ({ action: e.action, outcome: e.outcome, actor: e.actor, refused: (JSON.parse(e.details) as { refused?: string }).refused }));

  async function askAdminGrant(requesterToken: string, userId: string, locationIds = [A], role = 'admin'): Promise<ApprovalRequest> {
    const res = await call(requesterToken, 'POST', '/grants', { userId, role, locationIds, reason: 'covers the night shift' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ approvalRequired: true, approval: { kind: 'grant.privileged', status: 'pending', mine: true, mayDecide: false } });
    return (res.body as { approval: ApprovalRequest }).approval;
  }

  it('granting admin answers 202 with the request; nothing is granted until a second admin approves, then in one step', async () => {
    const asker = await person('admin');
    const approver = await person('admin');
    const target = await person(null);
    const noReason = await call(asker.token, 'POST', '/grants', { userId: target.id, role: 'admin', locationIds: [A] });
    expect(noReason).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });

    const approval = await askAdminGrant(asker.token, target.id);
    expect(approval.locationIds).toEqual([A]);
    expect(approval.handsOut).toContain('grant.manage');
    expect(approval.summary).toContain(target.username);
    expect(approval.expiresAt - approval.requestedAt).toBe(24 * 3_600_000);
    expect(await grantsOf(target.id)).toEqual([]);

    const inbox = await call(approver.token, 'GET', '/approvals?status=pending');
    expect((inbox.body as { approvals: ApprovalRequest[] }).approvals.find((a) => a.id === approval.id)).toMatchObject({ mayDecide: true, mine: false, reason: 'covers the night shift' });

    const ok = await call(approver.token, 'POST', `/approvals/${approval.id}/approve`, { note: 'checked with HR' });
    expect(ok).toMatchObject({ status: 200, body: { approval: { status: 'approved', decidedBy: { userId: approver.id }, decisionNote: 'checked with HR' } } });
    expect(await grantsOf(target.id)).toEqual(['admin']);
    expect((await auditOf(approval.id)).map((e) => `${e.action}:${e.outcome}`)).toEqual(['approval.request:ok', 'approval.approve:ok']);
    // The grant itself is the requester's, audited as theirs.
    const grantEntry = await ctx().db.selectFrom('audit_log').select('actor').where('action', '=', 'grant.create').where('details', 'like', `%${target.id}%`).executeTakeFirstOrThrow();
    expect(grantEntry.actor).toBe(asker.username);
  });

  it('the requester cannot approve or deny their own request, from another session or device either', async () => {
    const asker = await person('admin');
    const target = await person(null);
    const approval = await askAdminGrant(asker.token, target.id);
    const otherDevice = (await openSession(ctx(), asker.id)).token;
    for (const token of [asker.token, otherDevice]) {
      for (const verb of ['approve', 'deny']) {
        expect(await call(token, 'POST', `/approvals/${approval.id}/${verb}`, {})).toMatchObject({ status: 403, body: { error: { code: 'approval_own_request' } } });
      }
    }
    expect((await rowOf(approval.id)).status).toBe('pending');
    expect(await grantsOf(target.id)).toEqual([]);
    expect((await auditOf(approval.id)).filter((e) => e.outcome === 'denied').map((e) => e.refused)).toEqual(Array(4).fill('approval_own_request'));
  });

  it('a second account without every permission the change hands out is refused, and so is the grantee', async () => {
    const asker = await person('admin');
    const manager = await person('manager'); // holds approval.decide at A, but not group.manage or session.revokeAny
    const target = await person('manager');
    const approval = await askAdminGrant(asker.token, target.id);
    expect((await call(manager.token, 'GET', `/approvals/${approval.id}`)).body).toMatchObject({ approval: { mayDecide: false } });
    expect(await call(manager.token, 'POST', `/approvals/${approval.id}/approve`, {})).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    // The user who would receive the role holds approval.decide at A too: still not theirs to decide.
    expect(await call(target.token, 'POST', `/approvals/${approval.id}/approve`, {})).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const dispatcher = await person('dispatcher');
    expect(await call(dispatcher.token, 'POST', `/approvals/${approval.id}/approve`, {})).toMatchObject({ status: 403 });
    expect((await rowOf(approval.id)).status).toBe('pending');
    expect(await grantsOf(target.id)).toEqual(['manager']);
    // An admin holding everything at A may not decide a change about themselves.
    const admin = await person('admin');
    const aboutAdmin = await askAdminGrant(asker.token, admin.id, [A], 'manager');
    expect(await call(admin.token, 'POST', `/approvals/${aboutAdmin.id}/approve`, {})).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect((await rowOf(aboutAdmin.id)).status).toBe('pending');
    const denied = (await ctx().db.selectFrom('audit_log').select('details').where('action', '=', 'approval.approve').where('outcome', '=', 'denied')
      .where('actor', '=', manager.username).executeTakeFirstOrThrow()).details;
    expect(JSON.parse(denied) as Record<string, unknown>).toMatchObject({ permission: 'group.manage', locationId: A });
  });

  it('an approver lacking approval.decide at one of the touched locations is refused; one who holds it at both approves', async () => {
    const asker = await person('admin', [A, B]);
    const target = await person(null);
    const approval = await askAdminGrant(asker.token, target.id, [A, B], 'manager');
    expect(approval.locationIds).toEqual([A, B].sort());
    const onlyA = await person('admin', [A]);
    const onlyB = await person('admin', [B]);
    for (const who of [onlyA, onlyB]) {
      expect(await call(who.token, 'POST', `/approvals/${approval.id}/approve`, {})).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    }
    // onlyB cannot even see a request that touches A.
    expect((await call(onlyB.token, 'GET', `/approvals/${approval.id}`)).status).toBe(404);
    expect(await grantsOf(target.id)).toEqual([]);
    const both = await person('admin', [A, B]);
    expect((await call(both.token, 'POST', `/approvals/${approval.id}/approve`, {})).status).toBe(200);
    expect(await grantsOf(target.id)).toEqual(['manager']);
  });

  it('an expired request is refused with approval_expired and changes nothing', async () => {
    const asker = await person('admin');
    const target = await person(null);
    const approval = await askAdminGrant(asker.token, target.id);
    clock.advance(24 * 3_600_000 + 1000);
    const approver = await person('admin'); // a fresh session at the new time
    expect(await call(approver.token, 'POST', `/approvals/${approval.id}/approve`, {})).toMatchObject({ status: 409, body: { error: { code: 'approval_expired' } } });
    expect((await rowOf(approval.id)).status).toBe('expired');
    expect(await grantsOf(target.id)).toEqual([]);
    expect((await auditOf(approval.id)).map((e) => `${e.action}:${e.outcome}`)).toEqual(['approval.request:ok', 'approval.expire:ok', 'approval.approve:denied']);
  });

  it('an already decided request is refused with approval_closed; a withdrawn one too; only the requester withdraws', async () => {
    const asker = await person('admin');
    const first = await person('admin');
    const second = await person('admin');
    const target = await person(null);
    const denied = await askAdminGrant(asker.token, target.id);
    expect(await call(first.token, 'POST', `/approvals/${denied.id}/deny`, { note: 'not without a ticket' })).toMatchObject({ status: 200, body: { approval: { status: 'denied' } } });
    expect(await call(second.token, 'POST', `/approvals/${denied.id}/approve`, {})).toMatchObject({ status: 409, body: { error: { code: 'approval_closed' } } });
    expect(await call(asker.token, 'POST', `/approvals/${denied.id}/withdraw`)).toMatchObject({ status: 409, body: { error: { code: 'approval_closed' } } });

    const withdrawn = await askAdminGrant(asker.token, target.id);
    expect(await call(first.token, 'POST', `/approvals/${withdrawn.id}/withdraw`)).toMatchObject({ status: 403 });
    expect(await call(asker.token, 'POST', `/approvals/${withdrawn.id}/withdraw`)).toMatchObject({ status: 200, body: { approval: { status: 'withdrawn' } } });
    expect(await call(second.token, 'POST', `/approvals/${withdrawn.id}/approve`, {})).toMatchObject({ status: 409, body: { error: { code: 'approval_closed' } } });
    expect(await grantsOf(target.id)).toEqual([]);
    expect((await auditOf(withdrawn.id)).map((e) => `${e.action}:${e.outcome}`)).toEqual(['approval.request:ok', 'approval.withdraw:denied', 'approval.withdraw:ok', 'approval.approve:denied']);
  });

  it('a stale change is refused with approval_stale and marked so: the grantee was disabled, or the requester lost the right to ask', async () => {
    const asker = await person('admin');
    const approver = await person('admin');
    const target = await person(null);
    const one = await askAdminGrant(asker.token, target.id);
    await ctx().db.updateTable('users').set({ disabled_at: ctx().now() }).where('id', '=', target.id).execute();
    expect(await call(approver.token, 'POST', `/approvals/${one.id}/approve`, {})).toMatchObject({ status: 409, body: { error: { code: 'approval_stale' } } });
    expect(await rowOf(one.id)).toMatchObject({ status: 'stale', stale_reason: 'the user is disabled' });
    expect(await grantsOf(target.id)).toEqual([]);

    const target2 = await person(null);
    const two = await askAdminGrant(asker.token, target2.id);
    await ctx().db.updateTable('grants').set({ revoked_at: ctx().now(), revoked_by: 'test' }).where('user_id', '=', asker.id).execute();
    expect(await call(approver.token, 'POST', `/approvals/${two.id}/approve`, {})).toMatchObject({ status: 409, body: { error: { code: 'approval_stale' } } });
    expect((await rowOf(two.id)).stale_reason).toMatch(/requester may no longer ask/);
    expect(await grantsOf(target2.id)).toEqual([]);
    expect((await auditOf(two.id)).map((e) => `${e.action}:${e.outcome}`)).toEqual(['approval.request:ok', 'approval.stale:failed']);
  });

  it('approval is atomic: when applying the change fails, no decision is recorded', async () => {
    const asker = await person('admin');
    const approver = await person('admin');
    const target = await person(null);
    const approval = await askAdminGrant(asker.token, target.id);
    // A real failure inside the decision's transaction: the database refuses the grant row.
    if (backend === 'sqlite') {
      await sql`create trigger refuse_grants before insert on grants begin select raise(abort, 'refused by test'); end`.execute(ctx().db);
    } else {
      await sql`create function refuse_grants() returns trigger language plpgsql as $$ begin raise exception 'refused by test'; end $$`.execute(ctx().db);
      await sql`create trigger refuse_grants before insert on grants for each row execute function refuse_grants()`.execute(ctx().db);
    }
    try {
      expect((await call(approver.token, 'POST', `/approvals/${approval.id}/approve`, {})).status).toBe(500);
    } finally {
      await sql`drop trigger refuse_grants${backend === 'postgres' ? sql` on grants` : sql``}`.execute(ctx().db);
    }
    expect(await rowOf(approval.id)).toMatchObject({ status: 'pending', decided_by: null, decided_at: null });
    expect(await grantsOf(target.id)).toEqual([]);
    expect((await auditOf(approval.id)).map((e) => `${e.action}:${e.outcome}`)).toEqual(['approval.request:ok', 'approval.approve:failed']);
    // Once the fault is gone the same request can still be approved.
    expect((await call(approver.token, 'POST', `/approvals/${approval.id}/approve`, {})).status).toBe(200);
    expect(await grantsOf(target.id)).toEqual(['admin']);
  });

  it('two approvers at once: the change is applied once, the other is told it was decided', async () => {
    const asker = await person('admin');
    const approvers = await Promise.all([person('admin'), person('admin'), person('admin')]);
    const target = await person(null);
    const approval = await askAdminGrant(asker.token, target.id);
    const results = await Promise.all(approvers.map((a) => call(a.token, 'POST', `/approvals/${approval.id}/approve`, {})));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body).toMatchObject({ error: { code: 'approval_closed' } });
    expect(await grantsOf(target.id)).toEqual(['admin']);
    expect((await auditOf(approval.id)).filter((e) => e.action === 'approval.approve' && e.outcome === 'ok')).toHaveLength(1);
  });

  it('creating or widening a group with audit or export permissions waits for approval; a group edited meanwhile is stale', async () => {
    const asker = await person('admin');
    const approver = await person('admin');
    const tag = Math.random().toString(36).slice(2, 8);
    const auditors = await call(asker.token, 'POST', '/groups', { name: `auditors-${tag}`, permissions: ['location.read', 'audit.read'], locationIds: [A], reason: 'quarterly audit' });
    expect(auditors).toMatchObject({ status: 202, body: { approval: { kind: 'group.sensitive', handsOut: ['audit.read', 'location.read'], locationIds: [A] } } });
    const groupNamed = (name: string) => ctx().db.selectFrom('permission_groups').select(['id', 'version']).where('name', '=', name).executeTakeFirst();
    expect(await groupNamed(`auditors-${tag}`)).toBeUndefined();
    const first = (auditors.body as { approval: ApprovalRequest }).approval;
    expect((await call(approver.token, 'POST', `/approvals/${first.id}/approve`, {})).status).toBe(200);
    expect(await groupNamed(`auditors-${tag}`)).toBeDefined();

    // A plain group is created at once; adding an export permission to it is a widening that waits.
    const plain = await call(asker.token, 'POST', '/groups', { name: `viewers-${tag}`, permissions: ['location.read'], locationIds: [A] });
    expect(plain.status).toBe(201);
    const groupId = (plain.body as { group: { id: string } }).group.id;
    const widen = await call(asker.token, 'PATCH', `/groups/${groupId}`, { permissions: ['location.read', 'export.operational'], reason: 'monthly report' });
    expect(widen).toMatchObject({ status: 202, body: { approval: { change: { op: 'update', groupId, version: 1 } } } });
    // Meanwhile the group is renamed directly (a change that widens nothing): the request is stale.
    expect((await call(asker.token, 'PATCH', `/groups/${groupId}`, { name: `viewers-${tag}-x` })).status).toBe(200);
    const stale = await call(approver.token, 'POST', `/approvals/${(widen.body as { approval: ApprovalRequest }).approval.id}/approve`, {});
    expect(stale).toMatchObject({ status: 409, body: { error: { code: 'approval_stale' } } });
    const after = await ctx().db.selectFrom('permission_groups').select('permissions').where('id', '=', groupId).executeTakeFirstOrThrow();
    expect(JSON.parse(after.permissions)).toEqual(['location.read']);
  });

  it('removing a user\u2019s authenticator or factors always waits for a second person, then removes them and alerts the user', async () => {
    const asker = await person('admin');
    const approver = await person('admin');
    const target = await person('dispatcher', [A], true);
    const res = await call(asker.token, 'POST', `/users/${target.id}/mfa/disable`, { reason: 'lost phone, ticket 4411' });
    expect(res).toMatchObject({ status: 202, body: { approvalRequired: true, approval: { kind: 'user.mfaDisable', locationIds: [A], handsOut: [] } } });
    const id = (res.body as { approval: ApprovalRequest }).approval.id;
    const enrolled = async () => (await ctx().db.selectFrom('users').select('totp_enrolled_at').where('id', '=', target.id).executeTakeFirstOrThrow()).totp_enrolled_at;
    expect(await enrolled()).not.toBeNull();
    // A manager holds approval.decide at A but may not ask (no session.revokeAny) ...
    const manager = await person('manager');
    expect((await call(manager.token, 'POST', `/users/${target.id}/mfa/disable`, { reason: 'please' })).status).toBe(403);
    // ... yet may decide a change that hands nothing out.
    expect((await call(manager.token, 'POST', `/approvals/${id}/approve`, {})).status).toBe(200);
    expect(await enrolled()).toBeNull();
    const alert = await ctx().db.selectFrom('security_alerts').select('kind').where('user_id', '=', target.id).execute();
    expect(alert.map((a) => a.kind)).toContain('factor_removed');

    // Nothing left to remove: asking again is a conflict, not a request.
    expect((await call(asker.token, 'POST', `/users/${target.id}/mfa/disable`, { reason: 'again' })).status).toBe(409);
    const reset = await call(asker.token, 'POST', `/users/${target.id}/factors/reset`, { factors: ['securityKeys', 'securityKeys'], reason: 'x'.repeat(5) });
    expect(reset.status).toBe(400);
    void approver;
  });
});
