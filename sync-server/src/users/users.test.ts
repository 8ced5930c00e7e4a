import { SignJWT, decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, backends, createTestContext, createTestEnv, type TestEnv } from '../../test/harness';
import { buildUser, newDeviceId, testClock, type TestClock, testOperator } from '../../test/factories';
import { authenticateAccessToken } from '../auth/access-tokens';
import { verifyPassword } from '../auth/passwords';
import { createSession } from '../auth/sessions';
import { base32Decode, totp } from '../auth/totp';
import type { ServerContext } from '../context';
import { AppError } from '../errors';
import {
  beginTotpEnrollment, confirmTotpEnrollment, createUser, readTotpSecret, disableUser, enableUser, findUserById,
  findUserByUsername, resetMfa, totpSecretAad,
} from './users';

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof AppError ? err.code : String(err);
  }
};

describe.each(backends)('user service (%s)', (backend: Backend) => {
  let env: TestEnv;
  let ctx: ServerContext;
  let clock: TestClock;

  beforeAll(async () => {
    env = await createTestEnv(backend);
    ctx = await createTestContext(env);
    clock = testClock();
    ctx.now = clock.now;
  });
  afterAll(async () => {
    await ctx?.db.destroy();
    await env?.dispose();
  });

  const auditOf = (targetId: string) =>
    ctx.db.selectFrom('audit_log').select(['action', 'outcome', 'actor', 'details']).where('target_id', '=', targetId).orderBy('seq').execute();

  async function openSession(userId: string) {
    return ctx.db.transaction().execute((trx) => createSession(ctx, trx, userId, { deviceId: newDeviceId(), deviceName: null, ip: null }));
  }

  it('creates a user with an argon2id hash and an audit entry, folding the username to lower case', async () => {
    const created = await createUser(ctx, testOperator, { username: 'Ana.Lopez', displayName: ' Ana Lopez ', password: 'purple lantern orchard' });
    expect(created).toEqual({ id: expect.any(String) as unknown, username: 'ana.lopez', displayName: 'Ana Lopez', mfaEnrolled: false });
    const row = (await findUserByUsername(ctx, 'ANA.LOPEZ'))!;
    expect(row.id).toBe(created.id);
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain('purple');
    expect(await verifyPassword(row.password_hash, 'purple lantern orchard')).toBe(true);
    const audit = await auditOf(created.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'user.create', outcome: 'ok', actor: 'test' });
    expect(audit[0]!.details).not.toContain('purple');
  });

  it('refuses weak passwords, taken and invalid usernames, and writes nothing then', async () => {
    const before = await ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(await codeOf(createUser(ctx, testOperator, { username: 'weak1', displayName: 'W', password: 'password1' }))).toBe('weak_password');
    expect(await codeOf(createUser(ctx, testOperator, { username: 'weak2', displayName: 'W', password: 'weak2-and-more' }))).toBe('weak_password');
    expect(await codeOf(createUser(ctx, testOperator, { username: 'has space', displayName: 'W', password: 'purple lantern orchard' }))).toBe('bad_request');
    await createUser(ctx, testOperator, { username: 'taken', displayName: 'T', password: 'purple lantern orchard' });
    expect(await codeOf(createUser(ctx, testOperator, { username: 'TAKEN', displayName: 'T2', password: 'purple lantern orchard' }))).toBe('conflict');
    expect(await findUserByUsername(ctx, 'weak1')).toBeNull();
    expect(await findUserByUsername(ctx, 'has space')).toBeNull();
    const after = await ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n) + 1);
  });

  it('concurrent creates of one username: exactly one wins', async () => {
    const results = await Promise.all([1, 2, 3].map((i) =>
      codeOf(createUser(ctx, testOperator, { username: 'race', displayName: `R${i}`, password: 'purple lantern orchard' }))));
    expect(results.filter((r) => r === 'resolved')).toHaveLength(1);
    expect(results.filter((r) => r === 'conflict')).toHaveLength(2);
  });

  it('disableUser cuts off existing sessions at once; enableUser lets the user sign in again', async () => {
    const user = await buildUser(ctx, { role: 'finance' });
    const s = await openSession(user.id);
    expect((await authenticateAccessToken(ctx, s.accessToken)).userId).toBe(user.id);
    await disableUser(ctx, testOperator, user.id);
    expect(await codeOf(authenticateAccessToken(ctx, s.accessToken))).toBe('session_revoked');
    expect((await findUserById(ctx, user.id))!.disabled_at).toBe(clock.now());
    await disableUser(ctx, testOperator, user.id); // idempotent: no second entry
    await enableUser(ctx, testOperator, user.id);
    expect((await findUserById(ctx, user.id))!.disabled_at).toBeNull();
    // Re-enabling does not resurrect the old session.
    expect(await codeOf(authenticateAccessToken(ctx, s.accessToken))).toBe('session_revoked');
    expect((await auditOf(user.id)).map((a) => a.action)).toEqual(['user.create', 'user.disable', 'user.enable']);
    expect(await codeOf(disableUser(ctx, testOperator, 'no-such-user'))).toBe('not_found');
  });

  it('TOTP enrollment stores the seed only encrypted, bound to the user row', async () => {
    const signInHere = { purpose: 'sign_in', deviceId: 'dev-1' } as const;
    const noCount = () => Promise.resolve();
    const user = await buildUser(ctx, { role: 'dispatcher' });
    const enrollment = await beginTotpEnrollment(ctx, user.id, signInHere);
    expect((await findUserById(ctx, user.id))!.totp_secret_enc).toBeNull();
    const code = totp(base32Decode(enrollment.secretBase32), clock.now());
    expect(await codeOf(confirmTotpEnrollment(ctx, { enrollmentToken: enrollment.enrollmentToken, code: '123456' === code ? '654321' : '123456' }, { deviceId: 'dev-1', ip: null, binding: signInHere }, noCount))).toBe('mfa_invalid');
    const confirmed = await confirmTotpEnrollment(ctx, { enrollmentToken: enrollment.enrollmentToken, code }, { deviceId: 'dev-1', ip: null, binding: signInHere }, noCount);
    const row = (await findUserById(ctx, user.id))!;
    expect(row.totp_secret_enc).not.toContain(enrollment.secretBase32);
    expect(ctx.cipher.decrypt(row.totp_secret_enc!, totpSecretAad(user.id))).toBe(enrollment.secretBase32);
    expect(readTotpSecret(ctx, row)).toEqual({ ok: true, value: enrollment.secretBase32 });
    expect(row.totp_last_step).toBe(Math.floor(clock.now() / 30_000));
    expect(confirmed.totp_enrolled_at).toBe(clock.now());
    expect(await codeOf(beginTotpEnrollment(ctx, user.id, signInHere))).toBe('conflict');
    // A seed encrypted for one user cannot be enrolled for another, even in a token signed
    // with the server's own key.
    const other = await buildUser(ctx, { role: 'dispatcher' });
    const { sec } = decodeJwt(enrollment.enrollmentToken);
    const moved = await new SignJWT({ sec, pur: 'sign_in', did: 'dev-1' }).setProtectedHeader({ alg: 'HS256' }).setSubject(other.id).setIssuer('depotline-sync-server')
      .setAudience('depotline-mfa-enroll').setExpirationTime(Math.floor(clock.now() / 1000) + 60).sign(ctx.tokenKey);
    clock.advance(30_000);
    const nextCode = totp(base32Decode(enrollment.secretBase32), clock.now());
    expect(await codeOf(confirmTotpEnrollment(ctx, { enrollmentToken: moved, code: nextCode }, { deviceId: 'dev-1', ip: null, binding: signInHere }, noCount))).toBe('unauthenticated');
    expect((await findUserById(ctx, other.id))!.totp_secret_enc).toBeNull();
  });

  it('resetMfa removes the authenticator and is audited', async () => {
    const user = await buildUser(ctx, { role: 'admin', withTotp: true });
    await resetMfa(ctx, testOperator, user.id);
    const row = (await findUserById(ctx, user.id))!;
    expect({ enc: row.totp_secret_enc, at: row.totp_enrolled_at, step: row.totp_last_step }).toEqual({ enc: null, at: null, step: null });
    const audit = await auditOf(user.id);
    expect(audit.at(-1)).toMatchObject({ action: 'mfa.reset', outcome: 'ok' });
    expect(JSON.parse(audit.at(-1)!.details)).toEqual({ wasEnrolled: true });
  });
});
