import crypto from 'node:crypto';
import { LoginResponse, type Permission, type RoleName } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { buildLocation, buildUser, type BuiltUser, newDeviceId, restCall, testClock, testOperator, totpNow } from '../../test/factories';
import { createGrant } from '../access/grants';
import { applyGroupCreate } from '../access/groups';
import { groupFallsUnderRoles } from '../access/role-policy';
import { securityKeyRequired } from './webauthn-policy';

/**
 * Device approval (DEVICE_APPROVAL_ROLES) and the security-key policy (WEBAUTHN_REQUIRED_ROLES)
 * name role templates; a group holding what only those roles hold falls under them exactly like
 * the role (access/role-policy.ts). Tried the way someone would escape them: the manager's
 * power handed out as a group instead of the role.
 */
describe('which groups fall under a policy naming roles', () => {
  const listed = new Set(['admin', 'manager']);
  const falls = (permissions: Permission[]) => groupFallsUnderRoles(new Set(permissions), listed);

  it('a group counts as a listed role unless one unlisted role template allows everything it allows', () => {
    for (const p of ['grant.manage', 'group.manage', 'approval.decide', 'audit.read', 'session.revokeAny', 'security.read', 'export.customer'] as const) {
      expect(falls(['location.read', p])).toBe(true);
    }
    // A dispatcher's or a finance clerk's permissions, as a group: not held like a manager.
    expect(falls(['location.read', 'stop.readCustomer', 'route.edit'])).toBe(false);
    expect(falls(['location.read', 'export.operational'])).toBe(false);
    // No single unlisted role gives both: the group gives more than any of them.
    expect(falls(['route.edit', 'export.operational'])).toBe(true);
    // The driver role counts for its own routes only: a group giving its permissions everywhere is judged against the other roles.
    expect(groupFallsUnderRoles(new Set<Permission>(['location.read', 'stop.setStatus']), new Set(['admin', 'manager', 'dispatcher', 'contractor']))).toBe(true);
    // Denials only, or self-only permissions: nothing to protect.
    expect(falls([])).toBe(false);
    expect(falls(['position.report'])).toBe(false);
    // A policy listing nothing holds nobody; one listing every role holds every group with a power.
    expect(groupFallsUnderRoles(new Set<Permission>(['grant.manage']), new Set())).toBe(false);
    expect(groupFallsUnderRoles(new Set<Permission>(['location.read']), new Set(['admin', 'manager', 'dispatcher', 'driver', 'finance', 'reporting', 'contractor']))).toBe(true);
  });
});

describe.each(backends)('a group grant is held and keyed like the role it matches (%s)', (backend) => {
  const clock = testClock();
  const operator = { kind: 'operator' as const, actor: testOperator };
  let server: TestServer;
  let A: string;
  let n = 0;
  let ip = 0;

  beforeAll(async () => {
    server = await startTestServer(backend, {
      trustProxyHops: 1, deviceApprovalRoles: new Set(['admin', 'manager']), webauthnRequiredRoles: new Set(['admin', 'manager']),
    }, { now: clock.now });
    A = (await buildLocation(server.ctx)).id;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const ctx = () => server.ctx;
  /** A user with TOTP holding either a role or a group (made by the operator) at A. */
  async function holder(what: RoleName | Permission[]): Promise<BuiltUser> {
    if (!Array.isArray(what)) return buildUser(ctx(), { role: what, locationIds: [A], withTotp: true });
    const user = await buildUser(ctx(), { withTotp: true });
    const group = await ctx().db.transaction().execute((trx) => applyGroupCreate(trx, operator, {
      name: `policy-${++n}`, description: '', permissions: what, denials: [], locationIds: [A], mfaRequired: true, mustExpire: false,
    }, ctx().now()));
    await createGrant(ctx(), operator, { userId: user.id, groupId: group.id, locationIds: [A] });
    return user;
  }
  const newDevice = () => ({ deviceId: newDeviceId(), deviceSecret: crypto.randomBytes(32).toString('base64url'), deviceName: 'Desk' });
  async function signIn(user: BuiltUser, device = newDevice()) {
    clock.advance(30_000); // a fresh TOTP step for every sign-in
    const res = await restCall(server.url, 'POST', '/auth/login', {
      headers: { 'x-forwarded-for': `198.51.100.${(++ip % 250) + 1}` },
      body: { username: user.username, password: user.password, ...device, totp: totpNow(ctx(), user) },
    });
    return res.status === 200 ? LoginResponse.parse(res.body).status : (res.body as { error: { code: string } }).error.code;
  }

  it('a new device of a user holding a group with grant.manage waits for approval, like a manager\u2019s', async () => {
    const cases: [string, RoleName | Permission[], string][] = [
      ['manager role', 'manager', 'approval_required'],
      ['group with grant.manage', ['location.read', 'grant.manage'], 'approval_required'],
      ['group with approval.decide and audit.read', ['location.read', 'approval.decide', 'audit.read'], 'approval_required'],
      ['dispatcher role', 'dispatcher', 'ok'],
      ['group a dispatcher holds anyway', ['location.read', 'stop.readCustomer', 'route.edit'], 'ok'],
    ];
    for (const [label, what, expected] of cases) {
      const user = await holder(what);
      expect([label, await signIn(user)]).toEqual([label, 'ok']); // the first device of a new account is trusted
      expect([label, await signIn(user)]).toEqual([label, expected]);
    }
    const requested = await ctx().db.selectFrom('audit_log').select('action').where('action', '=', 'device.approval_requested').execute();
    expect(requested).toHaveLength(3);
  });

  it('a user holding a group with grant.manage who has a key must use it, like a manager (and may not remove the last one)', async () => {
    for (const [what, expected] of [
      ['manager', 'webauthn_required'], [['location.read', 'grant.manage'], 'webauthn_required'], [['location.read', 'stop.readCustomer', 'route.edit'], 'ok'],
    ] as [RoleName | Permission[], string][]) {
      const user = await holder(what);
      const device = newDevice();
      expect(await signIn(user, device)).toBe('ok');
      // The user's key, stored as registration stores it (the assertion itself is tested in Chromium).
      const keyId = crypto.randomBytes(16).toString('base64url');
      await ctx().db.insertInto('webauthn_credentials').values({
        id: keyId, user_id: user.id, public_key: 'unused', sign_count: 0, transports: '[]', name: 'Desk key', aaguid: null, backed_up: 0, created_at: clock.now(), last_used_at: null,
      }).execute();
      expect([what, await signIn(user, device)]).toEqual([what, expected]);
      const refused = await ctx().db.selectFrom('audit_log').select('details').where('action', '=', 'auth.login').where('outcome', '=', 'denied').where('target_id', '=', user.id).execute();
      expect(refused.map((r) => (JSON.parse(r.details) as { reason: string }).reason)).toEqual(expected === 'ok' ? [] : ['webauthn_required']);
      // The same answer decides whether the last key may be removed (security-keys.ts).
      expect(await securityKeyRequired(ctx(), user.id, clock.now())).toBe(expected !== 'ok');
    }
  });
});
