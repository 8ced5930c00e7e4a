import type { LoginRequest, LoginResponse, Me } from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import {
  accountLocked, invalidCredentials, mfaInvalid, mfaReplayed, mfaRequired, type AppError,
} from '../errors';
import {
  beginTotpEnrollment, decryptTotpSecret, disableUserIn, findUserByUsername, toUserSummary, type UserRow,
} from '../users/users';
import { loadAccessProfile, listLocationAccess } from '../access/access-profile';
import { hashPassword, passwordNeedsRehash, verifyAgainstDummy, verifyPassword } from './passwords';
import { createSession, type DeviceInfo } from './sessions';
import { afterFailure, lockedForS, type LoginThrottle } from './throttle';
import { verifyTotp } from './totp';

/**
 * Sign-in: password, then TOTP when the user's roles require it or they enrolled one.
 *
 * Unknown usernames and wrong passwords get the same answer, cost the same argon2id
 * verification and lock out the same way (ASVS 2.2.1 / OWASP Authentication Cheat Sheet:
 * no user enumeration). Disabled accounts answer `invalid_credentials` too. Lockouts are
 * checked before the password so a locked account costs no hashing.
 */

/** Attempted usernames are recorded, truncated, as the actor of failed sign-ins; never the password. */
const attemptedLabel = (username: string) => username.slice(0, 64);

export async function login(ctx: ServerContext, throttle: LoginThrottle, input: LoginRequest, ip: string | null): Promise<LoginResponse> {
  await throttle.consumeAttempt(ip);
  const device: DeviceInfo = { deviceId: input.deviceId, deviceName: input.deviceName ?? null, ip };
  const user = await findUserByUsername(ctx, input.username);
  const now = ctx.now();

  if (!user) {
    const actor: AuditActor = { userId: null, label: attemptedLabel(input.username), deviceId: input.deviceId, ip };
    const state = throttle.unknownUserState(input.username);
    const locked = lockedForS(state.lockedUntil, now);
    if (locked !== null) {
      await auditFailure(ctx, actor, { reason: 'locked' });
      throw accountLocked(locked);
    }
    await verifyAgainstDummy(input.password);
    if (state.disabled) {
      await auditFailure(ctx, actor, { reason: 'unknown_user' });
      throw invalidCredentials();
    }
    const next = throttle.recordUnknownUserFailure(input.username, now);
    await auditFailure(ctx, actor, { reason: 'unknown_user', failedLogins: next.failedLogins });
    throw invalidCredentials();
  }

  const actor: AuditActor = { userId: user.id, label: user.username, deviceId: input.deviceId, ip };
  const locked = lockedForS(user.locked_until, now);
  if (locked !== null) {
    await auditFailure(ctx, actor, { reason: 'locked' });
    throw accountLocked(locked);
  }
  const passwordOk = await verifyPassword(user.password_hash, input.password);
  // Wrong passwords count even on a disabled account, so it locks out like an unknown name.
  if (!passwordOk) throw await recordFailure(ctx, user, actor, 'bad_password', invalidCredentials());
  if (user.disabled_at !== null) {
    await auditFailure(ctx, actor, { reason: 'disabled' });
    throw invalidCredentials();
  }

  const enrolled = user.totp_enrolled_at !== null;
  // Which roles must use MFA is policy (docs/security-model.md) (MFA_REQUIRED_ROLES), applied to the
  // roles of the user's grants in force now (the same access model every check uses).
  const profile = await loadAccessProfile(ctx.db, user.id, now);
  const roles = [...profile.byLocation.values()].flatMap((v) => [...v.roles]);
  const mfaNeeded = enrolled || roles.some((r) => ctx.config.mfaRequiredRoles.has(r));
  let totpStep: number | null = null;
  if (mfaNeeded) {
    if (!enrolled) {
      // Password proven, no authenticator yet: hand out a pending enrollment; no session
      // exists until a code for it is confirmed (POST /auth/mfa/confirm).
      const enrollment = await beginTotpEnrollment(ctx, user.id);
      await ctx.db.transaction().execute((trx) =>
        appendAudit(trx, actor, { action: 'mfa.enroll_start', outcome: 'ok', targetType: 'user', targetId: user.id }, now));
      return { status: 'mfa_enrollment_required', enrollment };
    }
    if (input.totp === undefined) throw mfaRequired();
    const check = verifyTotp(decryptTotpSecret(ctx, user)!, input.totp, now, user.totp_last_step);
    if (!check.ok) {
      if (check.reason === 'replayed') throw await auditReplay(ctx, actor, user.id);
      throw await recordFailure(ctx, user, actor, 'mfa_invalid', mfaInvalid());
    }
    totpStep = check.step;
  }

  const newHash = passwordNeedsRehash(user.password_hash) ? await hashPassword(input.password) : null;
  return completeSignIn(ctx, user, device, { method: mfaNeeded ? 'password+totp' : 'password', totpStep, newPasswordHash: newHash });
}

/**
 * The successful end of a sign-in, in one transaction: store the TOTP step (conditionally, so
 * of two concurrent sign-ins with one code only one wins), clear failures, open the session,
 * audit. Also used after an MFA enrollment is confirmed.
 */
export async function completeSignIn(
  ctx: ServerContext,
  user: UserRow,
  device: DeviceInfo,
  how: { method: 'password' | 'password+totp' | 'mfa_enrollment'; totpStep: number | null; newPasswordHash?: string | null },
): Promise<LoginResponse> {
  const actor: AuditActor = { userId: user.id, label: user.username, deviceId: device.deviceId, ip: device.ip };
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    if (how.totpStep !== null) {
      const stored = await trx.updateTable('users')
        .set({ totp_last_step: how.totpStep })
        .where('id', '=', user.id)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', how.totpStep!)]))
        .executeTakeFirst();
      if (Number(stored.numUpdatedRows) !== 1) return { replayed: true as const };
    }
    await trx.updateTable('users')
      .set({ failed_logins: 0, locked_until: null, ...(how.newPasswordHash ? { password_hash: how.newPasswordHash } : {}) })
      .where('id', '=', user.id)
      .execute();
    const tokens = await createSession(ctx, trx, user.id, device);
    await appendAudit(trx, actor, {
      action: 'auth.login', outcome: 'ok', targetType: 'session', targetId: tokens.sessionId,
      details: { method: how.method, deviceName: device.deviceName },
    }, now);
    return { replayed: false as const, tokens };
  });
  if (outcome.replayed) throw await auditReplay(ctx, actor, user.id);
  const me = await buildMe(ctx, user, outcome.tokens.sessionId);
  return { status: 'ok', tokens: outcome.tokens, me };
}

export async function buildMe(ctx: ServerContext, user: Pick<UserRow, 'id' | 'username' | 'display_name' | 'totp_enrolled_at'>, sessionId: string): Promise<Me> {
  return { user: toUserSummary(user), sessionId, access: await listLocationAccess(ctx.db, await loadAccessProfile(ctx.db, user.id, ctx.now()), ctx.now()) };
}

async function auditFailure(ctx: ServerContext, actor: AuditActor, details: Record<string, unknown>): Promise<void> {
  await ctx.db.transaction().execute((trx) =>
    appendAudit(trx, actor, { action: 'auth.login', outcome: 'failed', targetType: 'user', targetId: actor.userId, details }, ctx.now()));
}

/** ASVS 2.8.5: a reused code means someone else may have seen it; record it. */
async function auditReplay(ctx: ServerContext, actor: AuditActor, userId: string): Promise<AppError> {
  await ctx.db.transaction().execute((trx) =>
    appendAudit(trx, actor, { action: 'mfa.replay', outcome: 'denied', targetType: 'user', targetId: userId }, ctx.now()));
  return mfaReplayed();
}

/**
 * Counts a failed attempt on a real account: the counter is incremented in the database (so
 * concurrent attempts all count), then the shared lockout rule decides the lock, and the
 * 100th consecutive failure disables the account. Returns the error to throw.
 */
async function recordFailure(ctx: ServerContext, user: UserRow, actor: AuditActor, reason: 'bad_password' | 'mfa_invalid', error: AppError): Promise<AppError> {
  await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const row = await trx.updateTable('users')
      .set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) }))
      .where('id', '=', user.id)
      .returning(['failed_logins', 'locked_until'])
      .executeTakeFirstOrThrow();
    const failedLogins = Number(row.failed_logins);
    const next = afterFailure({ failedLogins: failedLogins - 1, lockedUntil: row.locked_until, disabled: false }, now);
    if (next.lockedUntil !== row.locked_until) await trx.updateTable('users').set({ locked_until: next.lockedUntil }).where('id', '=', user.id).execute();
    await appendAudit(trx, actor, {
      action: 'auth.login', outcome: 'failed', targetType: 'user', targetId: user.id,
      details: { reason, failedLogins, lockedForS: lockedForS(next.lockedUntil, now) },
    }, now);
    if (next.disabled) {
      await disableUserIn(trx, { userId: null, label: 'system', deviceId: actor.deviceId, ip: actor.ip }, user.id, 'too many consecutive failed sign-ins (NIST SP 800-63B 5.2.2)', now);
    }
  });
  return error;
}
