import crypto from 'node:crypto';
import { LoginResponse, SecurityAlert, SignInPollResponse, SignInRequest, UserDevice } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdminJson } from '../../test/admin-cli';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { buildLocation, buildUser, newDeviceId, restCall, testClock, type TestClock } from '../../test/factories';
import { base32Decode, totp } from './totp';

/**
 * Trusted devices and device approval, against a real server with approval on for finance and
 * admin users (the production default holds admin and manager sign-ins). Each device signs in
 * as the console does: its id and its secret.
 */
describe.each(backends)('devices and held sign-ins (%s)', (backend) => {
  let server: TestServer;
  let clock: TestClock;
  let ip = 0;
  const nextIp = () => `192.0.2.${(++ip % 250) + 1}`;

  beforeAll(async () => {
    clock = testClock();
    server = await startTestServer(backend, { trustProxyHops: 1, deviceApprovalRoles: new Set(['finance', 'admin']), maxDevicesPerUser: 3 }, { now: clock.now });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const call = (method: string, path: string, opts: { token?: string; body?: unknown } = {}) =>
    restCall(server.url, method, path, { ...opts, headers: { 'x-forwarded-for': nextIp() } });
  const newDevice = () => ({ deviceId: newDeviceId(), deviceSecret: crypto.randomBytes(32).toString('base64url'), deviceName: 'Desk' });
  const signIn = async (user: { username: string; password: string; totpSecret?: string | null }, device: ReturnType<typeof newDevice>) => {
    const res = await call('POST', '/auth/login', {
      body: { username: user.username, password: user.password, ...device, ...(user.totpSecret ? { totp: totp(base32Decode(user.totpSecret), clock.now()) } : {}) },
    });
    if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
    return LoginResponse.parse(res.body);
  };
  const okTokens = (r: LoginResponse) => {
    if (r.status !== 'ok') throw new Error(`expected ok, got ${r.status}`);
    return r.tokens;
  };
  const held = (r: LoginResponse) => {
    if (r.status !== 'approval_required') throw new Error(`expected a held sign-in, got ${r.status}`);
    return r.approval;
  };
  const poll = async (approval: { requestId: string; pollToken: string }, device: ReturnType<typeof newDevice>) => {
    const res = await call('POST', '/auth/sign-in-requests/poll', { body: { ...approval, deviceId: device.deviceId, deviceSecret: device.deviceSecret } });
    return { status: res.status, body: res.status === 200 ? SignInPollResponse.parse(res.body) : res.body };
  };

  it('a new account\u2019s first device signs in; the next device waits, is approved from the first, and signs in once', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const desk = newDevice();
    const deskTokens = okTokens(await signIn(user, desk));

    const laptop = newDevice();
    const approval = held(await signIn(user, laptop));
    expect(await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).toHaveLength(1);
    expect((await poll(approval, laptop)).body).toEqual({ status: 'pending' });
    // A wrong poll token, or the right one from another device, learns nothing.
    expect((await poll({ ...approval, pollToken: 'x'.repeat(43) }, laptop)).status).toBe(401);
    expect((await poll(approval, newDevice())).status).toBe(401);

    const mine = await call('GET', '/me/sign-in-requests', { token: deskTokens.accessToken });
    const requests = (mine.body as { requests: unknown[] }).requests.map((r) => SignInRequest.parse(r));
    expect(requests.map((r) => [r.id, r.deviceName, r.status])).toEqual([[approval.requestId, 'Desk', 'pending']]);

    const approved = await call('POST', `/sign-in-requests/${approval.requestId}/decision`, { token: deskTokens.accessToken, body: { approve: true } });
    expect(approved.status).toBe(200);
    const first = await poll(approval, laptop);
    expect(first.body).toMatchObject({ status: 'ok' });
    // Exactly once.
    expect((await poll(approval, laptop)).status).toBe(401);
    // The approved laptop is known from now on: its next sign-in goes straight through, without a new-device alert.
    clock.advance(1000);
    okTokens(await signIn(user, laptop));
    const kinds = (await server.ctx.db.selectFrom('security_alerts').select('kind').where('user_id', '=', user.id).execute()).map((a) => a.kind);
    expect(kinds.filter((k) => k === 'new_device')).toHaveLength(1);
    const audit = await server.ctx.db.selectFrom('audit_log').select(['action', 'outcome']).where('target_id', '=', approval.requestId).orderBy('seq').execute();
    expect(audit).toEqual([{ action: 'device.approval_requested', outcome: 'ok' }, { action: 'device.approve', outcome: 'ok' }]);
  });

  it('a denied sign-in never gets a session; another user, or the held device, cannot decide', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const desk = newDevice();
    const deskTokens = okTokens(await signIn(user, desk));
    const stranger = await buildUser(server.ctx, { role: 'finance' });
    const strangerTokens = okTokens(await signIn(stranger, newDevice()));

    const thief = newDevice();
    const approval = held(await signIn(user, thief));
    const byStranger = await call('POST', `/sign-in-requests/${approval.requestId}/decision`, { token: strangerTokens.accessToken, body: { approve: true } });
    expect(byStranger.status).toBe(404);
    expect((await poll(approval, thief)).body).toEqual({ status: 'pending' });

    expect((await call('POST', `/sign-in-requests/${approval.requestId}/decision`, { token: deskTokens.accessToken, body: { approve: false } })).status).toBe(200);
    expect((await poll(approval, thief)).body).toEqual({ status: 'denied' });
    // A decided request cannot be decided again.
    expect((await call('POST', `/sign-in-requests/${approval.requestId}/decision`, { token: deskTokens.accessToken, body: { approve: true } })).status).toBe(409);
    expect((await poll(approval, thief)).body).toEqual({ status: 'denied' });
    const sessions = await server.ctx.db.selectFrom('sessions').select('device_id').where('user_id', '=', user.id).execute();
    expect(sessions.map((s) => s.device_id)).toEqual([desk.deviceId]);
    const denied = await server.ctx.db.selectFrom('audit_log').select(['actor_user_id', 'outcome']).where('action', '=', 'device.approve').where('target_id', '=', approval.requestId).execute();
    expect(denied).toEqual([{ actor_user_id: stranger.id, outcome: 'denied' }]);
  });

  it('an admin of every location of the user may decide; an admin of another depot may not', async () => {
    const [a, b] = [await buildLocation(server.ctx), await buildLocation(server.ctx)];
    const user = await buildUser(server.ctx, { role: 'finance', locationIds: [a.id] });
    okTokens(await signIn(user, newDevice()));
    const approval = held(await signIn(user, newDevice()));
    const adminA = await buildUser(server.ctx, { role: 'admin', locationIds: [a.id], withTotp: true });
    const adminB = await buildUser(server.ctx, { role: 'admin', locationIds: [b.id], withTotp: true });
    const tokenA = okTokens(await signIn(adminA, newDevice())).accessToken;
    clock.advance(30_000);
    const tokenB = okTokens(await signIn(adminB, newDevice())).accessToken;

    expect((await call('GET', `/locations/${a.id}/sign-in-requests`, { token: tokenA })).body).toMatchObject({ requests: [{ id: approval.requestId }] });
    expect((await call('GET', `/locations/${a.id}/sign-in-requests`, { token: tokenB })).status).toBe(403);
    expect((await call('POST', `/sign-in-requests/${approval.requestId}/decision`, { token: tokenB, body: { approve: true } })).status).toBe(404);
    expect((await call('POST', `/sign-in-requests/${approval.requestId}/decision`, { token: tokenA, body: { approve: true } })).status).toBe(200);
  });

  it('requests are bounded per user and coalesced per device, and expire', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    okTokens(await signIn(user, newDevice()));
    const again = newDevice();
    const first = held(await signIn(user, again));
    const second = held(await signIn(user, again));
    expect(second.requestId).toBe(first.requestId);
    // The renewed poll token replaces the old one.
    expect((await poll(first, again)).status).toBe(401);
    expect((await poll(second, again)).body).toEqual({ status: 'pending' });
    held(await signIn(user, newDevice()));
    held(await signIn(user, newDevice()));
    const flood = await call('POST', '/auth/login', { body: { username: user.username, password: user.password, ...newDevice() } });
    expect(flood.status).toBe(429);
    expect(flood.body).toMatchObject({ error: { code: 'rate_limited' } });

    clock.advance(11 * 60_000);
    expect((await poll(second, again)).body).toEqual({ status: 'expired' });
  });

  it('IT admins see and decide held sign-ins, alerts and devices with depotline-admin', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    okTokens(await signIn(user, newDevice()));
    const laptop = newDevice();
    const approval = held(await signIn(user, laptop));
    const pending = await runAdminJson<{ requests: SignInRequest[] }>(server.env, ['sign-in', 'pending']);
    expect(pending.json.requests.map((r) => r.id)).toContain(approval.requestId);
    expect((await runAdminJson(server.env, ['sign-in', 'approve', '--request', approval.requestId])).code).toBe(0);
    const session = await poll(approval, laptop);
    expect(session.body).toMatchObject({ status: 'ok' });
    // A decided request cannot be decided again from the command line either.
    expect((await runAdminJson(server.env, ['sign-in', 'deny', '--request', approval.requestId])).code).not.toBe(0);

    const alerts = await runAdminJson<{ alerts: SecurityAlert[] }>(server.env, ['security', 'alerts', '--user', user.username]);
    expect(alerts.json.alerts.map((a) => a.kind)).toEqual(['new_device']);
    const devices = await runAdminJson<{ devices: UserDevice[] }>(server.env, ['device', 'list', '--user', user.username]);
    expect(devices.json.devices).toHaveLength(2);
    const laptopRow = devices.json.devices.find((d) => d.deviceId === laptop.deviceId)!;
    expect((await runAdminJson(server.env, ['device', 'revoke', '--user', user.username, '--device', laptopRow.id])).code).toBe(0);
    const token = (session.body as { tokens: { accessToken: string } }).tokens.accessToken;
    expect((await restCall(server.url, 'GET', '/me', { token })).body).toMatchObject({ error: { code: 'session_revoked' } });
  });

  it('a TOTP code that started a held sign-in cannot start another one', async () => {
    const admin = await buildUser(server.ctx, { role: 'admin', withTotp: true });
    okTokens(await signIn(admin, newDevice()));
    clock.advance(30_000);
    const code = totp(base32Decode(admin.totpSecret!), clock.now());
    const body = { username: admin.username, password: admin.password, totp: code };
    expect(held(LoginResponse.parse((await call('POST', '/auth/login', { body: { ...body, ...newDevice() } })).body)).requestId).toBeTruthy();
    const replay = await call('POST', '/auth/login', { body: { ...body, ...newDevice() } });
    expect(replay.body).toMatchObject({ error: { code: 'mfa_replayed' } });
  });

  it('a user may have at most the device limit of trusted devices', async () => {
    const user = await buildUser(server.ctx, { role: 'reporting' });
    for (let i = 0; i < 3; i++) okTokens(await signIn(user, newDevice()));
    const fourth = await call('POST', '/auth/login', { body: { username: user.username, password: user.password, ...newDevice() } });
    expect(fourth.status).toBe(409);
    expect(fourth.body).toMatchObject({ error: { code: 'device_limit_reached' } });
  });

  it('lists, renames and revokes the user\u2019s devices; revoking one ends its sessions', async () => {
    const user = await buildUser(server.ctx, { role: 'reporting' });
    const desk = newDevice();
    const laptop = newDevice();
    const deskTokens = okTokens(await signIn(user, desk));
    const laptopTokens = okTokens(await signIn(user, laptop));
    const list = await call('GET', '/me/devices', { token: deskTokens.accessToken });
    const devices = (list.body as { devices: unknown[] }).devices.map((d) => UserDevice.parse(d));
    expect(devices.map((d) => [d.deviceId, d.current, d.trusted]).sort()).toEqual([[desk.deviceId, true, true], [laptop.deviceId, false, true]].sort());
    const laptopRow = devices.find((d) => d.deviceId === laptop.deviceId)!;
    expect((await call('PATCH', `/me/devices/${laptopRow.id}`, { token: deskTokens.accessToken, body: { name: 'Old laptop' } })).body)
      .toMatchObject({ device: { name: 'Old laptop' } });
    expect((await call('DELETE', `/me/devices/${laptopRow.id}`, { token: deskTokens.accessToken })).status).toBe(204);
    expect((await restCall(server.url, 'GET', '/me', { token: laptopTokens.accessToken })).body).toMatchObject({ error: { code: 'session_revoked' } });
    // Another user's device id is not found, and nothing of theirs changes.
    const other = await buildUser(server.ctx, { role: 'reporting' });
    const otherTokens = okTokens(await signIn(other, newDevice()));
    const deskRow = devices.find((d) => d.deviceId === desk.deviceId)!;
    expect((await call('DELETE', `/me/devices/${deskRow.id}`, { token: otherTokens.accessToken })).status).toBe(404);
    expect((await restCall(server.url, 'GET', '/me', { token: deskTokens.accessToken })).status).toBe(200);
  });

  it('alerts stay until read; admins see those of users at their location, others are refused', async () => {
    const depot = await buildLocation(server.ctx);
    const user = await buildUser(server.ctx, { role: 'reporting', locationIds: [depot.id] });
    const deskTokens = okTokens(await signIn(user, newDevice()));
    okTokens(await signIn(user, newDevice())); // a new device: one alert
    const unread = await call('GET', '/me/alerts?unread=1', { token: deskTokens.accessToken });
    const alerts = (unread.body as { alerts: unknown[] }).alerts.map((a) => SecurityAlert.parse(a));
    expect(alerts.map((a) => a.kind)).toEqual(['new_device']);
    expect((await call('POST', `/me/alerts/${alerts[0]!.id}/read`, { token: deskTokens.accessToken })).status).toBe(204);
    expect((await call('GET', '/me/alerts?unread=1', { token: deskTokens.accessToken })).body).toEqual({ alerts: [] });
    expect((await call('GET', '/me/alerts', { token: deskTokens.accessToken })).body).toMatchObject({ alerts: [{ kind: 'new_device', readAt: expect.any(Number) as unknown }] });

    const admin = await buildUser(server.ctx, { role: 'admin', locationIds: [depot.id], withTotp: true });
    clock.advance(30_000);
    const adminToken = okTokens(await signIn(admin, newDevice())).accessToken;
    const seen = await call('GET', `/locations/${depot.id}/alerts`, { token: adminToken });
    expect((seen.body as { alerts: SecurityAlert[] }).alerts.map((a) => [a.username, a.kind])).toEqual([[user.username, 'new_device']]);
    const dispatcher = await buildUser(server.ctx, { role: 'reporting', locationIds: [depot.id] });
    const dispatcherToken = okTokens(await signIn(dispatcher, newDevice())).accessToken;
    expect((await call('GET', `/locations/${depot.id}/alerts`, { token: dispatcherToken })).status).toBe(403);
    // Someone else's alert cannot be marked read.
    expect((await call('POST', `/me/alerts/${alerts[0]!.id}/read`, { token: dispatcherToken })).status).toBe(404);
  });
});
