import { z } from 'zod';
import { EntityId, Timestamp } from './domain';
import { NewPassword, Password, TotpCode } from './api';
import { SecurityAlertKind } from './account-security';
import { recoveryCodeCount } from './account';
import { CredentialId } from './webauthn-credential';

/*
 * The Security screen's part of the bridge (bridge.ts lists the calls): what the console shows
 * of the user's devices, sessions, factors, alerts and held sign-ins. Only what the screen
 * draws is declared, so a server field added later never reaches the page by accident; none of
 * these carries a token, a poll token, a device secret or a key.
 */

/** An id the server gave a record (device, session, alert, request): opaque to the console. */
const RecordId = z.string().min(1).max(128);
const Ip = z.string().max(64).nullable();

export const DeviceView = z.object({
  id: RecordId,
  name: z.string().max(200).nullable(),
  platform: z.string().max(64).nullable(),
  firstSeenAt: Timestamp,
  lastSeenAt: Timestamp,
  lastIp: Ip,
  trusted: z.boolean(),
  revokedAt: Timestamp.nullable(),
  /** This computer. */
  current: z.boolean(),
});
export type DeviceView = z.infer<typeof DeviceView>;

export const SessionView = z.object({
  id: RecordId,
  deviceName: z.string().max(200).nullable(),
  ip: Ip,
  createdAt: Timestamp,
  lastSeenAt: Timestamp,
  expiresAt: Timestamp,
  /** The session this console runs on. */
  current: z.boolean(),
});
export type SessionView = z.infer<typeof SessionView>;

export const SecurityKeyView = z.object({
  id: CredentialId,
  name: z.string().max(100),
  createdAt: Timestamp,
  lastUsedAt: Timestamp.nullable(),
  /** A synced passkey rather than a key bound to one device. */
  backedUp: z.boolean(),
});
export type SecurityKeyView = z.infer<typeof SecurityKeyView>;

export const AlertView = z.object({
  id: RecordId,
  kind: SecurityAlertKind,
  at: Timestamp,
  readAt: Timestamp.nullable(),
  ip: Ip,
  /** For `recovery_code_used`: how many codes are left. */
  remainingCodes: z.number().int().nonnegative().nullable(),
});
export type AlertView = z.infer<typeof AlertView>;

/** A sign-in of this user held until one of their trusted devices decides. */
export const SignInRequestView = z.object({
  id: RecordId,
  deviceName: z.string().max(200).nullable(),
  platform: z.string().max(64).nullable(),
  ip: Ip,
  requestedAt: Timestamp,
  expiresAt: Timestamp,
  status: z.enum(['pending', 'approved', 'denied', 'used']),
});
export type SignInRequestView = z.infer<typeof SignInRequestView>;

export const RecoveryCodesView = z.object({ remaining: z.number().int().nonnegative(), createdAt: Timestamp.nullable() });

/**
 * Everything on the Security screen. A part is null when this server does not offer it yet
 * (an older server answers its endpoint `not_found`): the screen says so instead of failing.
 */
export const SecurityOverview = z.object({
  devices: z.array(DeviceView).max(500).nullable(),
  sessions: z.array(SessionView).max(500),
  keys: z.array(SecurityKeyView).max(100).nullable(),
  recoveryCodes: RecoveryCodesView.nullable(),
  alerts: z.array(AlertView).max(500).nullable(),
  signInRequests: z.array(SignInRequestView).max(100).nullable(),
  /** Registering a key opens the server's own page in the browser; false when its address is not the server's. */
  canRegisterKeys: z.boolean(),
});
export type SecurityOverview = z.infer<typeof SecurityOverview>;

/** What the console keeps on show until dealt with: unread alerts and sign-ins waiting for me. */
export const SecurityNotices = z.object({
  alerts: z.array(AlertView).max(500),
  signInRequests: z.array(SignInRequestView).max(100),
});
export type SecurityNotices = z.infer<typeof SecurityNotices>;

/*
 * The admin part of the screen: a depot's users, for those who hold `security.read` there
 * (and, to decide held sign-ins, `session.revokeAny`). Each row names the user by username
 * only; an alert carries no id, since an admin cannot act on another user's alert, and a held
 * sign-in carries its id only because deciding it needs one.
 */

const Username = z.string().max(256);
export const MaxAdminAlerts = 500;
export const MaxAdminRequests = 200;

export const UserAlertView = AlertView.omit({ id: true }).extend({ username: Username });
export type UserAlertView = z.infer<typeof UserAlertView>;

export const UserSignInRequestView = SignInRequestView.extend({ username: Username });
export type UserSignInRequestView = z.infer<typeof UserSignInRequestView>;

/** A depot's sign-in alerts (newest first) and its users' sign-ins waiting for approval. */
export const LocationSecurityView = z.object({
  alerts: z.array(UserAlertView).max(MaxAdminAlerts),
  signInRequests: z.array(UserSignInRequestView).max(MaxAdminRequests),
});
export type LocationSecurityView = z.infer<typeof LocationSecurityView>;

/** The password, and the authenticator code when the account has one: adding or removing a factor asks for both. */
export const FactorProofArgs = { password: Password, totp: TotpCode.optional() };

export const securityBridgeCalls = {
  securityOverview: { args: z.object({}).strict(), result: SecurityOverview },
  securityNotices: { args: z.object({}).strict(), result: SecurityNotices },
  renameDevice: { args: z.object({ id: RecordId, name: z.string().trim().min(1).max(200) }).strict(), result: DeviceView },
  /** Its sessions end and it wipes its data when it next reaches the server. */
  revokeDevice: { args: z.object({ id: RecordId }).strict(), result: z.null() },
  revokeSession: { args: z.object({ id: RecordId }).strict(), result: z.null() },
  markAlertRead: { args: z.object({ id: RecordId }).strict(), result: z.null() },
  /** Approve or deny a held sign-in of mine, from this trusted device. */
  decideSignIn: { args: z.object({ id: RecordId, approve: z.boolean() }).strict(), result: SignInRequestView },
  /** The depot's alerts and held sign-ins; needs `security.read` there. */
  locationSecurity: { args: z.object({ locationId: EntityId }).strict(), result: LocationSecurityView },
  /**
   * An admin approves or denies a held sign-in of a user at the depot; needs `session.revokeAny`
   * there, and the server also requires it at every other depot of that user.
   */
  decideUserSignIn: { args: z.object({ locationId: EntityId, id: RecordId, approve: z.boolean() }).strict(), result: UserSignInRequestView },
  /** Ten new codes, answered once: the console keeps none of them. */
  regenerateRecoveryCodes: {
    args: z.object(FactorProofArgs).strict(),
    result: z.object({ codes: z.array(z.string().max(64)).length(recoveryCodeCount), createdAt: Timestamp }),
  },
  changePassword: {
    args: z.object({ currentPassword: Password, newPassword: NewPassword, keepOtherSessions: z.boolean().optional() }).strict(),
    result: z.object({ sessionsEnded: z.number().int().nonnegative() }),
  },
  renameSecurityKey: { args: z.object({ id: CredentialId, name: z.string().trim().min(1).max(100) }).strict(), result: SecurityKeyView },
  removeSecurityKey: { args: z.object({ id: CredentialId, ...FactorProofArgs }).strict(), result: z.null() },
  /** Opens the server's key page in the browser; the key appears in the list once made there. */
  registerSecurityKey: {
    args: z.object({ name: z.string().trim().min(1).max(100), ...FactorProofArgs }).strict(),
    result: z.object({ expiresAt: Timestamp }),
  },
} as const satisfies Record<string, { args: z.ZodType; result: z.ZodType }>;
