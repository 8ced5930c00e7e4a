import crypto from 'node:crypto';
import type { LoginResponse } from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { mfaReplayed, unauthenticated } from '../errors';
import type { UserRow } from '../users/users';
import { hashDeviceSecret } from './devices';
import { signPurposeToken, verifyPurposeToken } from './purpose-tokens';

/**
 * The change token of a sign-in held for a password change (after an administrator's reset,
 * `users.must_change_password = 1`). It lets exactly one thing happen: set a new password on
 * the device that signed in, and then finish that sign-in (password-change-completion.ts).
 *
 * - Its own audience, so it is neither an access token nor an enrollment token, nor they it.
 * - Bound to the user (`sub`) and the device that signed in: its id (`did`), and, when it showed
 *   one, a hash of its device secret (`dsh`). The id is readable in the token, the secret is not,
 *   so a copied token cannot be completed from another device.
 * - Bound to the password it was issued for: `pwf` is a hash of the stored password hash, so
 *   once the password changes (by this token, a second reset, or anything else) the token is
 *   dead. With the conditional UPDATE in the completion, that makes it single-use without a
 *   table of spent tokens.
 * - Five minutes: long enough to choose a password, short enough that a copy in a log is stale.
 */

const audience = 'depotline-password-change';
export const passwordChangeTokenTtlS = 300;

export interface PasswordChangeClaims {
  userId: string;
  deviceId: string;
  /** SHA-256 of the device secret the sign-in showed; null for a client that keeps none. */
  deviceSecretHash: string | null;
  /** Fingerprint of the password hash the token was issued against. */
  passwordFingerprint: string;
  /** How the held sign-in was proven (`password`, `password+totp`, ...), for its audit entry. */
  method: string;
  /** Failed attempts before the held sign-in, for the alert `completeSignIn` raises after many. */
  failuresBefore: number;
}

/** A one-way fingerprint: the token never carries the argon2 hash itself. */
export const passwordFingerprint = (passwordHash: string) =>
  crypto.createHash('sha256').update(`depotline password-change v1\u0000${passwordHash}`, 'utf8').digest('base64url');

export function issuePasswordChangeToken(ctx: ServerContext, claims: PasswordChangeClaims): Promise<{ token: string; expiresAt: number }> {
  return signPurposeToken(ctx, { audience, ttlS: passwordChangeTokenTtlS }, claims.userId, {
    did: claims.deviceId, dsh: claims.deviceSecretHash, pwf: claims.passwordFingerprint, mth: claims.method, fb: claims.failuresBefore,
  });
}

export const invalidChangeToken = () => unauthenticated('The password change has expired or was already completed; sign in again.');

/** Signature, algorithm, issuer, audience and expiry; the device and password checks are the caller's. */
export async function verifyPasswordChangeToken(ctx: ServerContext, token: string): Promise<PasswordChangeClaims> {
  const { sub, did, dsh, pwf, mth, fb } = await verifyPurposeToken(ctx, audience, token, invalidChangeToken);
  if (typeof sub !== 'string' || typeof did !== 'string' || typeof pwf !== 'string' || typeof mth !== 'string' || typeof fb !== 'number') throw invalidChangeToken();
  if (dsh !== null && typeof dsh !== 'string') throw invalidChangeToken();
  return { userId: sub, deviceId: did, deviceSecretHash: dsh, passwordFingerprint: pwf, method: mth, failuresBefore: fb };
}

/**
 * Called by login() right before a session would be created: when an administrator reset the
 * password, the sign-in (password and second factor already proven) is held, and the answer is
 * a change token instead of a session (ASVS 2.1.x: a temporary password is changed at first
 * use). The TOTP step of the held sign-in is stored now, so the same code cannot start a
 * second held sign-in. Returns null when no change is required.
 */
export async function holdForPasswordChange(
  ctx: ServerContext,
  user: UserRow,
  device: { deviceId: string; deviceSecret?: string | undefined; ip: string | null },
  how: { method: string; totpStep: number | null; failuresBefore?: number },
): Promise<Extract<LoginResponse, { status: 'password_change_required' }> | null> {
  if (user.must_change_password !== 1) return null;
  const actor: AuditActor = { userId: user.id, label: user.username, deviceId: device.deviceId, ip: device.ip };
  const replayed = await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now();
    if (how.totpStep !== null) {
      const stored = await trx.updateTable('users').set({ totp_last_step: how.totpStep })
        .where('id', '=', user.id)
        .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', how.totpStep!)]))
        .executeTakeFirst();
      if (Number(stored.numUpdatedRows) !== 1) {
        await appendAudit(trx, actor, { action: 'mfa.replay', outcome: 'denied', targetType: 'user', targetId: user.id }, now);
        return true;
      }
    }
    await appendAudit(trx, actor, {
      action: 'auth.password_change_required', outcome: 'ok', targetType: 'user', targetId: user.id, details: { method: how.method },
    }, now);
    return false;
  });
  if (replayed) throw mfaReplayed();
  const { token, expiresAt } = await issuePasswordChangeToken(ctx, {
    userId: user.id, deviceId: device.deviceId, deviceSecretHash: device.deviceSecret === undefined ? null : hashDeviceSecret(device.deviceSecret), passwordFingerprint: passwordFingerprint(user.password_hash), method: how.method,
    failuresBefore: how.failuresBefore ?? 0,
  });
  return { status: 'password_change_required', changeToken: token, changeTokenExpiresAt: expiresAt };
}
