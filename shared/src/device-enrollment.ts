import { z } from 'zod';

/**
 * Device enrollment (docs/api.md "Device enrollment", docs/security-model.md): an administrator
 * issues one-time enrollment tokens (`depotline-admin device enroll-token create`); a console
 * generates an Ed25519 key pair, keeps the private key in the OS key vault and registers the
 * public key with a token. Where the server requires enrolled devices (REQUIRE_ENROLLED_DEVICES),
 * every sign-in carries a signature over a fresh server challenge.
 */

/** An enrollment token as printed once by the CLI: `dle_` and 43 base64url characters (32 random bytes). */
export const EnrollmentToken = z.string().regex(/^dle_[A-Za-z0-9_-]{43}$/, 'an enrollment token is dle_ and 43 url-safe characters');

/** An Ed25519 public key as SPKI DER, base64url. */
export const DevicePublicKey = z.string().regex(/^[A-Za-z0-9_-]{40,200}$/, 'a public key is SPKI DER in base64url');

export const DeviceEnrollRequest = z.object({
  token: EnrollmentToken,
  publicKey: DevicePublicKey,
  name: z.string().trim().min(1).max(200),
  platform: z.string().max(64).optional(),
});
export type DeviceEnrollRequest = z.infer<typeof DeviceEnrollRequest>;

export const EnrolledDevice = z.object({
  id: z.string(),
  name: z.string(),
  platform: z.string().nullable(),
  locationIds: z.array(z.string()),
  enrolledAt: z.number(),
  lastSeenAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
});
export type EnrolledDevice = z.infer<typeof EnrolledDevice>;

export const DeviceEnrollResponse = z.object({ device: EnrolledDevice });
export type DeviceEnrollResponse = z.infer<typeof DeviceEnrollResponse>;

export const DeviceChallengeRequest = z.object({ enrolledDeviceId: z.string().min(1).max(64) });
export type DeviceChallengeRequest = z.infer<typeof DeviceChallengeRequest>;

export const DeviceChallenge = z.object({ challengeId: z.string(), nonce: z.string(), expiresAt: z.number() });
export type DeviceChallenge = z.infer<typeof DeviceChallenge>;

/** Sent with a sign-in: the challenge and the device's Ed25519 signature (base64url) over `deviceSignInMessage`. */
export const DeviceProof = z.object({
  challengeId: z.string().min(1).max(64),
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'an Ed25519 signature is 86 base64url characters'),
});
export type DeviceProof = z.infer<typeof DeviceProof>;

/**
 * What the device signs: the challenge bound to this one sign-in (the username and the
 * profile's device id as sent in the same request), so a signature cannot be moved to another
 * sign-in, user or device. Signed as its UTF-8 bytes.
 */
export function deviceSignInMessage(p: { challengeId: string; nonce: string; username: string; deviceId: string }): string {
  return ['depotline-device-sign-in/v1', p.challengeId, p.nonce, p.username, p.deviceId].join('\n');
}
