import type { LoginRequest } from '@depotline/shared';
import type { ServerContext } from '../context';
import type { UserRow } from '../users/users';
import { useRecoveryCode } from './recovery-codes';
import { readTotpSeed } from './totp-seed';
import { verifyTotp } from './totp';
import { hasSecurityKeys } from './webauthn'; // security keys
import { refuseTotpWhenKeyRequired, verifyLoginAssertion } from './webauthn-policy'; // security keys

/**
 * The second factors a sign-in can present, verified in one place. Each factor's module adds
 * its branch here; login.ts asks only "which factors does this user have" and "does this
 * proof pass".
 */

export type SecondFactorMethod = 'totp' | 'recovery_code' | 'webauthn';

export type SecondFactorCheck =
  | {
    ok: true;
    method: SecondFactorMethod;
    /** The RFC 6238 step of an accepted TOTP code, stored at sign-in so the code is used once. */
    totpStep: number | null;
  }
  | { ok: false; reason: 'missing' | 'invalid' | 'replayed' };

/** The factors the user has set up. One or more means every sign-in needs one of them. */
export async function enrolledFactors(ctx: ServerContext, user: UserRow): Promise<SecondFactorMethod[]> {
  const factors: SecondFactorMethod[] = [];
  if (user.totp_enrolled_at !== null) factors.push('totp');
  if (await hasSecurityKeys(ctx.db, user.id)) factors.push('webauthn'); // security keys
  return Promise.resolve(factors);
}

/** Checks the proof the sign-in carries against the user's factors. */
export async function verifySecondFactor(ctx: ServerContext, user: UserRow, input: LoginRequest, now: number, ip: string | null): Promise<SecondFactorCheck> {
  // Security keys (webauthn-policy.ts): a refused assertion is audited there and throws `webauthn_invalid`.
  if (input.webauthn !== undefined) return verifyLoginAssertion(ctx, user, input, now, ip);
  if (input.totp !== undefined) {
    await refuseTotpWhenKeyRequired(ctx, user, input, now); // security keys: WEBAUTHN_REQUIRED_ROLES
    // A seed that does not decrypt throws `mfa_unavailable`, audited and alerted (totp-seed.ts).
    const secret = await readTotpSeed(ctx, user, { userId: user.id, label: user.username, deviceId: input.deviceId, ip }, 'auth.login');
    if (secret === null) return { ok: false, reason: 'invalid' };
    const check = verifyTotp(secret, input.totp, now, user.totp_last_step);
    return check.ok ? { ok: true, method: 'totp', totpStep: check.step } : { ok: false, reason: check.reason === 'replayed' ? 'replayed' : 'invalid' };
  }
  if (input.recoveryCode !== undefined) {
    // Spent here, atomically, with its audit entry and the `recovery_code_used` alert
    // (recovery-codes.ts); an unknown or used code is refused and counted as a failed factor.
    const use = await useRecoveryCode(ctx, user.id, input.recoveryCode, { userId: user.id, label: user.username, deviceId: input.deviceId, ip });
    return use.ok ? { ok: true, method: 'recovery_code', totpStep: null } : { ok: false, reason: 'invalid' };
  }
  return Promise.resolve({ ok: false, reason: 'missing' });
}
