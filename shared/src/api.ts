import { z } from 'zod';
import { EntityId, Timestamp } from './domain';
import { roleNames } from './permissions';
import { LocationAccess } from './sync';
import { WebauthnProof } from './webauthn-credential';
import { DeviceProof } from './device-enrollment';

/* REST bodies of the sync server, under /api/v1. Requests are parsed with these on arrival. */

export const Username = z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9._@-]*$/, 'usernames are lower-case letters, digits and . _ @ -');

/**
 * NIST SP 800-63B: at least 8 characters when a second factor is used, at least 64 allowed,
 * no composition rules. (The blocklist check happens on the server.) We accept up to 256.
 */
export const minPasswordLength = 8;
export const maxPasswordLength = 256;
export const Password = z.string().min(1).max(maxPasswordLength);
export const NewPassword = z.string().min(minPasswordLength).max(maxPasswordLength);

export const DeviceId = z.string().min(8).max(128).regex(/^[A-Za-z0-9_-]+$/, 'device ids are url-safe characters');
export const TotpCode = z.string().regex(/^\d{6}$/, 'a code is 6 digits');

/**
 * A random secret the device keeps in its encrypted store and shows at each sign-in (OWASP's
 * "device cookie"): it makes the device *known*, so failed attempts elsewhere never lock it out.
 */
export const DeviceSecret = z.string().regex(/^[A-Za-z0-9_-]{32,128}$/, 'a device secret is 32 to 128 url-safe characters');
export const DevicePlatform = z.string().max(64);

export const LoginRequest = z.object({
  username: z.string().min(1).max(256),
  password: Password,
  deviceId: DeviceId,
  deviceName: z.string().max(200).optional(),
  deviceSecret: DeviceSecret.optional(),
  platform: DevicePlatform.optional(),
  totp: TotpCode.optional(),
  /** One of the user's recovery codes (`abcd-efgh-jkmn`), instead of the second factor; used once. */
  recoveryCode: z.string().min(1).max(64).regex(/^[A-Za-z0-9 -]+$/, 'a recovery code is letters, digits and dashes').optional(),
  /** A security-key assertion from a `login` ceremony (shared/src/webauthn.ts), instead of the TOTP code. */
  webauthn: WebauthnProof.optional(),
  /** Where the server requires enrolled devices: the enrolled device's signature over a fresh challenge (device-enrollment.ts). */
  deviceProof: DeviceProof.optional(),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const SessionTokens = z.object({
  sessionId: z.string(),
  accessToken: z.string(),
  accessExpiresAt: Timestamp,
  refreshToken: z.string(),
  /** The session's absolute end; refreshing never extends it. */
  sessionExpiresAt: Timestamp,
});
export type SessionTokens = z.infer<typeof SessionTokens>;

export const UserSummary = z.object({
  id: EntityId,
  username: Username,
  displayName: z.string(),
  mfaEnrolled: z.boolean(),
});
export type UserSummary = z.infer<typeof UserSummary>;

export const Me = z.object({
  user: UserSummary,
  sessionId: z.string(),
  access: z.array(LocationAccess),
});
export type Me = z.infer<typeof Me>;

export const MfaEnrollment = z.object({
  /** Short-lived token that lets only this enrollment be confirmed. */
  enrollmentToken: z.string(),
  /** RFC 6238 key URI (`otpauth://totp/...`) for a QR code. */
  otpauthUri: z.string(),
  secretBase32: z.string(),
});
export type MfaEnrollment = z.infer<typeof MfaEnrollment>;

export const LoginResponse = z.discriminatedUnion('status', [
  z.object({ status: z.literal('ok'), tokens: SessionTokens, me: Me }),
  /** Password accepted, but the user's role requires MFA and none is enrolled yet. */
  z.object({ status: z.literal('mfa_enrollment_required'), enrollment: MfaEnrollment }),
  /**
   * Password (and second factor) accepted, but an administrator reset the password: no session
   * until a new one is set with this token at POST /auth/password/complete, from the same device.
   */
  z.object({ status: z.literal('password_change_required'), changeToken: z.string(), changeTokenExpiresAt: Timestamp }),
  /**
   * Password and second factor accepted on a device this user has never used, and policy holds
   * such sign-ins: no session until one of the user's trusted devices, or an admin of their
   * locations, approves. The device polls POST /auth/sign-in-requests/poll with this token.
   */
  z.object({
    status: z.literal('approval_required'),
    approval: z.object({ requestId: z.string(), pollToken: z.string(), expiresAt: Timestamp }),
  }),
]);
export type LoginResponse = z.infer<typeof LoginResponse>;

/** Confirms the enrollment a sign-in handed out; only from the device that signed in. */
export const MfaEnrollConfirm = z.object({
  enrollmentToken: z.string().min(1).max(4096),
  code: TotpCode,
  deviceId: DeviceId,
  deviceName: z.string().max(200).optional(),
  deviceSecret: DeviceSecret.optional(),
  platform: DevicePlatform.optional(),
});

/**
 * Adding an authenticator while signed in is adding a factor: the password is asked again in
 * the same request, and a security-key step-up when the user's factor is a key (ASVS 2.2.3,
 * 3.7.1), so an access token alone cannot do it.
 */
export const MfaAddStart = z.object({ password: Password, webauthn: WebauthnProof.optional() });
export const MfaAddConfirm = z.object({ enrollmentToken: z.string().min(1).max(4096), code: TotpCode });
export type MfaEnrollConfirm = z.infer<typeof MfaEnrollConfirm>;

export const RefreshRequest = z.object({ refreshToken: z.string().min(1).max(512), deviceId: DeviceId });
export type RefreshRequest = z.infer<typeof RefreshRequest>;

export const SessionInfo = z.object({
  id: z.string(),
  userId: EntityId,
  deviceId: z.string(),
  deviceName: z.string().nullable(),
  ip: z.string().nullable(),
  createdAt: Timestamp,
  lastSeenAt: Timestamp,
  expiresAt: Timestamp,
  current: z.boolean(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

export const RoleNameSchema = z.enum(roleNames);

/** A grant names a role template or a custom permission group (shared/src/groups.ts), exactly one. */
export const GrantCreate = z.object({
  userId: EntityId,
  role: RoleNameSchema.optional(),
  groupId: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'group ids are letters, digits, _ and -').optional(),
  locationIds: z.array(EntityId).min(1).max(500),
  expiresAt: Timestamp.nullable().optional(),
}).refine((g) => (g.role === undefined) !== (g.groupId === undefined), { message: 'name exactly one of role and groupId', path: ['role'] });
export type GrantCreate = z.infer<typeof GrantCreate>;

export const Grant = z.object({
  id: z.string(),
  userId: EntityId,
  /** The role template, or null when the grant names a group. */
  role: RoleNameSchema.nullable(),
  groupId: z.string().nullable(),
  groupName: z.string().nullable(),
  locationIds: z.array(EntityId),
  expiresAt: Timestamp.nullable(),
  createdAt: Timestamp,
  createdBy: z.string().nullable(),
  revokedAt: Timestamp.nullable(),
});
export type Grant = z.infer<typeof Grant>;

export const AuditEntry = z.object({
  seq: z.number().int().positive(),
  at: Timestamp,
  actorUserId: z.string().nullable(),
  actor: z.string(),
  action: z.string(),
  outcome: z.enum(['ok', 'denied', 'failed']),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  locationId: z.string().nullable(),
  /** What changed, with customer PII replaced by `[redacted]`. */
  details: z.record(z.string(), z.unknown()),
  deviceId: z.string().nullable(),
  ip: z.string().nullable(),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;
