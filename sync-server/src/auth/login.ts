import type { LoginRequest, LoginResponse, Me } from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import {
  accountLocked, forbidden, invalidCredentials, mfaInvalid, mfaReplayed, mfaRequired, type AppError,
} from '../errors';
import { beginTotpEnrollment, findUserByUsername, toUserSummary, type UserRow } from '../users/users';
import { loadAccessProfile, listLocationAccess } from '../access/access-profile';
import { grantsRequireMfa } from '../access/authority';
import { holdForApproval } from './device-approval';
import { type DevicePresented, type DeviceRow, findDevice, isKnownDevice, networkOf, recordDeviceSignIn } from './devices';
import { hashPassword, passwordNeedsRehash, verifyAgainstDummy, verifyPassword } from './passwords';
import { holdForPasswordChange } from './password-change-token';
import { enrolledFactors, verifySecondFactor } from './second-factor';
import { raiseSecurityAlert } from './security-alerts';
import { createSession } from './sessions';
import { provenEnrolledDevice, recordEnrolledSignIn, requireUserAtDeviceLocations, verifyDeviceProof } from '../devices/enrollment';
import { afterFailure, isBlocked, lockedForS, lockoutPolicy, type LockState, type LoginThrottle, refusedForS } from './throttle';

/**
 * Sign-in: password, then a second factor when the user's roles require one or they set one up.
 *
 * Unknown usernames and wrong passwords get the same answer, cost the same argon2id
 * verification and lock out the same way (ASVS 2.2.1 / OWASP Authentication Cheat Sheet:
 * no user enumeration). Disabled accounts answer `invalid_credentials` too. Lockouts are
 * checked before the password so a locked account costs no hashing. Failures are counted per
 * bucket (throttle.ts): a known device's own, or the account's bucket for every other device.
 */

/** How long a held sign-in may complete on its password step's device proof (enrolled devices required). */
export const heldSignInProofMs = 60 * 60_000;

/** Attempted usernames are recorded, truncated, as the actor of failed sign-ins; never the password. */
const attemptedLabel = (username: string) => username.slice(0, 64);

/** Where a failed attempt counts: a known device's own bucket, or the account's unknown-device bucket. */
export type FailureBucket = { kind: 'device'; deviceRowId: string } | { kind: 'unknown_devices' };

/** The bucket an attempt from `device` counts in, and its state now. */
export async function failureBucketOf(db: Db, user: UserRow, device: Pick<DevicePresented, 'deviceId' | 'deviceSecret'>): Promise<{ bucket: FailureBucket; state: LockState; known: DeviceRow | null }> {
  const row = await findDevice(db, user.id, device.deviceId);
  if (row && isKnownDevice(row, device.deviceSecret)) {
    return { bucket: { kind: 'device', deviceRowId: row.id }, state: { failedLogins: row.failed_logins, lockedUntil: row.locked_until }, known: row };
  }
  return { bucket: { kind: 'unknown_devices' }, state: { failedLogins: user.failed_logins, lockedUntil: user.locked_until }, known: null };
}

/** Refuses an attempt from a locked or blocked bucket (audited), before any password hashing. */
export async function refuseIfLocked(ctx: ServerContext, state: LockState, actor: AuditActor, now: number): Promise<void> {
  const waitS = refusedForS(state, now);
  if (waitS === null) return;
  await auditFailure(ctx, actor, { reason: isBlocked(state) ? 'blocked' : 'locked' });
  throw accountLocked(waitS);
}

export async function login(ctx: ServerContext, throttle: LoginThrottle, input: LoginRequest, ip: string | null): Promise<LoginResponse> {
  await throttle.consumeAttempt(ctx.rateLimits, ip);
  const device: DevicePresented = { deviceId: input.deviceId, deviceSecret: input.deviceSecret, deviceName: input.deviceName ?? null, platform: input.platform ?? null, ip };
  const user = await findUserByUsername(ctx, input.username);
  const now = ctx.now();
  // Where only enrolled devices may sign in, the device proves itself before any password is
  // tried, for known and unknown usernames alike (devices/enrollment.ts).
  if (ctx.config.requireEnrolledDevices) {
    const by: AuditActor = { userId: user?.id ?? null, label: user?.username ?? attemptedLabel(input.username), deviceId: input.deviceId, ip };
    device.enrolledDeviceId = await verifyDeviceProof(ctx, by, input);
  }

  if (!user) {
    const actor: AuditActor = { userId: null, label: attemptedLabel(input.username), deviceId: input.deviceId, ip };
    await refuseIfLocked(ctx, await throttle.unknownUserState(ctx.rateLimits, input.username), actor, now);
    await verifyAgainstDummy(input.password);
    const next = await throttle.recordUnknownUserFailure(ctx.rateLimits, input.username, now);
    await auditFailure(ctx, actor, { reason: 'unknown_user', failedLogins: next.failedLogins });
    throw invalidCredentials();
  }

  const actor: AuditActor = { userId: user.id, label: user.username, deviceId: input.deviceId, ip };
  const { bucket, state } = await failureBucketOf(ctx.db, user, device);
  await refuseIfLocked(ctx, state, actor, now);
  const passwordOk = await verifyPassword(user.password_hash, input.password);
  // Wrong passwords count even on a disabled account, so it locks out like an unknown name.
  if (!passwordOk) throw await recordSignInFailure(ctx, user, bucket, actor, 'bad_password', invalidCredentials());
  if (user.disabled_at !== null) {
    await auditFailure(ctx, actor, { reason: 'disabled' });
    throw invalidCredentials();
  }
  const factors = await enrolledFactors(ctx, user);
  // Which roles must use MFA is policy (MFA_REQUIRED_ROLES, docs/security-model.md), applied to
  // the roles and permission groups of the user's grants in force now (the same access model
  // every check uses); a group never waives what the role policy requires.
  const profile = await loadAccessProfile(ctx.db, user.id, now);
  if (device.enrolledDeviceId !== undefined) {
    // The password is proven: the device must be one of the user's depots', and is joined to the
    // user's device row (held sign-ins completing later count on it).
    await requireUserAtDeviceLocations(ctx, actor, device.enrolledDeviceId, [...profile.byLocation.keys()]);
    await recordEnrolledSignIn(ctx.db, device.enrolledDeviceId, user.id, device.deviceId, now);
  }
  const mfaNeeded = factors.length > 0 || grantsRequireMfa(profile, ctx.config.mfaRequiredRoles);
  let totpStep: number | null = null;
  let method = 'password';
  if (mfaNeeded) {
    if (factors.length === 0) {
      // Password proven, no factor yet: hand out a pending enrollment bound to this device; no
      // session exists until a code for it is confirmed from this device (POST /auth/mfa/confirm).
      const enrollment = await beginTotpEnrollment(ctx, user.id, { purpose: 'sign_in', deviceId: input.deviceId });
      await ctx.db.transaction().execute((trx) =>
        appendAudit(trx, actor, { action: 'mfa.enroll_start', outcome: 'ok', targetType: 'user', targetId: user.id }, now));
      return { status: 'mfa_enrollment_required', enrollment };
    }
    const check = await verifySecondFactor(ctx, user, input, now, ip);
    if (!check.ok) {
      if (check.reason === 'missing') throw mfaRequired();
      if (check.reason === 'replayed') throw await auditReplay(ctx, actor, user.id);
      throw await recordSignInFailure(ctx, user, bucket, actor, 'mfa_invalid', mfaInvalid());
    }
    totpStep = check.totpStep;
    method = `password+${check.method}`;
  }

  const newHash = passwordNeedsRehash(user.password_hash) ? await hashPassword(input.password) : null;
  // After an administrator's reset: no session until a new password is set (password-change-token.ts).
  const held = await holdForPasswordChange(ctx, user, device, { method, totpStep, failuresBefore: state.failedLogins });
  if (held) return held;
  // A device never used before may have to wait for approval (device-approval.ts).
  const waiting = await holdForApproval(ctx, user, device, { method, totpStep });
  if (waiting) return waiting;
  return completeSignIn(ctx, user, device, { method, totpStep, newPasswordHash: newHash, failuresBefore: state.failedLogins });
}

/**
 * The successful end of a sign-in, in one transaction: store the TOTP step (conditionally, so
 * of two concurrent sign-ins with one code only one wins), clear failures, trust the device,
 * open the session, audit, and raise the alerts the situation calls for. Also used after an
 * MFA enrollment is confirmed.
 */
export async function completeSignIn(
  ctx: ServerContext,
  user: UserRow,
  device: DevicePresented,
  how: { method: string; totpStep: number | null; newPasswordHash?: string | null; failuresBefore?: number },
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
    if (ctx.config.requireEnrolledDevices) {
      // Held sign-ins (authenticator setup, approval, new password) complete later: they count
      // on the proof their password step gave, while its enrolled device stays unrevoked.
      const enrolled = device.enrolledDeviceId ?? await provenEnrolledDevice(trx, user.id, device.deviceId, now, heldSignInProofMs);
      if (enrolled === null) throw forbidden('This computer is not an enrolled device, or its enrollment was revoked: sign in again.');
      await recordEnrolledSignIn(trx, enrolled, user.id, device.deviceId, now);
    }
    const alerts = await signInAlerts(trx, user.id, device, how.failuresBefore ?? 0, now);
    await recordDeviceSignIn(trx, user.id, device, now);
    const tokens = await createSession(ctx, trx, user.id, device);
    await appendAudit(trx, actor, {
      action: 'auth.login', outcome: 'ok', targetType: 'session', targetId: tokens.sessionId,
      details: { method: how.method, deviceName: device.deviceName },
    }, now);
    for (const alert of alerts) await raiseSecurityAlert(trx, { userId: user.id, actor, ...alert }, now);
    return { replayed: false as const, tokens };
  });
  if (outcome.replayed) throw await auditReplay(ctx, actor, user.id);
  const me = await buildMe(ctx, user, outcome.tokens.sessionId);
  return { status: 'ok', tokens: outcome.tokens, me };
}

type SignInAlert = { kind: 'new_device' | 'new_network' | 'success_after_failures' | 'distant_concurrent_session'; details: Record<string, unknown> };

/**
 * What about this sign-in deserves the user's attention, decided before it is recorded. An
 * ordinary sign-in (a known device, a usual network, no failures before it, no session on
 * another network) raises nothing; neither does the first sign-in of a new account.
 */
async function signInAlerts(trx: Db, userId: string, device: DevicePresented, failuresBefore: number, now: number): Promise<SignInAlert[]> {
  const out: SignInAlert[] = [];
  const devices = await trx.selectFrom('user_devices').select(['device_id', 'trusted_at']).where('user_id', '=', userId).execute();
  const known = isKnownDevice(await findDevice(trx, userId, device.deviceId), device.deviceSecret);
  // Any trusted device counts, this id's own row too when its secret was not shown.
  const trustedElsewhere = devices.some((d) => d.trusted_at !== null && (d.device_id !== device.deviceId || !known));
  if (!known && trustedElsewhere) {
    out.push({ kind: 'new_device', details: { deviceName: device.deviceName, platform: device.platform ?? null } });
  }
  const network = networkOf(device.ip);
  if (network !== null) {
    const earlier = await trx.selectFrom('sessions').select(['ip', 'revoked_at', 'expires_at', 'device_id']).where('user_id', '=', userId).execute();
    const earlierNetworks = new Set(earlier.map((s) => networkOf(s.ip)).filter((n): n is string => n !== null));
    if (earlierNetworks.size > 0 && !earlierNetworks.has(network)) out.push({ kind: 'new_network', details: { network } });
    const otherNetworks = new Set(earlier
      .filter((s) => s.revoked_at === null && s.expires_at > now && s.device_id !== device.deviceId)
      .map((s) => networkOf(s.ip))
      .filter((n): n is string => n !== null && n !== network));
    if (otherNetworks.size > 0) out.push({ kind: 'distant_concurrent_session', details: { network, otherNetworks: [...otherNetworks].sort() } });
  }
  if (failuresBefore >= lockoutPolicy.failuresPerLock) out.push({ kind: 'success_after_failures', details: { failedAttempts: failuresBefore } });
  return out;
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
 * Counts a failed attempt in its bucket: the counter is incremented in the database (so
 * concurrent attempts all count), then the shared lockout rule decides the lock. Nothing else
 * happens to the account: no disabling, no revoked session, no wiped device. Returns the error
 * to throw.
 */
export async function recordSignInFailure(
  ctx: ServerContext,
  user: UserRow,
  bucket: FailureBucket,
  actor: AuditActor,
  reason: string,
  error: AppError,
): Promise<AppError> {
  await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const row = bucket.kind === 'device'
      ? await trx.updateTable('user_devices').set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) }))
        .where('id', '=', bucket.deviceRowId).returning(['failed_logins', 'locked_until']).executeTakeFirstOrThrow()
      : await trx.updateTable('users').set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) }))
        .where('id', '=', user.id).returning(['failed_logins', 'locked_until']).executeTakeFirstOrThrow();
    const failedLogins = Number(row.failed_logins);
    const next = afterFailure({ failedLogins: failedLogins - 1, lockedUntil: row.locked_until }, now);
    if (next.lockedUntil !== row.locked_until) {
      if (bucket.kind === 'device') await trx.updateTable('user_devices').set({ locked_until: next.lockedUntil }).where('id', '=', bucket.deviceRowId).execute();
      else await trx.updateTable('users').set({ locked_until: next.lockedUntil }).where('id', '=', user.id).execute();
    }
    await appendAudit(trx, actor, {
      action: 'auth.login', outcome: 'failed', targetType: 'user', targetId: user.id,
      details: { reason, failedLogins, bucket: bucket.kind, lockedForS: lockedForS(next.lockedUntil, now), blocked: isBlocked(next) },
    }, now);
  });
  return error;
}
