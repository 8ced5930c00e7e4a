import { LoginResponse, PasswordChangeResult } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdminJson } from '../../test/admin-cli';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { buildUser, type BuiltUser, newDeviceId, restCall, signIn, testClock, type TestClock, totpNow } from '../../test/factories';
import { verifyPassword } from './passwords';

/**
 * Password change by the user and reset by an administrator, over REST and the real admin CLI,
 * against a real server. Every request comes from its own address (one trusted proxy hop).
 */
describe.each(backends)('password change and reset (%s)', (backend) => {
  let server: TestServer;
  let clock: TestClock;
  let ipCounter = 0;
  const freshIp = () => `192.0.2.${++ipCounter}`;

  beforeAll(async () => {
    clock = testClock();
    server = await startTestServer(backend, { trustProxyHops: 1 }, { now: clock.now });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const call = (method: string, path: string, body?: unknown, token?: string) =>
    restCall(server.url, method, path, { body, token, headers: { 'x-forwarded-for': freshIp() } });
  const session = (user: BuiltUser) => signIn(server.url, server.ctx, user, { headers: { 'x-forwarded-for': freshIp() } });
  const userRow = (id: string) => server.ctx.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const alerts = (userId: string, kind: string) =>
    server.ctx.db.selectFrom('security_alerts').selectAll().where('user_id', '=', userId).where('kind', '=', kind).execute();
  const audit = (userId: string, action: string) =>
    server.ctx.db.selectFrom('audit_log').selectAll().where('target_id', '=', userId).where('action', '=', action).orderBy('seq').execute();
  const meStatus = async (token: string) => (await call('GET', '/me', undefined, token)).status;

  describe('by the user', () => {
    it('needs the current password, ends the other sessions, keeps this one, and alerts', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const [a, b, c] = [await session(user), await session(user), await session(user)];
      const newPassword = 'plum orchard quietly hums';
      const res = await call('POST', '/me/password', { currentPassword: user.password, newPassword }, a.tokens.accessToken);
      expect(res.status).toBe(200);
      expect(PasswordChangeResult.parse(res.body)).toEqual({ sessionsEnded: 2 });
      expect(await meStatus(a.tokens.accessToken)).toBe(200);
      expect(await meStatus(b.tokens.accessToken)).toBe(401);
      expect(await meStatus(c.tokens.accessToken)).toBe(401);

      const row = await userRow(user.id);
      expect(await verifyPassword(row.password_hash, newPassword)).toBe(true);
      expect(row.password_changed_at).toBe(clock.now());
      expect((await call('POST', '/auth/login', { username: user.username, password: user.password, deviceId: newDeviceId() })).status).toBe(401);
      expect((await call('POST', '/auth/login', { username: user.username, password: newPassword, deviceId: newDeviceId() })).status).toBe(200);

      const alert = await alerts(user.id, 'password_changed');
      expect(alert).toHaveLength(1);
      expect(JSON.parse(alert[0]!.details)).toMatchObject({ by: 'user', sessionsEnded: 2 });
      const entries = await audit(user.id, 'user.password_change');
      expect(entries).toHaveLength(1);
      expect(entries[0]!.details).not.toContain(newPassword);
      expect(entries[0]!.details).not.toContain(user.password);
    });

    it('keeps the other sessions when asked', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const [a, b] = [await session(user), await session(user)];
      const res = await call('POST', '/me/password', { currentPassword: user.password, newPassword: 'seven amber lanterns drift', keepOtherSessions: true }, a.tokens.accessToken);
      expect(res.body).toEqual({ sessionsEnded: 0 });
      expect(await meStatus(b.tokens.accessToken)).toBe(200);
      expect(await alerts(user.id, 'password_changed')).toHaveLength(1);
    });

    it('a wrong current password changes nothing and counts as a failed sign-in, up to a lock', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const a = await session(user);
      const before = await userRow(user.id);
      for (let i = 0; i < 5; i++) {
        const wrong = await call('POST', '/me/password', { currentPassword: `wrong guess ${i}`, newPassword: 'copper fields at dawn' }, a.tokens.accessToken);
        expect(wrong.body).toMatchObject({ error: { code: 'invalid_credentials' } });
      }
      const failures = await server.ctx.db.selectFrom('audit_log').select('details').where('target_id', '=', user.id)
        .where('action', '=', 'auth.login').where('outcome', '=', 'failed').execute();
      expect(failures).toHaveLength(5);
      expect(failures.every((f) => (JSON.parse(f.details) as { reason: string }).reason === 'reauth_bad_password')).toBe(true);
      // Five failures lock, here too: even the right password is refused now, with no hashing.
      const locked = await call('POST', '/me/password', { currentPassword: user.password, newPassword: 'copper fields at dawn' }, a.tokens.accessToken);
      expect(locked.body).toMatchObject({ error: { code: 'account_locked' } });
      expect((await userRow(user.id)).password_hash).toBe(before.password_hash);
      expect(await alerts(user.id, 'password_changed')).toHaveLength(0);
      expect(await meStatus(a.tokens.accessToken)).toBe(200);
    });

    it('applies the password rules, refuses the current password as the new one, and needs a session', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const a = await session(user);
      const weak = await call('POST', '/me/password', { currentPassword: user.password, newPassword: 'password1' }, a.tokens.accessToken);
      expect(weak.body).toMatchObject({ error: { code: 'weak_password' } });
      const same = await call('POST', '/me/password', { currentPassword: user.password, newPassword: user.password }, a.tokens.accessToken);
      expect(same.body).toMatchObject({ error: { code: 'weak_password' } });
      const anonymous = await call('POST', '/me/password', { currentPassword: user.password, newPassword: 'copper fields at dawn' });
      expect(anonymous.status).toBe(401);
      expect(await verifyPassword((await userRow(user.id)).password_hash, user.password)).toBe(true);
    });
  });

  describe('reset by an administrator', () => {
    async function reset(user: BuiltUser, extra: string[] = []) {
      const run = await runAdminJson<{ password: string; mustChangePassword: boolean; sessionsEnded: number }>(
        server.env, ['user', 'reset-password', '--user', user.username, ...extra],
      );
      expect(run.code).toBe(0);
      return run.json;
    }
    const login = (user: BuiltUser, password: string, deviceId: string, totp?: string) =>
      call('POST', '/auth/login', { username: user.username, password, deviceId, ...(totp ? { totp } : {}) });
    const sessionCount = async (userId: string) =>
      (await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).length;

    it('prints a one-time password, ends the sessions, alerts, and the password opens no session until changed', async () => {
      const user = await buildUser(server.ctx, { role: 'dispatcher', withTotp: true });
      const before = await session(user);
      clock.advance(30_000);
      const out = await reset(user);
      expect(out).toMatchObject({ mustChangePassword: true, sessionsEnded: 1 });
      expect(out.password).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
      expect(await meStatus(before.tokens.accessToken)).toBe(401);
      expect(await alerts(user.id, 'password_reset')).toHaveLength(1);
      const entries = await audit(user.id, 'user.password_reset');
      expect(entries).toHaveLength(1);
      expect(entries[0]!.actor).toMatch(/^cli:/);
      expect(JSON.stringify(await server.ctx.db.selectFrom('audit_log').selectAll().execute())).not.toContain(out.password);

      // The old password is gone; the one-time password with the second factor gives a change token, no session.
      expect((await login(user, user.password, newDeviceId(), totpNow(server.ctx, user))).status).toBe(401);
      const sessionsBefore = await sessionCount(user.id);
      const deviceId = newDeviceId();
      const held = await login(user, out.password, deviceId, totpNow(server.ctx, user));
      expect(held.status).toBe(200);
      const parsed = LoginResponse.parse(held.body);
      if (parsed.status !== 'password_change_required') throw new Error(`expected password_change_required, got ${parsed.status}`);
      expect(held.body).not.toHaveProperty('tokens');
      expect(await sessionCount(user.id)).toBe(sessionsBefore);
      // The change token is not an access token.
      expect(await meStatus(parsed.changeToken)).toBe(401);
      // The TOTP code of the held sign-in is spent.
      expect((await login(user, out.password, newDeviceId(), totpNow(server.ctx, user))).body).toMatchObject({ error: { code: 'mfa_replayed' } });

      // It may not keep the password it was given.
      const keep = await call('POST', '/auth/password/complete', { changeToken: parsed.changeToken, newPassword: out.password, deviceId });
      expect(keep.body).toMatchObject({ error: { code: 'weak_password' } });

      const newPassword = 'harbor lights blink twice';
      const done = await call('POST', '/auth/password/complete', { changeToken: parsed.changeToken, newPassword, deviceId, deviceName: 'Dispatch 2' });
      expect(done.status).toBe(200);
      const ok = LoginResponse.parse(done.body);
      if (ok.status !== 'ok') throw new Error('expected ok');
      expect(await meStatus(ok.tokens.accessToken)).toBe(200);
      const row = await userRow(user.id);
      expect(row.must_change_password).toBe(0);
      expect(await verifyPassword(row.password_hash, newPassword)).toBe(true);
      expect(await alerts(user.id, 'password_changed')).toHaveLength(1);

      // From now on the new password signs in directly.
      clock.advance(30_000);
      const next = LoginResponse.parse((await login(user, newPassword, newDeviceId(), totpNow(server.ctx, user))).body);
      expect(next.status).toBe('ok');
    });

    it('the change token works once, and only on the device that signed in', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const out = await reset(user);
      const deviceId = newDeviceId();
      const held = LoginResponse.parse((await login(user, out.password, deviceId)).body);
      if (held.status !== 'password_change_required') throw new Error('expected password_change_required');

      const elsewhere = await call('POST', '/auth/password/complete', { changeToken: held.changeToken, newPassword: 'violet rivers run north', deviceId: newDeviceId() });
      expect(elsewhere.status).toBe(401);
      expect(elsewhere.body).toMatchObject({ error: { code: 'unauthenticated' } });
      expect((await userRow(user.id)).must_change_password).toBe(1);

      // Concurrent completions with one token: one session, one new password.
      const sessionsBefore = await sessionCount(user.id);
      const attempts = await Promise.all(['violet rivers run north', 'granite bells at noon', 'saffron kites over moor'].map((newPassword) =>
        call('POST', '/auth/password/complete', { changeToken: held.changeToken, newPassword, deviceId })));
      expect(attempts.filter((r) => r.status === 200)).toHaveLength(1);
      expect(attempts.filter((r) => r.status === 401)).toHaveLength(2);
      expect(await sessionCount(user.id)).toBe(sessionsBefore + 1);

      const again = await call('POST', '/auth/password/complete', { changeToken: held.changeToken, newPassword: 'another fresh phrase here', deviceId });
      expect(again.body).toMatchObject({ error: { code: 'unauthenticated' } });
      const refusals = (await audit(user.id, 'auth.password_change_complete')).map((e) => (JSON.parse(e.details) as { reason: string }).reason);
      expect(refusals).toEqual(['device_mismatch', 'spent', 'spent', 'spent']);
      expect(await alerts(user.id, 'password_changed')).toHaveLength(1);
    });

    it('a change token dies with the password it was issued for, and after five minutes', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const first = await reset(user);
      const deviceId = newDeviceId();
      const held = LoginResponse.parse((await login(user, first.password, deviceId)).body);
      if (held.status !== 'password_change_required') throw new Error('expected password_change_required');
      // A second reset replaces the password: the first token is dead.
      const second = await reset(user);
      const stale = await call('POST', '/auth/password/complete', { changeToken: held.changeToken, newPassword: 'violet rivers run north', deviceId });
      expect(stale.body).toMatchObject({ error: { code: 'unauthenticated' } });

      const fresh = LoginResponse.parse((await login(user, second.password, deviceId)).body);
      if (fresh.status !== 'password_change_required') throw new Error('expected password_change_required');
      clock.advance(5 * 60_000 + 1_000);
      const late = await call('POST', '/auth/password/complete', { changeToken: fresh.changeToken, newPassword: 'violet rivers run north', deviceId });
      expect(late.body).toMatchObject({ error: { code: 'unauthenticated' } });
      expect((await userRow(user.id)).must_change_password).toBe(1);
    });

    it('--keep-sessions leaves the sessions running; an unknown user fails with nothing written', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const a = await session(user);
      const out = await reset(user, ['--keep-sessions']);
      expect(out.sessionsEnded).toBe(0);
      expect(await meStatus(a.tokens.accessToken)).toBe(200);
      expect((await userRow(user.id)).must_change_password).toBe(1);

      const auditBefore = (await server.ctx.db.selectFrom('audit_log').select('seq').execute()).length;
      const unknown = await runAdminJson(server.env, ['user', 'reset-password', '--user', 'nobody-here']);
      expect(unknown.code).toBe(1);
      expect((await server.ctx.db.selectFrom('audit_log').select('seq').execute()).length).toBe(auditBefore);
    });
  });
});
