import type { LoginRequest } from '@depotline/shared';
import { loadAccessProfile } from '../access/access-profile';
import { grantsFallUnderRoles } from '../access/role-policy';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { webauthnRequired } from '../errors';
import type { UserRow } from '../users/users';
import { hasSecurityKeys, verifyAssertion } from './webauthn';

/**
 * Security keys at sign-in: the branch second-factor.ts calls, and the policy that some roles
 * must use a key (WEBAUTHN_REQUIRED_ROLES: phishing-resistant MFA, NIST SP 800-63B 5.2.5; a key
 * signs for its relying party only, so a look-alike site gets nothing it can replay).
 * Kept apart from security-keys.ts so second-factor.ts does not import login.ts back.
 */

/**
 * True when the user's grants in force now fall under WEBAUTHN_REQUIRED_ROLES: a listed role, or
 * a group holding what only listed roles hold (access/role-policy.ts).
 */
export async function securityKeyRequired(ctx: ServerContext, userId: string, now: number): Promise<boolean> {
  if (ctx.config.webauthnRequiredRoles.size === 0) return false;
  return grantsFallUnderRoles(await loadAccessProfile(ctx.db, userId, now), ctx.config.webauthnRequiredRoles);
}

/**
 * The sign-in branch (second-factor.ts): verifies `input.webauthn` for `user`. A refusal throws
 * `webauthn_invalid` after it is audited, and changes nothing else: an assertion cannot be
 * guessed, so it does not count towards a lockout.
 */
export async function verifyLoginAssertion(ctx: ServerContext, user: UserRow, input: LoginRequest, now: number, ip: string | null): Promise<{ ok: true; method: 'webauthn'; totpStep: null } | { ok: false; reason: 'missing' }> {
  if (!input.webauthn) return { ok: false, reason: 'missing' };
  const actor: AuditActor = { userId: user.id, label: user.username, deviceId: input.deviceId, ip };
  await verifyAssertion(ctx, input.webauthn, { userId: user.id, purpose: 'login', actor, deviceId: input.deviceId }, now);
  return { ok: true, method: 'webauthn', totpStep: null };
}

/**
 * The policy, applied before a TOTP code is checked at sign-in: a user whose role must use a
 * key, and who has one, is refused with `webauthn_required`. (A user with no key yet can still
 * sign in with TOTP to register one; docs/security-model.md says why.)
 */
export async function refuseTotpWhenKeyRequired(ctx: ServerContext, user: UserRow, input: LoginRequest, now: number): Promise<void> {
  if (!(await securityKeyRequired(ctx, user.id, now)) || !(await hasSecurityKeys(ctx.db, user.id))) return;
  await ctx.db.transaction().execute((trx) => appendAudit(trx, { userId: user.id, label: user.username, deviceId: input.deviceId, ip: null }, {
    action: 'auth.login', outcome: 'denied', targetType: 'user', targetId: user.id, details: { reason: 'webauthn_required' },
  }, now));
  throw webauthnRequired('Your role must sign in with a security key; an authenticator code alone is not enough.');
}
