import { LoginResponse, Me } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import {
  buildLocation, buildUser, newDeviceId, restCall, signIn, testClock, type TestClock,
} from '../../test/factories';

/**
 * Sign-in over REST against a real server. The server trusts one proxy hop so each test can
 * come from its own address (X-Forwarded-For) and the per-IP limit does not leak between them.
 */
describe.each(backends)('sign-in (%s)', (backend) => {
  let server: TestServer;
  let clock: TestClock;
  let ipCounter = 0;
  const freshIp = () => `198.51.100.${++ipCounter}`;

  beforeAll(async () => {
    clock = testClock();
    server = await startTestServer(backend, { trustProxyHops: 1 }, { now: clock.now });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const login = (body: Record<string, unknown>, ip: string) =>
    restCall(server.url, 'POST', '/auth/login', { body: { deviceId: newDeviceId(), ...body }, headers: { 'x-forwarded-for': ip } });

  it('signs in a user whose role needs no MFA (finance) and returns tokens and their locations', async () => {
    const depot = await buildLocation(server.ctx, { name: 'North Depot' });
    const user = await buildUser(server.ctx, { role: 'finance', locationIds: [depot.id] });
    const res = await login({ username: user.username, password: user.password, deviceName: 'Front desk PC' }, freshIp());
    expect(res.status).toBe(200);
    const body = LoginResponse.parse(res.body);
    if (body.status !== 'ok') throw new Error('expected ok');
    expect(body.me.user).toEqual({ id: user.id, username: user.username, displayName: user.displayName, mfaEnrolled: false });
    expect(body.me.sessionId).toBe(body.tokens.sessionId);
    expect(body.me.access).toEqual([{
      location: { id: depot.id, name: 'North Depot', timezone: 'Europe/Berlin' },
      permissions: ['export.billing', 'export.operational', 'location.read', 'stop.readBilling', 'stop.readCustomer'],
      roles: ['finance'],
      expiresAt: null,
    }]);
    expect(body.tokens.sessionExpiresAt).toBe(clock.now() + server.ctx.config.sessionAbsoluteTimeoutS * 1000);

    const me = await restCall(server.url, 'GET', '/me', { token: body.tokens.accessToken });
    expect(me.status).toBe(200);
    expect(Me.parse(me.body)).toEqual(body.me);

    const audit = await server.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'auth.login').where('actor_user_id', '=', user.id).execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'ok', target_id: body.tokens.sessionId, ip: expect.stringMatching(/198\.51\.100\./) as unknown });
    expect(audit[0]!.device_id).toMatch(/^dev-/);
  });

  it('folds the case of the username', async () => {
    const user = await buildUser(server.ctx, { role: 'reporting' });
    const res = await login({ username: user.username.toUpperCase(), password: user.password }, freshIp());
    expect(res.status).toBe(200);
  });

  it('answers a wrong password and an unknown username identically', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const wrong = await login({ username: user.username, password: 'not the password at all' }, freshIp());
    const unknown = await login({ username: 'nobody-by-this-name', password: 'not the password at all' }, freshIp());
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(wrong.status);
    expect(unknown.body).toEqual(wrong.body);
    expect(wrong.body).toEqual({ error: { code: 'invalid_credentials', message: 'The username or password is not correct.' } });
  });

  it('never writes the attempted password into the audit log', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const secretAttempt = `hunter2-${Math.random().toString(36).slice(2)}`;
    await login({ username: user.username, password: secretAttempt }, freshIp());
    await login({ username: 'ghost-user', password: secretAttempt }, freshIp());
    const rows = await server.ctx.db.selectFrom('audit_log').selectAll().execute();
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(secretAttempt);
    expect(rows.some((r) => r.action === 'auth.login' && r.outcome === 'failed' && r.actor === 'ghost-user')).toBe(true);
  });

  it('locks out progressively after 5 failures, identically for unknown usernames, with Retry-After', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const ghost = 'ghost-lockout';
    const attempt = (username: string, password = 'wrong password here') => login({ username, password }, freshIp());

    for (let i = 0; i < 5; i++) {
      const [a, b] = [await attempt(user.username), await attempt(ghost)];
      expect(a.status).toBe(401);
      expect(b.body).toEqual(a.body);
    }
    const lockedReal = await attempt(user.username, user.password); // even the right password
    const lockedGhost = await attempt(ghost);
    expect(lockedReal.status).toBe(429);
    expect(lockedReal.body).toMatchObject({ error: { code: 'account_locked', retryAfterS: 60 } });
    expect(lockedReal.headers.get('retry-after')).toBe('60');
    expect(lockedGhost.status).toBe(429);
    expect(lockedGhost.body).toEqual(lockedReal.body);
    expect(lockedGhost.headers.get('retry-after')).toBe('60');

    clock.advance(20_000);
    expect((await attempt(user.username)).headers.get('retry-after')).toBe('40');

    // After the lock, five more failures lock for twice as long.
    clock.advance(41_000);
    for (let i = 0; i < 5; i++) {
      expect((await attempt(user.username)).status).toBe(401);
      expect((await attempt(ghost)).status).toBe(401);
    }
    const second = await attempt(user.username);
    expect(second.body).toMatchObject({ error: { code: 'account_locked', retryAfterS: 120 } });
    expect((await attempt(ghost)).body).toEqual(second.body);

    // Once the lock ends, the right password works and clears the count.
    clock.advance(121_000);
    expect((await attempt(user.username, user.password)).status).toBe(200);
    const row = await server.ctx.db.selectFrom('users').select(['failed_logins', 'locked_until']).where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ failed_logins: 0, locked_until: null });
  });

  it('blocks unknown devices at 100 consecutive failures (NIST SP 800-63B 5.2.2), without disabling the account or ending its sessions', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const { sessionId } = (await signIn(server.url, server.ctx, user, { headers: { 'x-forwarded-for': freshIp() } })).tokens;
    // 99 failures already happened (and no lock is running).
    await server.ctx.db.updateTable('users').set({ failed_logins: 99, locked_until: null }).where('id', '=', user.id).execute();
    expect((await login({ username: user.username, password: 'wrong password again' }, freshIp())).status).toBe(401);
    const row = await server.ctx.db.selectFrom('users').select(['failed_logins', 'disabled_at']).where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ failed_logins: 100, disabled_at: null });
    // The right password from an unknown device is refused as locked, the same as for a name that does not exist.
    const after = await login({ username: user.username, password: user.password }, freshIp());
    expect(after.body).toMatchObject({ error: { code: 'account_locked', retryAfterS: 3600 } });
    const session = await server.ctx.db.selectFrom('sessions').select(['revoked_at', 'revoke_reason']).where('id', '=', sessionId).executeTakeFirstOrThrow();
    expect(session).toEqual({ revoked_at: null, revoke_reason: null });
    expect(await server.ctx.db.selectFrom('audit_log').select('action').where('target_id', '=', user.id).where('action', '=', 'user.disable').execute()).toEqual([]);
  });

  it('rate-limits sign-in attempts per client address, with Retry-After', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await login({ username: `spray-${i}`, password: 'Winter2026!' }, ip)).status);
    expect(new Set(statuses)).toEqual(new Set([401]));
    const limited = await login({ username: 'spray-x', password: 'Winter2026!' }, ip);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ error: { code: 'rate_limited' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another address is unaffected.
    expect((await login({ username: 'spray-y', password: 'Winter2026!' }, freshIp())).status).toBe(401);
  });

  it('rejects malformed bodies with bad_request before doing any work', async () => {
    const res = await login({ username: 'x', password: '' }, freshIp());
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'bad_request' } });
  });
});
