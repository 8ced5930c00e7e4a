import crypto from 'node:crypto';
import { LoginResponse, MfaEnrollment, type SessionEnded } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { buildLocation, buildUser, newDeviceId, restCall, testClock, type TestClock, testOperator } from '../../test/factories';
import { connectSocket, emitAck } from '../../test/world';
import { loadConfig } from '../config';
import { disableUser } from '../users/users';
import { resetPasswordByAdmin } from './password-change';
import { base32Decode, totp } from './totp';

/**
 * The four account-takeover paths found by attacking the running server, each reproduced as the
 * attacker tried it and now refused; and the sign-in alerts, each raised by its own situation and
 * never by an ordinary sign-in. The server trusts one proxy hop so each attempt can come from its
 * own address (X-Forwarded-For).
 */
describe.each(backends)('account takeover paths (%s)', (backend) => {
  let server: TestServer;
  let clock: TestClock;
  let ipCounter = 0;
  const freshIp = () => `203.0.${Math.floor(++ipCounter / 200)}.${ipCounter % 200}`;

  beforeAll(async () => {
    clock = testClock();
    server = await startTestServer(backend, { trustProxyHops: 1 }, { now: clock.now });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const post = (path: string, body: unknown, opts: { token?: string; ip?: string } = {}) =>
    restCall(server.url, 'POST', path, { body, token: opts.token, headers: { 'x-forwarded-for': opts.ip ?? freshIp() } });
  const alertsOf = async (userId: string) =>
    (await server.ctx.db.selectFrom('security_alerts').select('kind').where('user_id', '=', userId).orderBy('at').execute()).map((a) => a.kind);
  const deviceSecret = () => crypto.randomBytes(32).toString('base64url');

  /** A device that signs in as a real console does: with its id and its secret. */
  async function signInFrom(user: { username: string; password: string }, device: { deviceId: string; deviceSecret?: string }, ip = freshIp()) {
    const res = await post('/auth/login', { username: user.username, password: user.password, ...device, deviceName: 'Dispatch desk' }, { ip });
    if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
    const body = LoginResponse.parse(res.body);
    if (body.status !== 'ok') throw new Error(`expected ok, got ${body.status}`);
    return body;
  }

  describe('hole 1: a stolen access token cannot become an account', () => {
    it('adding an authenticator needs the password; a token alone is refused and nothing changes', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const victim = await signInFrom(user, { deviceId: newDeviceId(), deviceSecret: deviceSecret() });
      const stolen = victim.tokens.accessToken;

      // What the attacker did before: enroll with the bearer token alone.
      expect((await post('/auth/mfa/enroll', {}, { token: stolen })).body).toMatchObject({ error: { code: 'bad_request' } });
      const guessed = await post('/auth/mfa/enroll', { password: 'not the password' }, { token: stolen });
      expect(guessed.body).toMatchObject({ error: { code: 'invalid_credentials' } });
      const row = await server.ctx.db.selectFrom('users').select(['totp_enrolled_at', 'totp_secret_enc']).where('id', '=', user.id).executeTakeFirstOrThrow();
      expect(row).toEqual({ totp_enrolled_at: null, totp_secret_enc: null });
      // The wrong password counted like a failed sign-in, and was audited.
      const failures = await server.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'auth.login').where('outcome', '=', 'failed').where('target_id', '=', user.id).execute();
      expect(failures.map((f) => (JSON.parse(f.details) as { reason: string }).reason)).toEqual(['reauth_bad_password']);
    });

    it('an enrollment started in a session never opens a session anywhere, and the user is told', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const victim = await signInFrom(user, { deviceId: newDeviceId(), deviceSecret: deviceSecret() });
      const res = await post('/auth/mfa/enroll', { password: user.password }, { token: victim.tokens.accessToken });
      const enrollment = MfaEnrollment.parse(res.body);
      const code = totp(base32Decode(enrollment.secretBase32), clock.now());
      const sessionsBefore = await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute();

      // The public confirmation that used to mint a 12-hour session on any device refuses it.
      const minted = await post('/auth/mfa/confirm', { enrollmentToken: enrollment.enrollmentToken, code, deviceId: newDeviceId() });
      expect(minted.body).toMatchObject({ error: { code: 'unauthenticated' } });
      // Another session of the same user cannot confirm it either.
      const other = await signInFrom(user, { deviceId: newDeviceId() });
      const wrongSession = await post('/auth/mfa/enroll/confirm', { enrollmentToken: enrollment.enrollmentToken, code }, { token: other.tokens.accessToken });
      expect(wrongSession.body).toMatchObject({ error: { code: 'unauthenticated' } });

      const ok = await post('/auth/mfa/enroll/confirm', { enrollmentToken: enrollment.enrollmentToken, code }, { token: victim.tokens.accessToken });
      expect(ok.status).toBe(200);
      const sessionsAfter = await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute();
      expect(sessionsAfter.length).toBe(sessionsBefore.length + 1); // only `other`, signed in on purpose above
      expect(await alertsOf(user.id)).toContain('factor_added');
      const audit = await server.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'security.alert').where('target_id', '=', user.id).execute();
      expect(audit.map((a) => JSON.parse(a.details) as { kind: string })).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'factor_added', factor: 'totp' })]));
    });

    it('a sign-in enrollment is confirmed only from the device that proved the password', async () => {
      const user = await buildUser(server.ctx, { role: 'dispatcher' });
      const deviceId = newDeviceId();
      const first = LoginResponse.parse((await post('/auth/login', { username: user.username, password: user.password, deviceId })).body);
      if (first.status !== 'mfa_enrollment_required') throw new Error('expected enrollment');
      const code = totp(base32Decode(first.enrollment.secretBase32), clock.now());
      const attacker = await post('/auth/mfa/confirm', { enrollmentToken: first.enrollment.enrollmentToken, code, deviceId: newDeviceId() });
      expect(attacker.body).toMatchObject({ error: { code: 'unauthenticated' } });
      expect(await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).toEqual([]);
      // Wrong codes at the confirmation count like wrong codes at sign-in.
      const wrong = await post('/auth/mfa/confirm', { enrollmentToken: first.enrollment.enrollmentToken, code: code === '000000' ? '111111' : '000000', deviceId });
      expect(wrong.body).toMatchObject({ error: { code: 'mfa_invalid' } });
      expect((await server.ctx.db.selectFrom('users').select('failed_logins').where('id', '=', user.id).executeTakeFirstOrThrow()).failed_logins).toBe(1);
      expect((await post('/auth/mfa/confirm', { enrollmentToken: first.enrollment.enrollmentToken, code, deviceId })).status).toBe(200);
    });
  });

  it('a reset password cannot be kept by enrolling an authenticator instead of changing it', async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher' });
    const password = `one-time ${crypto.randomBytes(9).toString('base64url')}`;
    await resetPasswordByAdmin(server.ctx, testOperator, user.id, password);
    const deviceId = newDeviceId();
    const first = LoginResponse.parse((await post('/auth/login', { username: user.username, password, deviceId })).body);
    if (first.status !== 'mfa_enrollment_required') throw new Error(`expected enrollment, got ${first.status}`);
    const code = totp(base32Decode(first.enrollment.secretBase32), clock.now());
    const confirmed = LoginResponse.parse((await post('/auth/mfa/confirm', { enrollmentToken: first.enrollment.enrollmentToken, code, deviceId })).body);
    expect(confirmed.status).toBe('password_change_required');
    expect(await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).toEqual([]);
  });

  it('with a security key as the only factor, adding an authenticator or recovery codes needs the key too', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const session = await signInFrom(user, { deviceId: newDeviceId(), deviceSecret: deviceSecret() });
    // The user's factor is a key (stored as registration would store it; the assertion itself is tested in Chromium).
    await server.ctx.db.insertInto('webauthn_credentials').values({
      id: crypto.randomBytes(16).toString('base64url'), user_id: user.id, public_key: 'unused', sign_count: 0, transports: '[]',
      name: 'Desk key', aaguid: null, backed_up: 0, created_at: clock.now(), last_used_at: null,
    }).execute();
    const token = session.tokens.accessToken;
    expect((await post('/auth/mfa/enroll', { password: user.password }, { token })).body).toMatchObject({ error: { code: 'webauthn_required' } });
    expect((await post('/me/recovery-codes', { password: user.password }, { token })).body).toMatchObject({ error: { code: 'webauthn_required' } });
    expect(await server.ctx.db.selectFrom('recovery_codes').select('id').where('user_id', '=', user.id).execute()).toEqual([]);
  });

  it('a trusted device\u2019s id without its secret is refused, even with the password, and the device keeps its trust', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const desk = { deviceId: newDeviceId(), deviceSecret: deviceSecret() };
    await signInFrom(user, desk);
    const before = await server.ctx.db.selectFrom('user_devices').select(['secret_hash', 'trusted_at']).where('device_id', '=', desk.deviceId).executeTakeFirstOrThrow();
    const borrowed = await post('/auth/login', { username: user.username, password: user.password, deviceId: desk.deviceId, deviceSecret: deviceSecret() });
    expect(borrowed.body).toMatchObject({ error: { code: 'unauthenticated' } });
    expect(await server.ctx.db.selectFrom('user_devices').select(['secret_hash', 'trusted_at']).where('device_id', '=', desk.deviceId).executeTakeFirstOrThrow()).toEqual(before);
    const audit = await server.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'auth.login').where('outcome', '=', 'denied').where('target_id', '=', user.id).execute();
    expect(audit.map((a) => (JSON.parse(a.details) as { reason: string }).reason)).toEqual(['device_secret_mismatch']);
    await signInFrom(user, desk);
  });

  it('a copied password-change token cannot be completed from another device that borrows the id', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const password = `one-time ${crypto.randomBytes(9).toString('base64url')}`;
    await resetPasswordByAdmin(server.ctx, testOperator, user.id, password);
    const desk = { deviceId: newDeviceId(), deviceSecret: deviceSecret() };
    const held = LoginResponse.parse((await post('/auth/login', { username: user.username, password, ...desk })).body);
    if (held.status !== 'password_change_required') throw new Error(`expected a password change, got ${held.status}`);
    const newPassword = `my own ${crypto.randomBytes(9).toString('base64url')}`;
    const copied = await post('/auth/password/complete', { changeToken: held.changeToken, newPassword, deviceId: desk.deviceId });
    expect(copied.body).toMatchObject({ error: { code: 'unauthenticated' } });
    const own = await post('/auth/password/complete', { changeToken: held.changeToken, newPassword, ...desk });
    expect(LoginResponse.parse(own.body).status).toBe('ok');
  });

  describe('hole 2: a stranger who knows a username cannot lock out or wipe its owner', () => {
    it('100 wrong passwords from unknown devices disable nothing, revoke nothing, and the known desk still signs in', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const desk = { deviceId: newDeviceId(), deviceSecret: deviceSecret() };
      const session = await signInFrom(user, desk);
      const sessionsBefore = await server.ctx.db.selectFrom('sessions').select(['id', 'revoked_at']).where('user_id', '=', user.id).execute();

      // The attacker's 100 guesses (99 set directly: the per-IP limit and lock waits would take hours).
      await server.ctx.db.updateTable('users').set({ failed_logins: 99, locked_until: null }).where('id', '=', user.id).execute();
      const guess = await post('/auth/login', { username: user.username, password: 'Winter2026!', deviceId: newDeviceId() });
      expect(guess.body).toMatchObject({ error: { code: 'invalid_credentials' } });

      const row = await server.ctx.db.selectFrom('users').select(['failed_logins', 'disabled_at']).where('id', '=', user.id).executeTakeFirstOrThrow();
      expect(row).toEqual({ failed_logins: 100, disabled_at: null });
      expect(await server.ctx.db.selectFrom('sessions').select(['id', 'revoked_at']).where('user_id', '=', user.id).execute()).toEqual(sessionsBefore);
      expect((await restCall(server.url, 'GET', '/me', { token: session.tokens.accessToken })).status).toBe(200);

      // Unknown devices are now refused, even with the right password...
      const blocked = await post('/auth/login', { username: user.username, password: user.password, deviceId: newDeviceId() });
      expect(blocked.body).toMatchObject({ error: { code: 'account_locked' } });
      // ...and the same device id without its secret is still a stranger...
      const copied = await post('/auth/login', { username: user.username, password: user.password, deviceId: desk.deviceId });
      expect(copied.body).toMatchObject({ error: { code: 'account_locked' } });
      // ...but the user's own desk signs in, and that clears the stranger's count.
      await signInFrom(user, desk);
      expect((await server.ctx.db.selectFrom('users').select('failed_logins').where('id', '=', user.id).executeTakeFirstOrThrow()).failed_logins).toBe(0);
    });

    it('a known device locks on its own failures only, and unknown-device failures never touch it', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const desk = { deviceId: newDeviceId(), deviceSecret: deviceSecret() };
      await signInFrom(user, desk);
      for (let i = 0; i < 5; i++) await post('/auth/login', { username: user.username, password: 'wrong', deviceId: newDeviceId() });
      const locked = await post('/auth/login', { username: user.username, password: user.password, deviceId: newDeviceId() });
      expect(locked.body).toMatchObject({ error: { code: 'account_locked' } });
      await signInFrom(user, desk);
      for (let i = 0; i < 5; i++) await post('/auth/login', { username: user.username, password: 'wrong', ...desk });
      expect((await post('/auth/login', { username: user.username, password: user.password, ...desk })).body).toMatchObject({ error: { code: 'account_locked' } });
      const device = await server.ctx.db.selectFrom('user_devices').select(['failed_logins', 'locked_until']).where('device_id', '=', desk.deviceId).executeTakeFirstOrThrow();
      expect(device.failed_logins).toBe(5);
      expect(device.locked_until).toBeGreaterThan(clock.now());
    });
  });

  describe('hole 3: the absolute session limit reaches an open socket', () => {
    it('a token never outlives its session, and the socket is cut off when the session ends', async () => {
      const depot = await buildLocation(server.ctx);
      const user = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [depot.id], withTotp: true });
      const device = { deviceId: newDeviceId(), deviceSecret: deviceSecret() };
      const res = await post('/auth/login', { username: user.username, password: user.password, ...device, totp: totp(base32Decode(user.totpSecret!), clock.now()) });
      const body = LoginResponse.parse(res.body);
      if (body.status !== 'ok') throw new Error('expected ok');
      // The session ends in 2 s (as if SESSION_ABSOLUTE_TIMEOUT_S had run out).
      const endsAt = clock.now() + 2000;
      await server.ctx.db.updateTable('sessions').set({ expires_at: endsAt }).where('id', '=', body.tokens.sessionId).execute();
      const refreshed = await post('/auth/refresh', { refreshToken: body.tokens.refreshToken, deviceId: device.deviceId });
      expect(refreshed.status).toBe(200);
      const tokens = refreshed.body as { accessToken: string; accessExpiresAt: number };
      expect(tokens.accessExpiresAt).toBeLessThanOrEqual(endsAt);

      const socket = await connectSocket(server.url, tokens.accessToken);
      const ended = new Promise<SessionEnded>((resolve) => socket.on('session:ended', resolve));
      const closed = new Promise<void>((resolve) => socket.on('disconnect', () => resolve()));
      // Renewing on the open socket does not carry it past the session either.
      const renewed = await emitAck<{ ok: boolean; data?: { expiresAt: number } }>(socket, 'auth:renew', { accessToken: tokens.accessToken });
      expect(renewed.ok).toBe(true);
      clock.advance(2100);
      const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the socket outlived its session')), 5000));
      await expect(Promise.race([ended, deadline])).resolves.toEqual({ reason: 'expired', wipe: false });
      await Promise.race([closed, deadline]);
      expect(socket.connected).toBe(false);
    });
  });

  describe('hole 4: an admin of one depot cannot cut off another depot\u2019s user', () => {
    it('granting a depot-B dispatcher access at A does not let A\u2019s admin end their sessions', async () => {
      const [a, b] = [await buildLocation(server.ctx), await buildLocation(server.ctx)];
      const admin = await buildUser(server.ctx, { role: 'admin', locationIds: [a.id], withTotp: true });
      const dispatcher = await buildUser(server.ctx, { role: 'dispatcher', locationIds: [b.id], withTotp: true });
      const adminSession = LoginResponse.parse((await post('/auth/login', { username: admin.username, password: admin.password, deviceId: newDeviceId(), totp: totp(base32Decode(admin.totpSecret!), clock.now()) })).body);
      const victim = LoginResponse.parse((await post('/auth/login', { username: dispatcher.username, password: dispatcher.password, deviceId: newDeviceId(), totp: totp(base32Decode(dispatcher.totpSecret!), clock.now()) })).body);
      if (adminSession.status !== 'ok' || victim.status !== 'ok') throw new Error('expected sign-ins');
      const token = adminSession.tokens.accessToken;

      const granted = await post('/grants', { userId: dispatcher.id, role: 'dispatcher', locationIds: [a.id] }, { token });
      expect(granted.status).toBe(201);
      const revoke = await restCall(server.url, 'DELETE', `/sessions/${victim.tokens.sessionId}`, { token });
      expect(revoke.status).toBe(404);
      expect((await restCall(server.url, 'GET', '/me', { token: victim.tokens.accessToken })).status).toBe(200);
      const denied = await server.ctx.db.selectFrom('audit_log').select('outcome').where('action', '=', 'session.revoke').where('target_id', '=', victim.tokens.sessionId).execute();
      expect(denied).toEqual([{ outcome: 'denied' }]);
      // What the admin of A can do: remove the user's access to A.
      const grantId = (granted.body as { grant: { id: string } }).grant.id;
      expect((await restCall(server.url, 'DELETE', `/grants/${grantId}`, { token })).status).toBe(204);
    });
  });

  it('disabling a user tells their devices `user_disabled`', async () => {
    const depot = await buildLocation(server.ctx);
    const user = await buildUser(server.ctx, { role: 'finance', locationIds: [depot.id] });
    const body = await signInFrom(user, { deviceId: newDeviceId() });
    const socket = await connectSocket(server.url, body.tokens.accessToken);
    const ended = new Promise<SessionEnded>((resolve) => socket.on('session:ended', resolve));
    await disableUser(server.ctx, testOperator, user.id);
    const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no session:ended')), 5000));
    await expect(Promise.race([ended, deadline])).resolves.toEqual({ reason: 'user_disabled', wipe: true });
    socket.close();
  });

  describe('sign-in alerts', () => {
    it('an ordinary sign-in raises none, and neither does the first sign-in of an account', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const desk = { deviceId: newDeviceId(), deviceSecret: deviceSecret() };
      await signInFrom(user, desk, '192.0.2.10');
      await signInFrom(user, desk, '192.0.2.11');
      expect(await alertsOf(user.id)).toEqual([]);
    });

    it('a new device, a new network, a session elsewhere, a success after failures: each raised once by its own situation', async () => {
      const user = await buildUser(server.ctx, { role: 'finance' });
      const desk = { deviceId: newDeviceId(), deviceSecret: deviceSecret() };
      const first = await signInFrom(user, desk, '192.0.2.20');
      await restCall(server.url, 'POST', '/auth/logout', { token: first.tokens.accessToken });

      // Same network, new device.
      const laptop = { deviceId: newDeviceId(), deviceSecret: deviceSecret() };
      const second = await signInFrom(user, laptop, '192.0.2.21');
      expect(await alertsOf(user.id)).toEqual(['new_device']);
      await restCall(server.url, 'POST', '/auth/logout', { token: second.tokens.accessToken });

      // Known device, new network (nothing else open).
      const third = await signInFrom(user, desk, '198.51.100.7');
      expect(await alertsOf(user.id)).toEqual(['new_device', 'new_network']);

      // Known device, known network, while the desk's session is open on the other network.
      const fourth = await signInFrom(user, laptop, '192.0.2.22');
      expect(await alertsOf(user.id)).toEqual(['new_device', 'new_network', 'distant_concurrent_session']);
      await restCall(server.url, 'POST', '/auth/logout', { token: third.tokens.accessToken });
      await restCall(server.url, 'POST', '/auth/logout', { token: fourth.tokens.accessToken });

      // Five failures from the desk, then its success.
      clock.advance(30_000);
      for (let i = 0; i < 4; i++) await post('/auth/login', { username: user.username, password: 'wrong', ...desk }, { ip: '198.51.100.7' });
      await signInFrom(user, desk, '198.51.100.7');
      expect(await alertsOf(user.id)).toEqual(['new_device', 'new_network', 'distant_concurrent_session']);
      for (let i = 0; i < 5; i++) await post('/auth/login', { username: user.username, password: 'wrong', ...desk }, { ip: '198.51.100.7' });
      clock.advance(61_000);
      await signInFrom(user, desk, '198.51.100.7');
      const kinds = await alertsOf(user.id);
      expect(kinds.filter((k) => k === 'success_after_failures')).toHaveLength(1);
    });
  });
});

describe('MFA policy in configuration', () => {
  const base = { HOST: '127.0.0.1' };
  it('defaults to the role templates\u2019 policy', () => {
    expect([...loadConfig(base).mfaRequiredRoles].sort()).toEqual(['admin', 'dispatcher', 'manager']);
  });
  it('refuses an unknown role name instead of silently dropping MFA', () => {
    expect(() => loadConfig({ ...base, MFA_REQUIRED_ROLES: 'admin,dispatchr' })).toThrow(/MFA_REQUIRED_ROLES: unknown role "dispatchr"/);
  });
  it('refuses to drop admin without the explicit acknowledgement, and accepts it with one', () => {
    expect(() => loadConfig({ ...base, MFA_REQUIRED_ROLES: '' })).toThrow(/leaves out "admin"/);
    expect(() => loadConfig({ ...base, MFA_REQUIRED_ROLES: 'manager', DEPOTLINE_ALLOW_ADMIN_WITHOUT_MFA: 'yes' })).toThrow(/only accepted value/);
    const accepted = loadConfig({ ...base, MFA_REQUIRED_ROLES: 'manager', DEPOTLINE_ALLOW_ADMIN_WITHOUT_MFA: 'i-accept-admins-without-mfa' });
    expect(accepted.adminWithoutMfa).toBe(true);
    expect([...accepted.mfaRequiredRoles]).toEqual(['manager']);
  });
});
