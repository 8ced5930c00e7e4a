import { z } from 'zod';
import { Timestamp } from './domain';
import { MachinePermissionName } from './integrations';
import { machinePermissions } from './permissions';

/*
 * Integration credentials (docs/api.md "Integration credentials"; docs/security-model.md):
 * API keys and OAuth 2.0 clients of an integration, under
 * /api/v1/integrations/:integrationId/keys and /oauth-clients. A secret is in exactly one answer,
 * the one that made it (`secret`); no other view has a field that could carry it.
 */

/** An API key's id: its public beginning, `dlk_` and 16 letters or digits. */
export const ApiKeyId = z.string().regex(/^dlk_[0-9A-Za-z]{16}$/, 'an API key id looks like dlk_ and 16 letters or digits');
/** An OAuth 2.0 client id: `dlc_` and 16 letters or digits. */
export const OAuthClientId = z.string().regex(/^dlc_[0-9A-Za-z]{16}$/, 'an OAuth client id looks like dlc_ and 16 letters or digits');

const CredentialName = z.string().trim().min(1).max(100);

/** Scopes of one credential: machine permissions, each once; the server refuses any the integration does not hold. */
export const CredentialScopes = z.array(MachinePermissionName).min(1).max(machinePermissions.length)
  .refine((xs) => new Set(xs).size === xs.length, 'scopes are listed once each');

/** `POST .../keys` and `POST .../oauth-clients`. `expiresAt` is required, at most the policy maximum away. */
export const CredentialCreate = z.object({
  name: CredentialName,
  scopes: CredentialScopes,
  expiresAt: Timestamp,
}).strict();
export type CredentialCreate = z.infer<typeof CredentialCreate>;

/**
 * `POST .../keys/:keyId/rotate` and `.../oauth-clients/:clientId/rotate`: a new secret (for a key,
 * a new key with the same scopes), and the old one keeps working until `oldEndsAt` (now or later,
 * at most the overlap maximum away). `expiresAt` is the new secret's expiry; omitted, the old one's.
 */
export const CredentialRotate = z.object({
  oldEndsAt: Timestamp,
  expiresAt: Timestamp.optional(),
}).strict();
export type CredentialRotate = z.infer<typeof CredentialRotate>;

export const credentialStatuses = ['active', 'ending', 'expired', 'revoked'] as const;

const CredentialBase = z.object({
  integrationId: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(machinePermissions)),
  /** `ending`: rotated, working until `endsAt`; `expired`: past its expiry or its rotation end. */
  status: z.enum(credentialStatuses),
  createdAt: Timestamp,
  createdBy: z.string(),
  expiresAt: Timestamp,
  revokedAt: Timestamp.nullable(),
  lastUsedAt: Timestamp.nullable(),
  lastUsedIp: z.string().nullable(),
});

export const ApiKeyView = CredentialBase.extend({
  /** The key's public beginning: the key starts with it, so an admin can match a key to its row. */
  id: z.string(),
  /** Set by a rotation: the key stops working then, beside `replacedBy`. */
  endsAt: Timestamp.nullable(),
  replacedBy: z.string().nullable(),
});
export type ApiKeyView = z.infer<typeof ApiKeyView>;

export const OAuthClientView = CredentialBase.extend({
  /** The `client_id` (not a secret). */
  id: z.string(),
  /** During a secret rotation the previous secret works until then. */
  previousSecretEndsAt: Timestamp.nullable(),
});
export type OAuthClientView = z.infer<typeof OAuthClientView>;

/** The answer that made a key: the key itself, shown this once. */
export const NewApiKey = z.object({ key: ApiKeyView, secret: z.string() });
export type NewApiKey = z.infer<typeof NewApiKey>;
/** The answer of a key rotation: the new key (shown once) and the old one with its end. */
export const RotatedApiKey = NewApiKey.extend({ previous: ApiKeyView });
export type RotatedApiKey = z.infer<typeof RotatedApiKey>;
export const NewOAuthClientSecret = z.object({ client: OAuthClientView, clientSecret: z.string() });
export type NewOAuthClientSecret = z.infer<typeof NewOAuthClientSecret>;

export const ApiKeyList = z.object({ keys: z.array(ApiKeyView) });
export const OAuthClientList = z.object({ clients: z.array(OAuthClientView) });

/** RFC 6749 section 5.1: the token endpoint's answer. */
export const OAuthTokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().positive(),
  scope: z.string(),
});
export type OAuthTokenResponse = z.infer<typeof OAuthTokenResponse>;

/** RFC 6749 section 5.2: the token endpoint's errors. */
export const oauthErrorCodes = ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'] as const;
export const OAuthErrorResponse = z.object({ error: z.enum(oauthErrorCodes), error_description: z.string().optional() });
export type OAuthErrorResponse = z.infer<typeof OAuthErrorResponse>;
