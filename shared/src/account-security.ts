import { z } from 'zod';
import { DeviceId, DeviceSecret, LoginResponse } from './api';
import { EntityId, Timestamp } from './domain';

/* Devices, held sign-ins and sign-in alerts (docs/security-model.md, "Identity"). */

/**
 * What raises a sign-in alert. Each is an audit entry `security.alert` with its kind and a
 * notice for the user that stays until read; admins of the user's locations can list them.
 */
export const securityAlertKinds = [
  'new_device',                 // a sign-in completed on a device never seen for this user
  'new_network',                // a sign-in from an address block this user has not signed in from
  'success_after_failures',     // a sign-in that follows many failed attempts
  'distant_concurrent_session', // a sign-in while another session is active from another network
  'factor_added',               // an authenticator, security key or recovery codes added
  'factor_removed',
  'password_changed',
  'password_reset',             // an admin reset the password
  'recovery_code_used',
  'cloned_authenticator',       // a security key's signature counter went backwards
  'value_withheld',             // the user's stored authenticator seed does not decrypt (altered in the database): refused and withheld
  'record_withheld',            // to a location's admins: a stop's stored customer data does not decrypt (altered in the database) and is withheld
  'webhook_paused',             // to an integration's admins: a webhook receiver failed for a day and its deliveries are paused (details: integrationId, subscriptionId)
  'integration_activity',       // to an integration's admins: unusual activity of one of its credentials (details.rule: volume_spike, new_network, refused_burst, key_expiring)
  'pod_suspicious',             // to a location's managers and admins: a proof of delivery was captured far from the stop (details: stopId, proofId, distanceM)
] as const;
export const SecurityAlertKind = z.enum(securityAlertKinds);
export type SecurityAlertKind = z.infer<typeof SecurityAlertKind>;

export const SecurityAlert = z.object({
  id: z.string(),
  userId: EntityId,
  username: z.string(),
  kind: SecurityAlertKind,
  details: z.record(z.string(), z.unknown()),
  at: Timestamp,
  readAt: Timestamp.nullable(),
  deviceId: z.string().nullable(),
  ip: z.string().nullable(),
});
export type SecurityAlert = z.infer<typeof SecurityAlert>;

/** A device a user has signed in from, as the user and their admins see it. */
export const UserDevice = z.object({
  id: z.string(),
  userId: EntityId,
  deviceId: z.string(),
  name: z.string().nullable(),
  platform: z.string().nullable(),
  firstSeenAt: Timestamp,
  lastSeenAt: Timestamp,
  lastIp: z.string().nullable(),
  trusted: z.boolean(),
  revokedAt: Timestamp.nullable(),
  /** True for the device of the session asking. */
  current: z.boolean(),
});
export type UserDevice = z.infer<typeof UserDevice>;

export const DeviceRename = z.object({ name: z.string().trim().min(1).max(200) });

/** A sign-in held until a trusted device of the user, or an admin of their locations, decides. */
export const SignInRequest = z.object({
  id: z.string(),
  userId: EntityId,
  username: z.string(),
  deviceName: z.string().nullable(),
  platform: z.string().nullable(),
  ip: z.string().nullable(),
  requestedAt: Timestamp,
  expiresAt: Timestamp,
  status: z.enum(['pending', 'approved', 'denied', 'used']),
});
export type SignInRequest = z.infer<typeof SignInRequest>;

export const SignInDecision = z.object({ approve: z.boolean() });

/** What the held device sends to learn the decision (and, once approved, to receive its session). */
export const SignInPoll = z.object({
  requestId: z.string().min(1).max(64),
  pollToken: z.string().min(1).max(128),
  deviceId: DeviceId,
  /** The device's secret, so the approved device is known from then on. */
  deviceSecret: DeviceSecret.optional(),
});

/** The held device's answer: still waiting, refused, too late, or (once) the session itself. */
export const SignInPollResponse = z.union([
  z.object({ status: z.enum(['pending', 'denied', 'expired']) }),
  LoginResponse,
]);
export type SignInPollResponse = z.infer<typeof SignInPollResponse>;
