import { z } from 'zod';
import { WebauthnProof } from './webauthn-credential';
import { Timestamp } from './domain';
import { DeviceId, DevicePlatform, DeviceSecret, NewPassword, Password, TotpCode } from './api';

/* The signed-in user's own account: recovery codes and password change (docs/api.md). */

/** How many recovery codes one set holds; a new set replaces the whole old one. */
export const recoveryCodeCount = 10;

/**
 * Generating codes is adding a factor, so it needs the password, and the current second factor
 * where the user has one, in the same request (ASVS 2.2.3 / 3.7.1): a stolen access token alone
 * is not enough.
 */
/** The same proof as any factor change: the password, plus the current second factor (a TOTP code or a security-key step-up). */
export const RecoveryCodesGenerate = z.object({
  password: Password,
  totp: TotpCode.optional(),
  webauthn: WebauthnProof.optional(),
});
export type RecoveryCodesGenerate = z.infer<typeof RecoveryCodesGenerate>;

/** The new set, shown once: the server keeps only keyed hashes and can never show it again. */
export const RecoveryCodeSet = z.object({
  codes: z.array(z.string()).length(recoveryCodeCount),
  createdAt: Timestamp,
});
export type RecoveryCodeSet = z.infer<typeof RecoveryCodeSet>;

/** What the server says about the user's codes: how many are left, never the codes. */
export const RecoveryCodesStatus = z.object({
  remaining: z.number().int().nonnegative(),
  /** When the current set was generated; null when the user has none. */
  createdAt: Timestamp.nullable(),
});
export type RecoveryCodesStatus = z.infer<typeof RecoveryCodesStatus>;

/** ASVS 2.1.5/2.1.6: a change needs the current password as well as the new one. */
export const PasswordChange = z.object({
  currentPassword: Password,
  newPassword: NewPassword,
  /** Sessions on the user's other devices end unless this is true; this session always stays. */
  keepOtherSessions: z.boolean().optional(),
});
export type PasswordChange = z.infer<typeof PasswordChange>;

export const PasswordChangeResult = z.object({
  /** How many of the user's other sessions were ended. */
  sessionsEnded: z.number().int().nonnegative(),
});
export type PasswordChangeResult = z.infer<typeof PasswordChangeResult>;

/**
 * After an administrator's reset, the sign-in answers `password_change_required` with a
 * change token; this sets the new password and completes that sign-in on the same device.
 */
export const PasswordChangeComplete = z.object({
  changeToken: z.string().min(1).max(4096),
  newPassword: NewPassword,
  deviceId: DeviceId,
  deviceName: z.string().max(200).optional(),
  deviceSecret: DeviceSecret.optional(),
  platform: DevicePlatform.optional(),
});
export type PasswordChangeComplete = z.infer<typeof PasswordChangeComplete>;
