import { isMachinePermission, type MachinePermission, type OAuthTokenResponse } from '@depotline/shared';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { isClientId, mintSecret, parseSecret, secretMatches, unknownSecretHash } from './credential-format';
import { storedScopes } from './credential-policy';
import { parseIpAllowlist } from './records';

/*
 * The OAuth 2.0 client credentials grant (RFC 6749 section 4.4) behind /api/v1/oauth/token
 * (http/api/oauth-token.ts reads the request and writes the answer): the client is
 * authenticated by its id and secret (the current one, or the previous one during a rotation's
 * overlap), the requested scope is narrowed to the client's, and an access token bound to the
 * client and its integration is issued for DEPOTLINE_OAUTH_TOKEN_TTL_S.
 *
 * Access tokens are opaque (`dlt_...`) and stored as the SHA-256 of their secret, not signed
 * and self-contained: every use must read the client and the integration anyway, to see a
 * revocation or a suspension at once, and the same indexed read finds the token. There is no
 * signing key to keep, rotate or leak, and a token says nothing to whoever finds one.
 */

export interface AuthenticatedClient {
  id: string;
  integrationId: string;
  integrationName: string;
  integrationSuspended: boolean;
  /** The integration's address allowlist (integrations/allowlist.ts): the token endpoint applies it too. */
  integrationAllowlist: string[];
  scopes: MachinePermission[];
}

/** Why a client was not authenticated: audited, never told (every one is `invalid_client`). */
export type ClientRefusal = 'malformed' | 'unknown' | 'secret' | 'revoked' | 'expired';

/**
 * Finds the client and checks its secret. An unknown client costs the same work as a known one
 * with a wrong secret (one read, one hash comparison), and both are answered alike, so the
 * endpoint does not tell which client ids exist.
 */
export async function authenticateClient(db: Db, clientId: string, clientSecret: string, now: number): Promise<{ ok: true; client: AuthenticatedClient } | { ok: false; reason: ClientRefusal }> {
  const parsed = parseSecret(clientSecret);
  const secret = parsed.ok && parsed.kind === 'clientSecret' ? parsed.secret : clientSecret;
  const row = isClientId(clientId)
    ? await db.selectFrom('oauth_clients').innerJoin('integrations', 'integrations.id', 'oauth_clients.integration_id')
      .select([
        'oauth_clients.id', 'oauth_clients.integration_id', 'oauth_clients.secret_hash', 'oauth_clients.previous_secret_hash',
        'oauth_clients.previous_secret_ends_at', 'oauth_clients.scopes', 'oauth_clients.expires_at', 'oauth_clients.revoked_at',
        'integrations.name as integration_name', 'integrations.suspended_at', 'integrations.ip_allowlist',
      ])
      .where('oauth_clients.id', '=', clientId).executeTakeFirst()
    : undefined;
  const current = secretMatches(secret, row?.secret_hash ?? unknownSecretHash);
  const previous = row?.previous_secret_hash != null && row.previous_secret_ends_at !== null && Number(row.previous_secret_ends_at) > now
    && secretMatches(secret, row.previous_secret_hash);
  if (!row) return { ok: false, reason: isClientId(clientId) ? 'unknown' : 'malformed' };
  if (!parsed.ok || parsed.kind !== 'clientSecret' || !(current || previous)) return { ok: false, reason: 'secret' };
  if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
  if (Number(row.expires_at) <= now) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    client: {
      id: row.id, integrationId: row.integration_id, integrationName: row.integration_name, integrationSuspended: row.suspended_at !== null,
      integrationAllowlist: parseIpAllowlist(row.ip_allowlist), scopes: storedScopes(row.scopes),
    },
  };
}

/** RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by single spaces. */
const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The scopes a token gets: those requested, each of which the client must hold (else
 * `invalid_scope`, RFC 6749 section 5.2), or all the client's when none is requested.
 */
export function narrowScopes(requested: string | undefined, held: readonly MachinePermission[]): { ok: true; scopes: MachinePermission[] } | { ok: false; description: string } {
  if (requested === undefined || requested === '') return { ok: true, scopes: [...held] };
  const tokens = requested.split(' ');
  if (tokens.some((t) => !scopeToken.test(t))) return { ok: false, description: 'The scope is malformed: scope names separated by single spaces.' };
  const unknown = tokens.filter((t) => !isMachinePermission(t) || !held.includes(t));
  if (unknown.length > 0) return { ok: false, description: `The client does not hold ${unknown.slice(0, 5).map((t) => t.slice(0, 64)).join(', ')}.` };
  return { ok: true, scopes: held.filter((s) => tokens.includes(s)) };
}

/** Expired tokens are kept this long (their ids still name their client in the call log), then deleted. */
const keepExpiredMs = 3_600_000;

export async function issueAccessToken(trx: Db, ctx: Pick<ServerContext, 'config'>, client: AuthenticatedClient, scopes: readonly MachinePermission[], now: number): Promise<OAuthTokenResponse & { id: string }> {
  const ttlS = ctx.config.integrationCredentials.oauthTokenTtlS;
  const minted = mintSecret('accessToken');
  await trx.deleteFrom('oauth_tokens').where('expires_at', '<', now - keepExpiredMs).execute();
  await trx.insertInto('oauth_tokens').values({
    id: minted.id, client_id: client.id, integration_id: client.integrationId, secret_hash: minted.secretHash, scopes: JSON.stringify(scopes),
    issued_at: now, expires_at: now + ttlS * 1000,
  }).execute();
  return { id: minted.id, access_token: minted.text, token_type: 'Bearer', expires_in: ttlS, scope: scopes.join(' ') };
}
