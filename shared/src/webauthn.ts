import { z } from 'zod';
import { Timestamp } from './domain';
import { DeviceId, DeviceSecret, Password, TotpCode, Username } from './api';
import { AuthenticationResponseJson, CeremonyId, CredentialId, PollToken, RegistrationResponseJson, WebauthnProof } from './webauthn-credential';

export * from './webauthn-credential';

/*
 * Security keys (WebAuthn / FIDO2) over REST (docs/api.md, "Security keys"; the design is in
 * docs/security-model.md, "Security keys and the relying party").
 * The credential's own JSON shapes are in webauthn-credential.ts.
 */

/**
 * What starting a ceremony answers. The client opens `ceremonyUrl` (the server's own origin,
 * the relying party) in a browser and polls with `pollToken`, which never goes to the browser:
 * like PKCE's verifier (RFC 7636, recommended for native apps by RFC 8252 section 8.1), it
 * makes the ceremony's result useless to anyone who only saw the URL.
 */
export const CeremonyStarted = z.object({
  ceremonyId: CeremonyId,
  pollToken: PollToken,
  ceremonyUrl: z.string().url(),
  expiresAt: Timestamp,
});
export type CeremonyStarted = z.infer<typeof CeremonyStarted>;

/**
 * Re-authentication for adding or removing a factor (ASVS 2.2.3): the password, and one of the
 * user's existing second factors when they have any, in the same request.
 */
export const FactorChangeProof = z.object({
  password: Password,
  totp: TotpCode.optional(),
  webauthn: WebauthnProof.optional(),
});
export type FactorChangeProof = z.infer<typeof FactorChangeProof>;

export const SecurityKeyName = z.string().trim().min(1).max(100);

export const SecurityKeyRegistrationStart = FactorChangeProof.extend({ name: SecurityKeyName });
export type SecurityKeyRegistrationStart = z.infer<typeof SecurityKeyRegistrationStart>;

export const SecurityKeyRename = z.object({ name: SecurityKeyName });

/** Sign-in with a key, step one: the password opens an assertion ceremony for the account. */
export const WebauthnLoginStart = z.object({
  username: z.string().min(1).max(256),
  password: Password,
  deviceId: DeviceId,
  /** The device's secret, so a known device's failures count apart here too. */
  deviceSecret: DeviceSecret.optional(),
});
export type WebauthnLoginStart = z.infer<typeof WebauthnLoginStart>;

/** Step-up for a user whose existing factor is a key: the password opens an assertion ceremony. */
export const WebauthnStepUpStart = z.object({ password: Password });

export const SecurityKey = z.object({
  id: CredentialId,
  name: z.string(),
  createdAt: Timestamp,
  lastUsedAt: Timestamp.nullable(),
  transports: z.array(z.string()),
  /** WebAuthn L3 "backup state": a synced passkey rather than a device-bound key. */
  backedUp: z.boolean(),
});
export type SecurityKey = z.infer<typeof SecurityKey>;

/* ---------------------------------------------------------------- the ceremony page's calls */

export const CeremonyPurpose = z.enum(['register', 'login', 'step_up']);
export type CeremonyPurpose = z.infer<typeof CeremonyPurpose>;

/**
 * The options the page passes to `startRegistration` / `startAuthentication`: W3C L3
 * PublicKeyCredentialCreationOptionsJSON / PublicKeyCredentialRequestOptionsJSON, as the
 * server library produced them (not re-validated here: they come from our own server).
 */
export const CeremonyOptions = z.object({
  purpose: CeremonyPurpose,
  username: Username.optional(),
  options: z.record(z.string(), z.unknown()),
});
export type CeremonyOptions = z.infer<typeof CeremonyOptions>;

/** The page posts the browser's result; its shape depends on the ceremony's purpose. */
export const CeremonyAnswer = z.object({ response: z.union([RegistrationResponseJson, AuthenticationResponseJson]) });

export const CeremonyPoll = z.object({ pollToken: PollToken });

/**
 * What the starter learns by polling: `pending` until the page answers; a registration ends
 * `done` with the new key; an assertion ceremony is `answered` with the assertion to present;
 * `failed` carries a reason the user can act on; `expired` after its few minutes.
 */
export const CeremonyStatus = z.discriminatedUnion('status', [
  z.object({ status: z.literal('pending'), expiresAt: Timestamp }),
  z.object({ status: z.literal('done'), key: SecurityKey }),
  z.object({ status: z.literal('answered'), response: AuthenticationResponseJson }),
  z.object({ status: z.literal('failed'), reason: z.string() }),
  z.object({ status: z.literal('expired') }),
  z.object({ status: z.literal('used') }),
]);
export type CeremonyStatus = z.infer<typeof CeremonyStatus>;
