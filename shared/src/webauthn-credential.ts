import { z } from 'zod';

/*
 * The JSON shapes of a WebAuthn credential, as W3C WebAuthn Level 3 section 5.1 defines them
 * (RegistrationResponseJSON / AuthenticationResponseJSON, the output of `toJSON()`), which is
 * what @simplewebauthn/browser produces. Binary fields are base64url; every string is bounded
 * so a hostile page cannot post megabytes of "attestation". Kept apart from webauthn.ts so the
 * sign-in request (api.ts) can use the proof without an import cycle.
 */

const B64Url = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+={0,2}$/, 'base64url');

/** A credential id: at most 1023 bytes (WebAuthn L3 section 4, "Credential ID"). */
export const CredentialId = B64Url(1400);

const AuthenticatorAttachment = z.enum(['platform', 'cross-platform']);
const Transport = z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);
/** Only the client extension outputs we know; anything else is dropped on parse. */
const ClientExtensionResults = z.object({
  appid: z.boolean().optional(),
  credProps: z.object({ rk: z.boolean().optional() }).optional(),
  hmacCreateSecret: z.boolean().optional(),
});

export const RegistrationResponseJson = z.object({
  id: CredentialId,
  rawId: CredentialId,
  type: z.literal('public-key'),
  authenticatorAttachment: AuthenticatorAttachment.optional(),
  clientExtensionResults: ClientExtensionResults,
  response: z.object({
    clientDataJSON: B64Url(4096),
    attestationObject: B64Url(32_768),
    authenticatorData: B64Url(16_384).optional(),
    transports: z.array(Transport).max(8).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: B64Url(4096).optional(),
  }),
});
export type RegistrationResponseJson = z.infer<typeof RegistrationResponseJson>;

export const AuthenticationResponseJson = z.object({
  id: CredentialId,
  rawId: CredentialId,
  type: z.literal('public-key'),
  authenticatorAttachment: AuthenticatorAttachment.optional(),
  clientExtensionResults: ClientExtensionResults,
  response: z.object({
    clientDataJSON: B64Url(4096),
    authenticatorData: B64Url(16_384),
    signature: B64Url(2048),
    userHandle: B64Url(256).optional(),
  }),
});
export type AuthenticationResponseJson = z.infer<typeof AuthenticationResponseJson>;

/** A ceremony id (the page's URL fragment) and the poll token only its starter holds. */
export const CeremonyId = z.string().min(16).max(64).regex(/^[A-Za-z0-9_-]+$/);
export const PollToken = z.string().min(16).max(128).regex(/^[A-Za-z0-9_-]+$/);

/**
 * A security-key assertion presented as proof: at sign-in (`LoginRequest.webauthn`) or to
 * step up before changing factors. `response` is what the ceremony produced (the poll hands
 * it back); the server verifies it against the ceremony's challenge, once.
 */
export const WebauthnProof = z.object({
  ceremonyId: CeremonyId,
  pollToken: PollToken,
  response: AuthenticationResponseJson,
});
export type WebauthnProof = z.infer<typeof WebauthnProof>;
