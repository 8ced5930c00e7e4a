import { LoginResponse, RecoveryCodeSet, RecoveryCodesStatus } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { buildUser, type BuiltUser, newDeviceId, restCall, signIn, testClock, type TestClock, totpNow } from '../../test/factories';
import { generateRecoveryCode, hashRecoveryCode, normalizeRecoveryCode, recoveryCodeBits, replaceRecoveryCodes } from './recovery-codes';

describe('recovery code format', () => {
  it('has at least 50 bits, uses no ambiguous characters, and reads back however it is typed', () => {
    expect(recoveryCodeBits).toBeGreaterThanOrEqual(50);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const code = generateRecoveryCode();
      expect(code).toMatch(/^[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}$/);
      seen.add(code);
    }
    expect(seen.size).toBe(2000);
    const code = generateRecoveryCode();
    const bare = code.replace(/-/g, '');
    expect(normalizeRecoveryCode(code)).toBe(bare);
    expect(normalizeRecoveryCode(` ${code.toUpperCase().replace(/-/g, ' ')} `)).toBe(bare);
    expect(normalizeRecoveryCode(bare.slice(1))).toBeNull();
    expect(normalizeRecoveryCode(`${bare.slice(1)}0`)).toBeNull(); // 0 is not in the alphabet
  });
});

/**
 * Recovery codes over REST against a real server. Every sign-in comes from its own address
 * (one trusted proxy hop), so the per-IP sign-in limit never interferes.
 */
describe.each(backends)('recovery codes (%s)', (backend) => {
  let server: TestServer;
  let clock: TestClock;
  let ipCounter = 0;
  const freshIp = () => `203.0.113.${++ipCounter}`;

  beforeAll(async () => {
    clock = testClock();
    server = await startTestServer(backend, { trustProxyHops: 1 }, { now: clock.now });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const post = (path: string, body: unknown, token?: string) => restCall(server.url, 'POST', path, { body, token, headers: { 'x-forwarded-for': freshIp() } });
  const loginWithCode = (user: BuiltUser, recoveryCode: string, deviceId = newDeviceId()) =>
    post('/auth/login', { username: user.username, password: user.password, deviceId, recoveryCode });
  const rows = (userId: string) => server.ctx.db.selectFrom('recovery_codes').selectAll().where('user_id', '=', userId).execute();
  const actions = async (userId: string, action: string) =>
    server.ctx.db.selectFrom('audit_log').selectAll().where('target_id', '=', userId).where('action', '=', action).orderBy('seq').execute();
  const alerts = (userId: string, kind: string) =>
    server.ctx.db.selectFrom('security_alerts').selectAll().where('user_id', '=', userId).where('kind', '=', kind).execute();
  const failedLogins = async (userId: string) =>
    (await server.ctx.db.selectFrom('users').select('failed_logins').where('id', '=', userId).executeTakeFirstOrThrow()).failed_logins;

  /** A dispatcher with an authenticator, signed in, with a fresh set of codes. */
  async function userWithCodes() {
    const user = await buildUser(server.ctx, { role: 'dispatcher', withTotp: true });
    const session = await signIn(server.url, server.ctx, user, { headers: { 'x-forwarded-for': freshIp() } });
    clock.advance(30_000); // the sign-in spent this step's code
    const res = await post('/me/recovery-codes', { password: user.password, totp: totpNow(server.ctx, user) }, session.tokens.accessToken);
    expect(res.status).toBe(200);
    clock.advance(30_000);
    return { user, token: session.tokens.accessToken, set: RecoveryCodeSet.parse(res.body) };
  }

  it('shows ten codes once, stores only keyed hashes, and alerts the user (factor_added)', async () => {
    const { user, token, set } = await userWithCodes();
    expect(set.codes).toHaveLength(10);
    expect(new Set(set.codes).size).toBe(10);
    const stored = await rows(user.id);
    expect(stored).toHaveLength(10);
    const dump = JSON.stringify(stored);
    for (const code of set.codes) {
      expect(dump).not.toContain(code);
      expect(dump).not.toContain(code.replace(/-/g, ''));
    }
    // Each row holds the keyed hash of one of the codes shown, bound to this user.
    expect(new Set(stored.map((r) => r.code_hash))).toEqual(new Set(set.codes.map((c) => hashRecoveryCode(server.ctx, user.id, normalizeRecoveryCode(c)!))));
    expect(stored.every((r) => /^[0-9a-f]{64}$/.test(r.code_hash) && r.used_at === null)).toBe(true);

    // Afterwards the server tells how many are left, never the codes.
    const status = await restCall(server.url, 'GET', '/me/recovery-codes', { token });
    expect(RecoveryCodesStatus.strict().parse(status.body)).toEqual({ remaining: 10, createdAt: set.createdAt });
    expect(JSON.stringify(status.body)).not.toContain(set.codes[0]);

    expect(await alerts(user.id, 'factor_added')).toHaveLength(1);
    const generated = await actions(user.id, 'mfa.recovery_codes_generate');
    expect(generated).toHaveLength(1);
    const log = JSON.stringify(await server.ctx.db.selectFrom('audit_log').selectAll().execute());
    for (const code of set.codes) expect(log).not.toContain(code);
  });

  it('a stolen access token without the password (or without the TOTP code) cannot generate codes', async () => {
    const { user, token } = await userWithCodes();
    const before = (await rows(user.id)).map((r) => r.code_hash).sort();

    const noPassword = await post('/me/recovery-codes', { totp: totpNow(server.ctx, user) }, token);
    expect(noPassword.status).toBe(400);
    const wrongPassword = await post('/me/recovery-codes', { password: 'not the password at all', totp: totpNow(server.ctx, user) }, token);
    expect(wrongPassword.body).toMatchObject({ error: { code: 'invalid_credentials' } });
    const noTotp = await post('/me/recovery-codes', { password: user.password }, token);
    expect(noTotp.body).toMatchObject({ error: { code: 'mfa_required' } });
    const wrongTotp = await post('/me/recovery-codes', { password: user.password, totp: totpNow(server.ctx, user, 5) }, token);
    expect(wrongTotp.body).toMatchObject({ error: { code: 'mfa_invalid' } });
    const noToken = await post('/me/recovery-codes', { password: user.password, totp: totpNow(server.ctx, user) });
    expect(noToken.status).toBe(401);

    expect((await rows(user.id)).map((r) => r.code_hash).sort()).toEqual(before);
    expect(await alerts(user.id, 'factor_added')).toHaveLength(1);
    // The wrong password and the wrong code were each counted like failed sign-ins.
    const failures = await server.ctx.db.selectFrom('audit_log').select('details').where('target_id', '=', user.id)
      .where('action', '=', 'auth.login').where('outcome', '=', 'failed').execute();
    expect(failures.map((f) => (JSON.parse(f.details) as { reason: string }).reason).sort()).toEqual(['reauth_bad_password', 'reauth_mfa_invalid']);
  });

  it('each code signs in once; a reused code is refused, audited and counted as a failed factor', async () => {
    const { user, set } = await userWithCodes();
    const code = set.codes[3]!;
    // Typed loosely: upper case and spaces instead of dashes.
    const first = await loginWithCode(user, code.toUpperCase().replace(/-/g, ' '));
    expect(first.status).toBe(200);
    const ok = LoginResponse.parse(first.body);
    expect(ok.status).toBe('ok');
    expect((await rows(user.id)).filter((r) => r.used_at !== null)).toHaveLength(1);

    const used = await actions(user.id, 'mfa.recovery_code_used');
    expect(used).toHaveLength(1);
    expect(JSON.parse(used[0]!.details)).toEqual({ remaining: 9 });
    const usedAlerts = await alerts(user.id, 'recovery_code_used');
    expect(usedAlerts).toHaveLength(1);
    expect(JSON.parse(usedAlerts[0]!.details)).toEqual({ remaining: 9 });
    const signInEntry = await server.ctx.db.selectFrom('audit_log').select('details').where('actor_user_id', '=', user.id)
      .where('action', '=', 'auth.login').where('outcome', '=', 'ok').orderBy('seq', 'desc').executeTakeFirstOrThrow();
    expect(JSON.parse(signInEntry.details)).toMatchObject({ method: 'password+recovery_code' });

    const failuresBefore = await failedLogins(user.id);
    const again = await loginWithCode(user, code);
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ error: { code: 'mfa_invalid' } });
    expect(await failedLogins(user.id)).toBe(failuresBefore + 1);
    const refused = await actions(user.id, 'mfa.recovery_code_refused');
    expect(refused.map((r): unknown[] => [r.outcome, JSON.parse(r.details)])).toEqual([['denied', { reason: 'reused' }]]);

    const unknown = await loginWithCode(user, generateRecoveryCode());
    expect(unknown.body).toMatchObject({ error: { code: 'mfa_invalid' } });
    expect((await actions(user.id, 'mfa.recovery_code_refused')).map((r) => JSON.parse(r.details) as unknown)).toEqual([{ reason: 'reused' }, { reason: 'unknown' }]);
    expect(await alerts(user.id, 'recovery_code_used')).toHaveLength(1);

    // The other codes still work, once each.
    expect((await loginWithCode(user, set.codes[4]!)).status).toBe(200);
    const status = await restCall(server.url, 'GET', '/me/recovery-codes', { token: ok.status === 'ok' ? ok.tokens.accessToken : '' });
    expect(status.body).toMatchObject({ remaining: 8 });
  });

  it('a code of another user is unknown to this one', async () => {
    const a = await userWithCodes();
    const b = await userWithCodes();
    const res = await loginWithCode(b.user, a.set.codes[0]!);
    expect(res.body).toMatchObject({ error: { code: 'mfa_invalid' } });
    expect((await rows(a.user.id)).every((r) => r.used_at === null)).toBe(true);
  });

  it('generating a new set invalidates the old one, used codes and unused alike', async () => {
    const { user, token, set: oldSet } = await userWithCodes();
    expect((await loginWithCode(user, oldSet.codes[0]!)).status).toBe(200);
    const res = await post('/me/recovery-codes', { password: user.password, totp: totpNow(server.ctx, user) }, token);
    expect(res.status).toBe(200);
    const newSet = RecoveryCodeSet.parse(res.body);
    expect(newSet.codes.some((c) => oldSet.codes.includes(c))).toBe(false);
    expect(await rows(user.id)).toHaveLength(10);

    const old = await loginWithCode(user, oldSet.codes[1]!);
    expect(old.body).toMatchObject({ error: { code: 'mfa_invalid' } });
    expect((await loginWithCode(user, newSet.codes[1]!)).status).toBe(200);
    expect(JSON.parse((await actions(user.id, 'mfa.recovery_codes_generate'))[1]!.details)).toEqual({ count: 10, replaced: 10 });
    expect(await alerts(user.id, 'factor_added')).toHaveLength(2);
  });

  it('two concurrent sign-ins with one code: exactly one session', async () => {
    const { user, set } = await userWithCodes();
    const sessionsBefore = await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute();
    const attempts = await Promise.all(Array.from({ length: 6 }, () => loginWithCode(user, set.codes[7]!)));
    expect(attempts.filter((r) => r.status === 200)).toHaveLength(1);
    expect(attempts.filter((r) => r.status === 401).every((r) => (r.body as { error: { code: string } }).error.code === 'mfa_invalid')).toBe(true);
    const sessionsAfter = await server.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute();
    expect(sessionsAfter.length - sessionsBefore.length).toBe(1);
    expect(await actions(user.id, 'mfa.recovery_code_used')).toHaveLength(1);
    expect(await alerts(user.id, 'recovery_code_used')).toHaveLength(1);
  });

  it('two overlapping regenerations leave exactly one set of ten', async () => {
    const user = await buildUser(server.ctx, { role: 'finance' });
    const actor = { userId: user.id, label: user.username, deviceId: null, ip: null };
    // The first transaction stays open after writing its set while the second starts: without
    // the row lock, PostgreSQL would let the second delete nothing and add ten more.
    let firstWrote!: () => void;
    const wrote = new Promise<void>((resolve) => (firstWrote = resolve));
    const first = server.ctx.db.transaction().execute(async (trx) => {
      const set = await replaceRecoveryCodes(server.ctx, trx, user.id, actor, server.ctx.now());
      firstWrote();
      await new Promise((r) => setTimeout(r, 300));
      return set;
    });
    await wrote;
    const second = server.ctx.db.transaction().execute((trx) => replaceRecoveryCodes(server.ctx, trx, user.id, actor, server.ctx.now()));
    const [, last] = await Promise.all([first, second]);
    const stored = (await rows(user.id)).map((r) => r.code_hash).sort();
    expect(stored).toEqual(last.codes.map((c) => hashRecoveryCode(server.ctx, user.id, normalizeRecoveryCode(c)!)).sort());
  });
});
