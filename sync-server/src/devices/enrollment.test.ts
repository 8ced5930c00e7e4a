import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeviceChallenge, DeviceEnrollResponse, deviceSignInMessage, LoginResponse, type EnrolledDevice, type SessionEnded } from '@depotline/shared';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { buildLocation, buildUser, newDeviceId, restCall, testClock, type TestClock } from '../../test/factories';
import { connectSocket } from '../../test/world';
import { base32Decode, totp } from '../auth/totp';
import { challengeTtlMs } from './enrollment';

/**
 * Device enrollment end to end against a real server that requires enrolled devices
 * (DEPOTLINE_REQUIRE_ENROLLED_DEVICES): tokens from the admin CLI, key registration and the
 * challenge over REST, sign-in with the device signature, refusals, revocation with its wipe
 * over the real socket.
 */
describe.each(backends)('device enrollment (%s)', (backend) => {
  let server: TestServer;
  /** A second server on the real clock, for the socket's wipe: the security watcher reads revocations by time, and the CLI stamps them with the real clock. */
  let live: TestServer;
  let clock: TestClock;
  let depot: { id: string };
  let liveDepot: { id: string };
  /** The server the helpers below talk to. */
  let srv: TestServer;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'depotline-enroll-'));

  beforeAll(async () => {
    clock = testClock();
    server = await startTestServer(backend, { requireEnrolledDevices: true }, { now: clock.now });
    depot = await buildLocation(server.ctx);
    live = await startTestServer(backend, { requireEnrolledDevices: true });
    liveDepot = await buildLocation(live.ctx);
  });
  beforeEach(() => {
    srv = server;
  });
  afterAll(async () => {
    await server?.dispose();
    await live?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const call = (method: string, p: string, body?: unknown) => restCall(srv.url, method, p, { body });
  const newKey = () => crypto.generateKeyPairSync('ed25519');
  const spki = (k: crypto.KeyObject) => k.export({ format: 'der', type: 'spki' }).toString('base64url');

  async function issueTokens(count = 1, expires = '7d'): Promise<string[]> {
    const run = await runAdminJson<{ tokens: { token: string }[] }>(srv.env, ['device', 'enroll-token', 'create', '--locations', srv === live ? liveDepot.id : depot.id, '--expires', expires, '--count', String(count)]);
    expect(run.code, run.stderr).toBe(0);
    return run.json.tokens.map((t) => t.token);
  }
  async function enroll(token: string, key = newKey()) {
    const res = await call('POST', '/devices/enroll', { token, publicKey: spki(key.publicKey), name: 'Dispatch desk 1', platform: 'linux' });
    return { res, key, device: res.status === 201 ? DeviceEnrollResponse.parse(res.body).device : null };
  }
  async function proof(enrolledDeviceId: string, privateKey: crypto.KeyObject, signIn: { username: string; deviceId: string }) {
    const res = await call('POST', '/auth/device-challenge', { enrolledDeviceId });
    expect(res.status).toBe(200);
    const c = DeviceChallenge.parse(res.body);
    const signature = crypto.sign(null, Buffer.from(deviceSignInMessage({ challengeId: c.challengeId, nonce: c.nonce, ...signIn }), 'utf8'), privateKey).toString('base64url');
    return { challengeId: c.challengeId, signature };
  }
  const newUser = () => buildUser(srv.ctx, { role: 'dispatcher', locationIds: [srv === live ? liveDepot.id : depot.id], withTotp: true });
  const login = (user: { username: string; password: string; totpSecret: string | null }, deviceId: string, deviceProof?: unknown) =>
    call('POST', '/auth/login', { username: user.username, password: user.password, deviceId, totp: totp(base32Decode(user.totpSecret!), srv.ctx.now()), ...(deviceProof ? { deviceProof } : {}) });

  it('issues one-time tokens: printed once, only a hash at rest, spent by one registration, refused after expiry', async () => {
    const tokens = await issueTokens(3);
    expect(tokens).toHaveLength(3);
    for (const t of tokens) expect(t).toMatch(/^dle_[A-Za-z0-9_-]{43}$/);
    const rows = await server.ctx.db.selectFrom('enrollment_tokens').selectAll().execute();
    const stored = JSON.stringify(rows);
    for (const t of tokens) {
      expect(stored).not.toContain(t);
      expect(stored).not.toContain(t.slice(4));
      expect(rows.some((r) => r.token_hash === crypto.createHash('sha256').update(t).digest('hex'))).toBe(true);
    }

    const first = await enroll(tokens[0]!);
    expect(first.res.status).toBe(201);
    expect(first.device).toMatchObject({ name: 'Dispatch desk 1', platform: 'linux', locationIds: [depot.id], revokedAt: null });
    // One time: a second device with the same token is refused, and so is the same key again.
    expect((await enroll(tokens[0]!)).res.status).toBe(401);
    expect((await enroll(tokens[1]!, first.key)).res.status).toBe(400);
    // A forged token never matches.
    expect((await enroll(`dle_${crypto.randomBytes(32).toString('base64url')}`)).res.status).toBe(401);

    // Expiry is the server's clock: past it the token is refused.
    clock.advance(8 * 86_400_000);
    expect((await enroll(tokens[2]!)).res.status).toBe(401);
    clock.advance(-8 * 86_400_000);

    const audited = await server.ctx.db.selectFrom('audit_log').select(['action', 'outcome']).where('action', 'like', 'device.%').execute();
    expect(audited).toEqual(expect.arrayContaining([{ action: 'device.enroll_token_create', outcome: 'ok' }, { action: 'device.enroll', outcome: 'ok' }, { action: 'device.enroll', outcome: 'denied' }]));
  });

  it('--out writes the tokens to a new 0600 file and never to the terminal', async () => {
    const out = path.join(tmp, `tokens-${backend}.txt`);
    const run = await runAdmin(server.env, ['device', 'enroll-token', 'create', '--locations', depot.id, '--expires', '2d', '--count', '2', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const tokens = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(tokens).toHaveLength(2);
    for (const t of tokens) expect(run.stdout + run.stderr).not.toContain(t);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    // Never overwritten; a bad flag names itself.
    expect((await runAdmin(server.env, ['device', 'enroll-token', 'create', '--locations', depot.id, '--expires', '2d', '--out', out])).code).toBe(1);
    const bad = await runAdminJson(server.env, ['device', 'enroll-token', 'create', '--locations', depot.id, '--expires', 'soon']);
    expect(bad.code).toBe(1);
    expect(JSON.stringify(bad.json)).toContain('--expires');
    expect((await runAdmin(server.env, ['device', 'enroll-token', 'create', '--locations', 'no-such-depot', '--expires', '2d'])).code).toBe(1);
  });

  it('an enrolled device signs in with its signature; an unenrolled one, a replayed or forged signature, and a moved one are refused', async () => {
    const [token] = await issueTokens();
    const { device, key } = await enroll(token!);
    const user = await newUser();
    const deviceId = newDeviceId();

    // No proof at all: refused before the password is looked at.
    const bare = await login(user, deviceId);
    expect(bare.status).toBe(403);
    expect(JSON.stringify(bare.body)).toContain('enrolled');

    const good = await proof(device!.id, key.privateKey, { username: user.username, deviceId });
    const ok = await login(user, deviceId, good);
    expect(ok.status).toBe(200);
    expect(LoginResponse.parse(ok.body).status).toBe('ok');

    // Replay: the same challenge and signature again.
    clock.advance(30_000);
    expect((await login(user, deviceId, good)).status).toBe(403);

    // Forged: an unenrolled key signs a real challenge of the enrolled device.
    const forged = await proof(device!.id, newKey().privateKey, { username: user.username, deviceId });
    expect((await login(user, deviceId, forged)).status).toBe(403);

    // Bound to the sign-in: a signature made for another user or device id does not carry over.
    const other = await newUser();
    const forOther = await proof(device!.id, key.privateKey, { username: other.username, deviceId });
    expect((await login(user, deviceId, forOther)).status).toBe(403);

    // Short-lived: a challenge signed too late is refused.
    const late = await proof(device!.id, key.privateKey, { username: user.username, deviceId });
    clock.advance(challengeTtlMs + 1);
    expect((await login(user, deviceId, late)).status).toBe(403);

    // Bound to its locations: a user of another depot may not sign in on it.
    const elsewhere = await buildUser(srv.ctx, { role: 'dispatcher', locationIds: [(await buildLocation(srv.ctx)).id], withTotp: true });
    const foreign = await login(elsewhere, deviceId, await proof(device!.id, key.privateKey, { username: elsewhere.username, deviceId }));
    expect(foreign.status).toBe(403);
    expect(JSON.stringify(foreign.body)).toContain('other locations');

    // An unknown device gets no challenge.
    expect((await call('POST', '/auth/device-challenge', { enrolledDeviceId: crypto.randomUUID() })).status).toBe(403);

    const reasons = await server.ctx.db.selectFrom('audit_log').select('details').where('action', '=', 'auth.login').where('outcome', '=', 'denied').execute();
    const seen = reasons.map((r) => (JSON.parse(r.details) as { reason?: string }).reason);
    expect(seen).toEqual(expect.arrayContaining(['device_not_enrolled', 'device_challenge_invalid', 'device_signature_invalid', 'device_location_mismatch']));
  });

  it('a held sign-in (first authenticator setup) completes on its password step\u2019s proof, and not once the device is revoked', async () => {
    const [t1, t2] = await issueTokens(2);
    const desk = await enroll(t1!);
    const other = await enroll(t2!);
    const start = async (d: typeof desk) => {
      const user = await buildUser(srv.ctx, { role: 'dispatcher', locationIds: [depot.id] });
      const deviceId = newDeviceId();
      const res = await call('POST', '/auth/login', { username: user.username, password: user.password, deviceId, deviceProof: await proof(d.device!.id, d.key.privateKey, { username: user.username, deviceId }) });
      const held = LoginResponse.parse(res.body);
      if (held.status !== 'mfa_enrollment_required') throw new Error(`expected an enrollment, got ${held.status}`);
      return (() => call('POST', '/auth/mfa/confirm', {
        enrollmentToken: held.enrollment.enrollmentToken, code: totp(base32Decode(held.enrollment.secretBase32), srv.ctx.now()), deviceId,
      }));
    };
    const confirm = await start(desk);
    const ok = await confirm();
    expect(ok.status).toBe(200);
    expect(LoginResponse.parse(ok.body).status).toBe('ok');

    const confirmLater = await start(other);
    await runAdminJson(srv.env, ['device', 'revoke', '--id', other.device!.id]);
    expect((await confirmLater()).status).toBe(403);
  });

  it('revoking an enrolled device ends its users\u2019 sessions with a wipe over the socket and refuses it afterwards', async () => {
    srv = live;
    const [token] = await issueTokens();
    const { device, key } = await enroll(token!);
    const user = await newUser();
    const deviceId = newDeviceId();
    const res = await login(user, deviceId, await proof(device!.id, key.privateKey, { username: user.username, deviceId }));
    const signedIn = LoginResponse.parse(res.body);
    if (signedIn.status !== 'ok') throw new Error('expected ok');

    const listed = await runAdminJson<{ devices: EnrolledDevice[] }>(live.env, ['device', 'list']);
    expect(listed.json.devices.map((d) => d.id)).toContain(device!.id);

    const socket = await connectSocket(live.url, signedIn.tokens.accessToken);
    const ended = new Promise<SessionEnded>((resolve) => socket.on('session:ended', resolve));
    const revoked = await runAdminJson<{ sessionsEnded: number }>(live.env, ['device', 'revoke', '--id', device!.id]);
    expect(revoked).toMatchObject({ code: 0, json: { sessionsEnded: 1 } });
    const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no session:ended')), 8000));
    await expect(Promise.race([ended, deadline])).resolves.toMatchObject({ wipe: true });
    socket.disconnect();

    // The session is gone, and the device can neither get a challenge nor sign in.
    expect((await call('POST', '/auth/refresh', { refreshToken: signedIn.tokens.refreshToken, deviceId })).status).toBe(401);
    expect((await call('POST', '/auth/device-challenge', { enrolledDeviceId: device!.id })).status).toBe(403);
    const active = await runAdminJson<{ devices: EnrolledDevice[] }>(live.env, ['device', 'list']);
    expect(active.json.devices.map((d) => d.id)).not.toContain(device!.id);
    const all = await runAdminJson<{ devices: EnrolledDevice[] }>(live.env, ['device', 'list', '--all']);
    expect(all.json.devices.find((d) => d.id === device!.id)?.revokedAt).not.toBeNull();
    // A user's own device list (the trusted-devices view) shows the row revoked too.
    const own = await runAdminJson<{ devices: { deviceId: string; revokedAt: number | null }[] }>(live.env, ['device', 'list', '--user', user.username]);
    expect(own.json.devices.find((d) => d.deviceId === deviceId)?.revokedAt).not.toBeNull();
  });
});
