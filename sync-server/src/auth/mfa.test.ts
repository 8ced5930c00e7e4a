import fs from 'node:fs';
import { LoginResponse, MfaEnrollment } from '@depotline/shared';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { buildUser, newDeviceId, restCall, signIn, testClock, type TestClock, totpNow } from '../../test/factories';
import { base32Decode, totp } from './totp';

describe.each(backends)('TOTP second factor (%s)', (backend) => {
  let server: TestServer;
  let clock: TestClock;

  beforeAll(async () => {
    clock = testClock();
    server = await startTestServer(backend, {}, { now: clock.now });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const post = (path: string, body: unknown, token?: string) => restCall(server.url, 'POST', path, { body, token });
  const auditActions = async (userId: string) =>
    (await server.ctx.db.selectFrom('audit_log').select(['action', 'outcome']).where('actor_user_id', '=', userId).orderBy('seq').execute())
      .map((r) => `${r.action}:${r.outcome}`);

  /** Signs in with the password, gets an enrollment, confirms it with a code from the URI's seed. */
  async function enrollViaLogin(user: { username: string; password: string }) {
    const deviceId = newDeviceId();
    const first = await post('/auth/login', { username: user.username, password: user.password, deviceId });
    expect(first.status).toBe(200);
    const parsed = LoginResponse.parse(first.body);
    if (parsed.status !== 'mfa_enrollment_required') throw new Error(`expected enrollment, got ${parsed.status}`);
    const enrollment = MfaEnrollment.parse(parsed.enrollment);
    // An authenticator app sees only the otpauth URI (the QR code): take the seed from there.
    const uri = new URL(enrollment.otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe(`/Depotline:${user.username}`);
    const secret = uri.searchParams.get('secret')!;
    expect(secret).toBe(enrollment.secretBase32);
    return { enrollment, secret, deviceId };
  }

  it('a dispatcher must enroll at first sign-in; the confirmed code opens a session', async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher' });
    const { enrollment, secret, deviceId } = await enrollViaLogin(user);

    // Nothing is stored before confirmation.
    const before = await server.ctx.db.selectFrom('users').select(['totp_secret_enc', 'totp_enrolled_at']).where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(before).toEqual({ totp_secret_enc: null, totp_enrolled_at: null });

    const wrong = await post('/auth/mfa/confirm', { enrollmentToken: enrollment.enrollmentToken, code: '000000', deviceId });
    expect(wrong.body).toMatchObject({ error: { code: 'mfa_invalid' } });

    const code = totp(base32Decode(secret), clock.now());
    // Only the device that proved the password may confirm: another device gets no session.
    const elsewhere = await post('/auth/mfa/confirm', { enrollmentToken: enrollment.enrollmentToken, code, deviceId: newDeviceId() });
    expect(elsewhere.body).toMatchObject({ error: { code: 'unauthenticated' } });
    const confirmed = await post('/auth/mfa/confirm', { enrollmentToken: enrollment.enrollmentToken, code, deviceId, deviceName: 'Dispatch 1' });
    expect(confirmed.status).toBe(200);
    const ok = LoginResponse.parse(confirmed.body);
    if (ok.status !== 'ok') throw new Error('expected ok');
    expect(ok.me.user.mfaEnrolled).toBe(true);
    expect((await restCall(server.url, 'GET', '/me', { token: ok.tokens.accessToken })).status).toBe(200);

    // The enrollment token is spent: confirming again cannot swap the seed.
    clock.advance(30_000);
    const again = await post('/auth/mfa/confirm', { enrollmentToken: enrollment.enrollmentToken, code: totp(base32Decode(secret), clock.now()), deviceId });
    expect(again.status).toBe(409);

    // From now on the password alone is not enough.
    const noCode = await post('/auth/login', { username: user.username, password: user.password, deviceId: newDeviceId() });
    expect(noCode.status).toBe(401);
    expect(noCode.body).toMatchObject({ error: { code: 'mfa_required' } });
    const withCode = await post('/auth/login', { username: user.username, password: user.password, deviceId: newDeviceId(), totp: totp(base32Decode(secret), clock.now()) });
    expect(withCode.status).toBe(200);
    expect(await auditActions(user.id)).toEqual(expect.arrayContaining(['mfa.enroll_start:ok', 'mfa.enroll:ok', 'auth.login:ok']));
  });

  it('the code used to confirm enrollment cannot be used again to sign in', async () => {
    const user = await buildUser(server.ctx, { role: 'manager' });
    const { enrollment, secret, deviceId } = await enrollViaLogin(user);
    const code = totp(base32Decode(secret), clock.now());
    expect((await post('/auth/mfa/confirm', { enrollmentToken: enrollment.enrollmentToken, code, deviceId })).status).toBe(200);
    const replay = await post('/auth/login', { username: user.username, password: user.password, deviceId: newDeviceId(), totp: code });
    expect(replay.body).toMatchObject({ error: { code: 'mfa_replayed' } });
  });

  it('rejects a replayed code and audits the replay (ASVS 2.8.4, 2.8.5)', async () => {
    const user = await buildUser(server.ctx, { role: 'admin', withTotp: true });
    const code = totpNow(server.ctx, user);
    const body = { username: user.username, password: user.password, deviceId: newDeviceId(), totp: code };
    expect((await post('/auth/login', body)).status).toBe(200);
    const replay = await post('/auth/login', { ...body, deviceId: newDeviceId() });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error: { code: 'mfa_replayed' } });
    // The previous step's code is not accepted either once a later step was used.
    const older = await post('/auth/login', { ...body, totp: totpNow(server.ctx, user, -1) });
    expect(older.body).toMatchObject({ error: { code: 'mfa_replayed' } });
    const replays = await server.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'mfa.replay').where('target_id', '=', user.id).execute();
    expect(replays).toHaveLength(2);
    expect(replays[0]!.outcome).toBe('denied');
    expect(JSON.stringify(replays)).not.toContain(code);
    // The next step's code works.
    clock.advance(30_000);
    expect((await post('/auth/login', { ...body, totp: totpNow(server.ctx, user) })).status).toBe(200);
  });

  it('accepts one step of clock drift, and a wrong code counts as a failed sign-in', async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher', withTotp: true });
    const base = { username: user.username, password: user.password, deviceId: newDeviceId() };
    expect((await post('/auth/login', { ...base, totp: totpNow(server.ctx, user, -1) })).status).toBe(200);
    expect((await post('/auth/login', { ...base, totp: totpNow(server.ctx, user, 1) })).status).toBe(200);
    const far = await post('/auth/login', { ...base, totp: totpNow(server.ctx, user, 3) });
    expect(far.body).toMatchObject({ error: { code: 'mfa_invalid' } });
    const row = await server.ctx.db.selectFrom('users').select('failed_logins').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.failed_logins).toBe(1);
  });

  it('a user without an MFA role may enroll voluntarily, with the password, and is then asked for codes', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const session = await signIn(server.url, server.ctx, user);
    const token = session.tokens.accessToken;
    const res = await post('/auth/mfa/enroll', { password: user.password }, token);
    expect(res.status).toBe(200);
    const enrollment = MfaEnrollment.parse(res.body);
    const code = totp(base32Decode(enrollment.secretBase32), clock.now());
    const confirmed = await post('/auth/mfa/enroll/confirm', { enrollmentToken: enrollment.enrollmentToken, code }, token);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ user: { mfaEnrolled: true }, sessionId: session.tokens.sessionId });
    expect(confirmed.body).not.toHaveProperty('tokens');
    const noCode = await post('/auth/login', { username: user.username, password: user.password, deviceId: newDeviceId() });
    expect(noCode.body).toMatchObject({ error: { code: 'mfa_required' } });
    // Enrolling again while enrolled is refused; an administrator resets MFA instead.
    expect((await post('/auth/mfa/enroll', { password: user.password }, token)).status).toBe(409);
    expect((await post('/auth/mfa/enroll', { password: user.password })).status).toBe(401);
  });

  it('an enrollment token is not an access token, and expires after 10 minutes', async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher' });
    const { enrollment, secret, deviceId } = await enrollViaLogin(user);
    expect((await restCall(server.url, 'GET', '/me', { token: enrollment.enrollmentToken })).status).toBe(401);
    clock.advance(10 * 60_000 + 1_000);
    const late = await post('/auth/mfa/confirm', { enrollmentToken: enrollment.enrollmentToken, code: totp(base32Decode(secret), clock.now()), deviceId });
    expect(late.status).toBe(401);
    expect(late.body).toMatchObject({ error: { code: 'unauthenticated' } });
  });

  it('stores the TOTP seed only encrypted: the database never holds the base32 secret', async () => {
    const user = await buildUser(server.ctx, { role: 'dispatcher' });
    const { enrollment, secret, deviceId } = await enrollViaLogin(user);
    const code = totp(base32Decode(secret), clock.now());
    expect((await post('/auth/mfa/confirm', { enrollmentToken: enrollment.enrollmentToken, code, deviceId })).status).toBe(200);

    const row = await server.ctx.db.selectFrom('users').select('totp_secret_enc').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.totp_secret_enc).toMatch(/^v1\./);
    expect(row.totp_secret_enc).not.toContain(secret);
    const hexSeed = base32Decode(secret).toString('hex');
    if (server.env.sqliteFile) {
      // The raw database files, as a stolen backup would have them (WAL included).
      const files = [server.env.sqliteFile, `${server.env.sqliteFile}-wal`].filter((f) => fs.existsSync(f));
      for (const f of files) {
        const bytes = fs.readFileSync(f);
        expect(bytes.includes(Buffer.from(secret, 'ascii')), f).toBe(false);
        expect(bytes.includes(base32Decode(secret)), f).toBe(false);
      }
    } else {
      // A plain SQL dump of every text column of users, as another role would read it.
      const client = new pg.Client({ connectionString: server.env.databaseUrl! });
      await client.connect();
      const dump = JSON.stringify((await client.query('select * from users')).rows);
      await client.end();
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(hexSeed);
    }
    // Bound to its row: the ciphertext copied to another user does not decrypt.
    const other = await buildUser(server.ctx, { role: 'finance' });
    expect(() => server.ctx.cipher.decrypt(row.totp_secret_enc!, `users.totp_secret.${other.id}`)).toThrow();
  });
});
