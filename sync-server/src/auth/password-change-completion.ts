import type { LoginResponse, PasswordChangeComplete } from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { weakPassword } from '../errors';
import { findUserById } from '../users/users';
import { holdForApproval } from './device-approval';
import { type DevicePresented, hashDeviceSecret } from './devices';
import { completeSignIn } from './login';
import { checkNewPassword, hashPassword, verifyPassword } from './passwords';
import { invalidChangeToken, passwordFingerprint, verifyPasswordChangeToken } from './password-change-token';
import { raiseSecurityAlert } from './security-alerts';

/**
 * `POST /auth/password/complete`: the second half of a sign-in held for a password change.
 *
 * The change token proves that this device just signed in with the temporary password (and the
 * second factor); it is checked for its device, for the password it was issued against, and
 * spent by the conditional UPDATE that replaces that password, so it works once, on one device.
 * Only then is the sign-in completed, with the same `completeSignIn` as any other.
 */
export async function completeRequiredPasswordChange(ctx: ServerContext, input: PasswordChangeComplete, ip: string | null): Promise<LoginResponse> {
  const claims = await verifyPasswordChangeToken(ctx, input.changeToken);
  const user = await findUserById(ctx, claims.userId);
  const actor: AuditActor = { userId: claims.userId, label: user?.username ?? 'unknown', deviceId: input.deviceId, ip };
  const refuse = async (reason: string) => {
    await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, {
      action: 'auth.password_change_complete', outcome: 'denied', targetType: 'user', targetId: claims.userId, details: { reason },
    }, ctx.now()));
    return invalidChangeToken();
  };
  // A token taken from one device is of no use on another (like refresh tokens, sessions.ts).
  const secretShown = input.deviceSecret === undefined ? null : hashDeviceSecret(input.deviceSecret);
  if (claims.deviceId !== input.deviceId || claims.deviceSecretHash !== secretShown) throw await refuse('device_mismatch');
  if (!user || user.disabled_at !== null) throw await refuse('user_unavailable');
  if (user.must_change_password !== 1 || passwordFingerprint(user.password_hash) !== claims.passwordFingerprint) throw await refuse('spent');

  checkNewPassword(input.newPassword, { username: user.username, displayName: user.display_name });
  // The temporary password was seen by the administrator who handed it over: keeping it would
  // defeat the reset.
  if (await verifyPassword(user.password_hash, input.newPassword)) throw weakPassword('Choose your own password, not the one you were given.');
  const newHash = await hashPassword(input.newPassword);

  const won = await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const changed = await trx.updateTable('users')
      .set({ password_hash: newHash, password_changed_at: now, must_change_password: 0 })
      .where('id', '=', user.id).where('password_hash', '=', user.password_hash).where('must_change_password', '=', 1)
      .executeTakeFirst();
    if (Number(changed.numUpdatedRows) !== 1) return false;
    await appendAudit(trx, actor, {
      action: 'user.password_change', outcome: 'ok', targetType: 'user', targetId: user.id, details: { after: 'reset' },
    }, now);
    // The user is told, so a temporary password intercepted and used by someone else shows.
    await raiseSecurityAlert(trx, { userId: user.id, kind: 'password_changed', details: { by: 'user', after: 'reset' }, actor }, now);
    return true;
  });
  // Two concurrent completions with one token: the first replaced the password, the second finds it gone.
  if (!won) throw await refuse('spent');

  const device: DevicePresented = {
    deviceId: input.deviceId, deviceSecret: input.deviceSecret, deviceName: input.deviceName ?? null, platform: input.platform ?? null, ip,
  };
  const changed = { ...user, password_hash: newHash, must_change_password: 0 };
  // A new device still waits for approval where policy says so: the reset changes the password,
  // not which devices the user may sign in from.
  const waiting = await holdForApproval(ctx, changed, device, { method: claims.method, totpStep: null });
  if (waiting) return waiting;
  return completeSignIn(ctx, changed, device, { method: claims.method, totpStep: null, failuresBefore: claims.failuresBefore });
}
