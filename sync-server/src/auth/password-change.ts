import type { PasswordChange, PasswordChangeResult } from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { conflict, notFound, weakPassword } from '../errors';
import { findUserById } from '../users/users';
import { checkNewPassword, hashPassword } from './passwords';
import type { Principal } from './principal';
import { reauthenticate } from './reauthentication';
import { raiseSecurityAlert } from './security-alerts';

/**
 * Password change by the user, and password reset by an administrator.
 *
 * Both end the user's other sessions unless told not to (ASVS 3.3.3: whoever knew the old
 * password may hold one), both notify the user (ASVS 2.2.3), both are audited, and both write
 * the new hash with a conditional UPDATE on the old one, so two concurrent changes cannot both
 * believe they won. Ended sessions are cut off on open sockets by the security watcher.
 */

/** NFKC, as passwords.ts hashes them, so "the same password" means the same to both. */
const samePassword = (a: string, b: string) => a.normalize('NFKC') === b.normalize('NFKC');

/** Ends the user's open sessions except `keep`, inside the caller's transaction; returns how many. */
export async function endSessionsOfUser(trx: Db, userId: string, keep: string | null, now: number): Promise<number> {
  let q = trx.updateTable('sessions').set({ revoked_at: now, revoke_reason: 'password_changed' })
    .where('user_id', '=', userId).where('revoked_at', 'is', null);
  if (keep !== null) q = q.where('id', '!=', keep);
  return Number((await q.executeTakeFirst()).numUpdatedRows);
}

/**
 * `POST /me/password`: the current password proves it is the account holder (a wrong one
 * counts as a failed sign-in, reauthentication.ts), the new one must pass the NIST rules
 * (passwords.ts) and differ from the current one. The session making the change stays.
 */
export async function changeOwnPassword(ctx: ServerContext, principal: Principal, actor: AuditActor, input: PasswordChange): Promise<PasswordChangeResult> {
  const user = await reauthenticate(ctx, principal, actor, { password: input.currentPassword }, { secondFactor: false });
  if (samePassword(input.currentPassword, input.newPassword)) throw weakPassword('Choose a new password, not the current one.');
  checkNewPassword(input.newPassword, { username: user.username, displayName: user.display_name });
  const newHash = await hashPassword(input.newPassword);
  const keepOthers = input.keepOtherSessions === true;
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const changed = await trx.updateTable('users')
      .set({ password_hash: newHash, password_changed_at: now, must_change_password: 0 })
      .where('id', '=', user.id).where('password_hash', '=', user.password_hash)
      .executeTakeFirst();
    if (Number(changed.numUpdatedRows) !== 1) throw conflict('The password was changed at the same time by another request; sign in again.');
    const sessionsEnded = keepOthers ? 0 : await endSessionsOfUser(trx, user.id, principal.sessionId, now);
    const details = { sessionsEnded, keptOtherSessions: keepOthers };
    await appendAudit(trx, actor, { action: 'user.password_change', outcome: 'ok', targetType: 'user', targetId: user.id, details }, now);
    await raiseSecurityAlert(trx, { userId: user.id, kind: 'password_changed', details: { by: 'user', ...details }, actor }, now);
    return { sessionsEnded };
  });
}

/**
 * An administrator's reset (`depotline-admin user reset-password`): sets `password` (generated
 * by the CLI and shown to the admin once) as a temporary password that must be changed at the
 * next sign-in, before any session exists (password-change-token.ts). Clears the lockout, since
 * a reset is how a locked-out user gets back in; does not re-enable a disabled account.
 */
export async function resetPasswordByAdmin(
  ctx: ServerContext,
  actor: AuditActor,
  userId: string,
  password: string,
  options: { keepSessions?: boolean } = {},
): Promise<{ sessionsEnded: number }> {
  const user = await findUserById(ctx, userId);
  if (!user) throw notFound('The user');
  checkNewPassword(password, { username: user.username, displayName: user.display_name });
  const newHash = await hashPassword(password);
  return ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    const changed = await trx.updateTable('users')
      .set({ password_hash: newHash, password_changed_at: now, must_change_password: 1, failed_logins: 0, locked_until: null })
      .where('id', '=', user.id)
      .executeTakeFirst();
    if (Number(changed.numUpdatedRows) !== 1) throw notFound('The user');
    await trx.updateTable('user_devices').set({ failed_logins: 0, locked_until: null }).where('user_id', '=', user.id).execute();
    const sessionsEnded = options.keepSessions === true ? 0 : await endSessionsOfUser(trx, user.id, null, now);
    const details = { sessionsEnded, keptSessions: options.keepSessions === true };
    await appendAudit(trx, actor, { action: 'user.password_reset', outcome: 'ok', targetType: 'user', targetId: user.id, details }, now);
    await raiseSecurityAlert(trx, { userId: user.id, kind: 'password_reset', details: { by: actor.label, ...details }, actor }, now);
    return { sessionsEnded };
  });
}
