import type { AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { appendAudit } from '../audit/audit-log';
import { invalidCredentials, mfaInvalid, mfaReplayed, mfaRequired, unauthenticated } from '../errors';
import { findUserById, type UserRow } from '../users/users';
import { findDevice } from './devices';
import { type FailureBucket, recordSignInFailure, refuseIfLocked } from './login';
import { verifyPassword } from './passwords';
import type { Principal } from './principal';
import type { LockState } from './throttle';
import { verifyTotp } from './totp';
import { readTotpSeed } from './totp-seed';

/**
 * Re-authentication for sensitive changes made while signed in (ASVS 3.7.1; ASVS 2.2.3 for
 * adding a factor): the password, and the current TOTP code where the user has one, in the same
 * request. An access token read off a machine is then not enough to change the password or to
 * mint recovery codes.
 *
 * A wrong password or code here counts exactly like one at sign-in (NIST SP 800-63B 5.2.2),
 * or these endpoints would be an unthrottled guessing oracle for whoever holds a token. The
 * failures count in the bucket of the session's device (the access token is bound to that
 * device), so a thief guessing with a stolen token locks only the device it was taken from,
 * never the user's other devices; a device without a trusted row counts in the account's
 * unknown-device bucket, as at sign-in.
 */

export interface ReauthenticationProof {
  password: string;
  /** Required when the user has an authenticator and `secondFactor` is asked for. */
  totp?: string | undefined;
}

/** The failure bucket of a signed-in session's device (its own when trusted, else the account's). */
export async function sessionBucketOf(ctx: ServerContext, user: UserRow, principal: Principal): Promise<FailureBucket> {
  return (await bucketOfSession(ctx, user, principal)).bucket;
}

async function bucketOfSession(ctx: ServerContext, user: UserRow, principal: Principal): Promise<{ bucket: FailureBucket; state: LockState }> {
  const row = await findDevice(ctx.db, user.id, principal.deviceId);
  if (row && row.trusted_at !== null && row.revoked_at === null) {
    return { bucket: { kind: 'device', deviceRowId: row.id }, state: { failedLogins: row.failed_logins, lockedUntil: row.locked_until } };
  }
  return { bucket: { kind: 'unknown_devices' }, state: { failedLogins: user.failed_logins, lockedUntil: user.locked_until } };
}

/**
 * Checks the proof for the signed-in `principal` and returns the user's row as read before the
 * check. A TOTP code is spent here (its step stored), so it cannot also sign in elsewhere.
 */
export async function reauthenticate(
  ctx: ServerContext,
  principal: Principal,
  actor: AuditActor,
  proof: ReauthenticationProof,
  options: { secondFactor: boolean },
): Promise<UserRow> {
  const user = await findUserById(ctx, principal.userId);
  if (!user || user.disabled_at !== null) throw unauthenticated();
  const now = ctx.now();
  const { bucket, state } = await bucketOfSession(ctx, user, principal);
  await refuseIfLocked(ctx, state, actor, now);
  if (!(await verifyPassword(user.password_hash, proof.password))) {
    throw await recordSignInFailure(ctx, user, bucket, actor, 'reauth_bad_password', invalidCredentials());
  }
  if (!options.secondFactor || user.totp_enrolled_at === null) return user;

  if (proof.totp === undefined) throw mfaRequired();
  const secret = await readTotpSeed(ctx, user, actor, 'auth.reauth');
  const check = secret === null ? null : verifyTotp(secret, proof.totp, now, user.totp_last_step);
  if (check === null || (!check.ok && check.reason !== 'replayed')) {
    throw await recordSignInFailure(ctx, user, bucket, actor, 'reauth_mfa_invalid', mfaInvalid());
  }
  const replayed = await ctx.db.transaction().execute(async (trx) => {
    // Stored conditionally, as at sign-in: of two requests with one code, one wins (ASVS 2.8.4).
    const stored = check.ok
      ? await trx.updateTable('users').set({ totp_last_step: check.step }).where('id', '=', user.id)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', check.step)]))
        .executeTakeFirst()
      : null;
    if (stored !== null && Number(stored.numUpdatedRows) === 1) return false;
    await appendAudit(trx, actor, { action: 'mfa.replay', outcome: 'denied', targetType: 'user', targetId: user.id }, now);
    return true;
  });
  if (replayed) throw mfaReplayed();
  return user;
}
