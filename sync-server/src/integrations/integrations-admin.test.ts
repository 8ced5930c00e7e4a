import type { ApprovalRequest, IntegrationView, Permission, RoleName } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLocation, buildUser, restCall, testClock, testOperator } from '../../test/factories';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { openSession } from '../../test/world';
import { createGrant } from '../access/grants';
import { applyGroupCreate } from '../access/groups';

/**
 * The integrations admin API, tried as an insider would: an admin of one depot reaching for
 * another, a dispatcher reaching for integrations at all, a manager of integrations handing out
 * more than they hold, turning on customer contact fields without a second admin.
 */
describe.each(backends)('integrations admin API (%s)', (backend) => {
  const clock = testClock();
  let server: TestServer;
  let A: string;
  let B: string;
  let n = 0;

  beforeAll(async () => {
    server = await startTestServer(backend, {}, { now: clock.now });
    A = (await buildLocation(server.ctx)).id;
    B = (await buildLocation(server.ctx)).id;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const ctx = () => server.ctx;
  async function person(role: RoleName | null, locationIds: string[] = [A]) {
    const u = await buildUser(ctx(), role ? { role, locationIds } : {});
    return { ...u, token: (await openSession(ctx(), u.id)).token };
  }
  const call = (token: string, method: string, path: string, body?: unknown) => restCall(server.url, method, path, { token, body });
  const name = () => `partner-${++n}-${Math.random().toString(36).slice(2, 6)}`;
  const body = (locationIds: string[], extra: Record<string, unknown> = {}) => ({
    name: name(), kind: 'courier', contact: 'ops@partner.example', scopes: locationIds.map((locationId) => ({ locationId, permissions: ['status.read', 'orders.read'] })), ...extra,
  });
  const stored = (id: string) => ctx().db.selectFrom('integrations').selectAll().where('id', '=', id).executeTakeFirst();
  const countNamed = async (nm: string) => (await ctx().db.selectFrom('integrations').select('id').where('name', '=', nm).execute()).length;
  const denials = async (action: string) => ctx().db.selectFrom('audit_log').select(['actor', 'location_id', 'details']).where('action', '=', action).where('outcome', '=', 'denied').execute();
  async function create(token: string, locationIds: string[], extra: Record<string, unknown> = {}): Promise<IntegrationView> {
    const res = await call(token, 'POST', '/integrations', body(locationIds, extra));
    expect(res.status).toBe(201);
    return (res.body as { integration: IntegrationView }).integration;
  }

  it('an admin registers an integration at their depot with the default profile, audited; no allowlist is warned about', async () => {
    const admin = await person('admin');
    const integration = await create(admin.token, [A]);
    expect(integration).toMatchObject({
      kind: 'courier', scopes: [{ locationId: A, permissions: ['orders.read', 'status.read'] }],
      dataProfile: ['orderRef', 'status', 'timeWindow', 'address'], ipAllowlist: [], suspendedAt: null, version: 1, createdBy: admin.username,
    });
    expect(integration.warnings.join(' ')).toMatch(/any address/);
    const audit = await ctx().db.selectFrom('audit_log').select(['actor', 'location_id', 'details', 'outcome']).where('action', '=', 'integration.create')
      .where('target_id', '=', integration.id).execute();
    expect(audit).toEqual([expect.objectContaining({ actor: admin.username, location_id: A, outcome: 'ok' })]);
    // The partner's contact stays out of the audit log.
    expect(JSON.stringify(audit)).not.toContain('ops@partner.example');
  });

  it('an admin of depot A cannot register an integration on depot B, nor add B to one of A: 403, audited, nothing stored', async () => {
    const adminA = await person('admin', [A]);
    const attempt = body([B]);
    expect(await call(adminA.token, 'POST', '/integrations', attempt)).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(await countNamed(attempt.name)).toBe(0);
    const both = body([A, B]);
    expect((await call(adminA.token, 'POST', '/integrations', both)).status).toBe(403);
    expect(await countNamed(both.name)).toBe(0);
    expect((await denials('integration.create')).filter((d) => d.actor === adminA.username).map((d) => d.location_id)).toEqual([B, B]);

    const mine = await create(adminA.token, [A]);
    const widen = await call(adminA.token, 'PATCH', `/integrations/${mine.id}`, { scopes: [{ locationId: A, permissions: ['status.read'] }, { locationId: B, permissions: ['status.read'] }] });
    expect(widen.status).toBe(403);
    expect((await stored(mine.id))?.version).toBe(1);
    expect((await denials('integration.update')).some((d) => d.actor === adminA.username && d.location_id === B)).toBe(true);
  });

  it('an integration of depot B does not exist for an admin of A; one of A and B is changed only by someone who manages both', async () => {
    const adminA = await person('admin', [A]);
    const adminB = await person('admin', [B]);
    const adminAB = await person('admin', [A, B]);
    const onlyB = await create(adminB.token, [B]);
    for (const [method, path, b] of [
      ['GET', `/integrations/${onlyB.id}`, undefined], ['PATCH', `/integrations/${onlyB.id}`, { contact: 'x@y.example' }],
      ['POST', `/integrations/${onlyB.id}/suspend`, { reason: 'because I can' }], ['POST', `/integrations/${onlyB.id}/resume`, undefined],
    ] as const) {
      expect(await call(adminA.token, method, path, b)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    }
    expect(((await call(adminA.token, 'GET', '/integrations')).body as { integrations: IntegrationView[] }).integrations.map((i) => i.id)).not.toContain(onlyB.id);

    const shared = await create(adminAB.token, [A, B]);
    // Seen by the admin of A (it works at A), but stopping it would stop B's deliveries too.
    expect((await call(adminA.token, 'GET', `/integrations/${shared.id}`)).status).toBe(200);
    expect((await call(adminA.token, 'POST', `/integrations/${shared.id}/suspend`, { reason: 'suspicious traffic' })).status).toBe(403);
    expect((await stored(shared.id))?.suspended_at).toBeNull();
    const suspended = await call(adminAB.token, 'POST', `/integrations/${shared.id}/suspend`, { reason: 'suspicious traffic' });
    expect(suspended).toMatchObject({ status: 200, body: { integration: { suspendedReason: 'suspicious traffic' } } });
    expect((await call(adminAB.token, 'POST', `/integrations/${shared.id}/resume`)).body).toMatchObject({ integration: { suspendedAt: null } });
    const trail = await ctx().db.selectFrom('audit_log').select(['action', 'location_id']).where('target_id', '=', shared.id)
      .where('outcome', '=', 'ok').where('action', 'in', ['integration.suspend', 'integration.resume']).execute();
    expect(trail.map((t) => `${t.action}@${t.location_id}`).sort()).toEqual([`integration.resume@${A}`, `integration.resume@${B}`, `integration.suspend@${A}`, `integration.suspend@${B}`].sort());
  });

  it('a dispatcher cannot manage integrations: create refused and audited, nothing listed or shown', async () => {
    const admin = await person('admin');
    const existing = await create(admin.token, [A]);
    const dispatcher = await person('dispatcher');
    const attempt = body([A]);
    expect((await call(dispatcher.token, 'POST', '/integrations', attempt)).status).toBe(403);
    expect(await countNamed(attempt.name)).toBe(0);
    expect((await denials('integration.create')).some((d) => d.actor === dispatcher.username && (d.details ?? '').includes('integration.manage'))).toBe(true);
    expect((await call(dispatcher.token, 'GET', '/integrations')).body).toEqual({ integrations: [] });
    expect((await call(dispatcher.token, 'GET', `/integrations/${existing.id}`)).status).toBe(404);
    expect((await call(dispatcher.token, 'PATCH', `/integrations/${existing.id}`, { dataProfile: ['orderRef'] })).status).toBe(404);
  });

  it('no escalation: integration.manage without stop.edit cannot give orders.write, nor a profile field one cannot see', async () => {
    const operator = { kind: 'operator' as const, actor: testOperator };
    const permissions: Permission[] = ['location.read', 'stop.readCustomer', 'integration.manage'];
    const group = await ctx().db.transaction().execute((trx) => applyGroupCreate(trx, operator, {
      name: `integrators-${++n}`, description: '', permissions, denials: [], locationIds: [A], mfaRequired: true, mustExpire: false,
    }, ctx().now()));
    const integrator = await person(null);
    await createGrant(ctx(), operator, { userId: integrator.id, groupId: group.id, locationIds: [A], expiresAt: null });

    const writer = body([A], { scopes: [{ locationId: A, permissions: ['orders.write'] }] });
    expect((await call(integrator.token, 'POST', '/integrations', writer)).status).toBe(403);
    expect(await countNamed(writer.name)).toBe(0);
    const reader = await create(integrator.token, [A]);
    const eta = await call(integrator.token, 'PATCH', `/integrations/${reader.id}`, { dataProfile: ['orderRef', 'status', 'eta'] });
    expect(eta).toMatchObject({ status: 200, body: { integration: { dataProfile: ['orderRef', 'status', 'eta'] } } });
    // Asking a second admin to let it receive phone numbers the asker cannot see is refused outright.
    const phones = await call(integrator.token, 'PATCH', `/integrations/${reader.id}`, { dataProfile: ['orderRef', 'phone'], reason: 'partner calls customers' });
    expect(phones).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(await ctx().db.selectFrom('approval_requests').select('id').where('kind', '=', 'integration.profile').where('requested_by', '=', integrator.id).execute()).toEqual([]);
  });

  it('turning on customer contact fields needs a second admin; the requester cannot approve; turning fields off is immediate', async () => {
    const asker = await person('admin');
    const integration = await create(asker.token, [A]);
    const wanted = ['orderRef', 'status', 'timeWindow', 'address', 'customerName', 'phone'];
    // Without a reason there is no request, and never a change.
    expect((await call(asker.token, 'PATCH', `/integrations/${integration.id}`, { dataProfile: wanted })).status).toBe(400);
    // Mixed with other changes: refused whole, so nothing slips through beside the approval.
    const mixed = await call(asker.token, 'PATCH', `/integrations/${integration.id}`, { dataProfile: wanted, contact: 'new@partner.example', reason: 'calls ahead' });
    expect(mixed).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });

    const asked = await call(asker.token, 'PATCH', `/integrations/${integration.id}`, { dataProfile: wanted, reason: 'the partner calls ahead' });
    expect(asked).toMatchObject({ status: 202, body: { approvalRequired: true, approval: { kind: 'integration.profile', status: 'pending', mine: true, mayDecide: false } } });
    const approval = (asked.body as { approval: ApprovalRequest }).approval;
    expect(approval.handsOut).toEqual(['integration.manage', 'stop.readCustomer', 'stop.readPhone']);
    expect(approval.summary).toContain('customerName, phone');
    expect(JSON.parse((await stored(integration.id))!.data_profile)).toEqual(['orderRef', 'status', 'timeWindow', 'address']);

    expect((await call(asker.token, 'POST', `/approvals/${approval.id}/approve`, {})).status).toBe(403);
    const dispatcher = await person('dispatcher');
    expect((await call(dispatcher.token, 'POST', `/approvals/${approval.id}/approve`, {})).status).toBe(403);
    const second = await person('admin');
    expect((await call(second.token, 'POST', `/approvals/${approval.id}/approve`, { note: 'agreed with the partner' })).status).toBe(200);
    const after = (await call(asker.token, 'GET', `/integrations/${integration.id}`)).body as { integration: IntegrationView };
    expect(after.integration).toMatchObject({ dataProfile: wanted, version: 2 });
    const applied = await ctx().db.selectFrom('audit_log').select(['actor', 'details']).where('action', '=', 'integration.update').where('target_id', '=', integration.id).execute();
    expect(applied).toEqual([expect.objectContaining({ actor: asker.username })]);
    expect(applied[0]!.details).toContain(approval.id);

    // Narrowing: at once, no reason asked.
    const narrowed = await call(asker.token, 'PATCH', `/integrations/${integration.id}`, { dataProfile: ['orderRef', 'status'], expectedVersion: 2 });
    expect(narrowed).toMatchObject({ status: 200, body: { integration: { dataProfile: ['orderRef', 'status'], version: 3 } } });
    // A stale version is refused.
    expect((await call(asker.token, 'PATCH', `/integrations/${integration.id}`, { dataProfile: ['orderRef'], expectedVersion: 2 })).status).toBe(409);
  });

  it('an approval of contact fields is stale once the integration changed after the request: nothing is applied', async () => {
    const asker = await person('admin');
    const integration = await create(asker.token, [A]);
    const asked = await call(asker.token, 'PATCH', `/integrations/${integration.id}`, { dataProfile: ['orderRef', 'status', 'email'], reason: 'sends delivery mails' });
    expect(asked.status).toBe(202);
    const approval = (asked.body as { approval: ApprovalRequest }).approval;
    // Slipped in between: the scopes change, so the version the request named is gone.
    expect((await call(asker.token, 'PATCH', `/integrations/${integration.id}`, { scopes: [{ locationId: A, permissions: ['status.read'] }] })).status).toBe(200);
    const second = await person('admin');
    expect(await call(second.token, 'POST', `/approvals/${approval.id}/approve`, {})).toMatchObject({ status: 409, body: { error: { code: 'approval_stale' } } });
    expect(JSON.parse((await stored(integration.id))!.data_profile)).toEqual(['orderRef', 'status', 'timeWindow', 'address']);
  });

  it('bad input is a clear 400 and stores nothing: contact fields at creation, a bad range, a user permission as a scope', async () => {
    const admin = await person('admin');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ dataProfile: ['orderRef', 'phone'] }, /phone.*approval/],
      [{ ipAllowlist: ['10.0.0.7/8'] }, /did you mean 10\.0\.0\.0\/8/],
      [{ ipAllowlist: ['not-an-address'] }, /not an IPv4 or IPv6/],
      [{ scopes: [{ locationId: A, permissions: ['stop.readPhone'] }] }, /not an integration scope/],
    ];
    for (const [extra, message] of cases) {
      const attempt = body([A], extra);
      const res = await call(admin.token, 'POST', '/integrations', attempt);
      expect(res).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
      expect(JSON.stringify(res.body)).toMatch(message);
      expect(await countNamed(attempt.name)).toBe(0);
    }
    const ok = await create(admin.token, [A], { ipAllowlist: ['192.0.2.0/24', '::ffff:198.51.100.0/120', '2001:DB8::/32'] });
    expect(ok.ipAllowlist).toEqual(['192.0.2.0/24', '198.51.100.0/24', '2001:db8::/32']);
    expect(ok.warnings).toEqual([]);
  });

  it('machine permissions are never a person\u2019s: a group holding one is refused with a clear error', async () => {
    const admin = await person('admin');
    const res = await call(admin.token, 'POST', '/groups', { name: `machines-${++n}`, permissions: ['location.read', 'orders.write'], locationIds: [A] });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
    expect(JSON.stringify(res.body)).toMatch(/held only by integrations/);
  });
});
