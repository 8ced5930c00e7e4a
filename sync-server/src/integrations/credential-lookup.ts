import type { Db } from '../db/database';
import { credentialPrefixes } from './credential-format';

/**
 * What the call log and the unusual-activity rules need to know about credentials (tables of
 * integrations/api-keys.ts and the OAuth client): which client an access token belongs to, and
 * which credentials end soon.
 */

const tokenPrefix = `${credentialPrefixes.accessToken}_`;

/**
 * The OAuth client behind each access token id among `credentialIds`. The log and the baselines
 * name the client: a token lives minutes, so it could never have a usual volume or a known
 * network, and the client is what an admin rotates or revokes.
 */
export async function oauthClientsOfTokens(db: Db, credentialIds: readonly string[]): Promise<Map<string, string>> {
  const tokenIds = [...new Set(credentialIds.filter((id) => id.startsWith(tokenPrefix)))];
  if (tokenIds.length === 0) return new Map();
  const rows = await db.selectFrom('oauth_tokens').select(['id', 'client_id']).where('id', 'in', tokenIds).execute();
  return new Map(rows.map((r) => [r.id, r.client_id]));
}

export interface ExpiringCredential {
  credentialId: string;
  kind: 'api_key' | 'oauth_client';
  /** When it stops working: its expiry, or a rotation's earlier end date. */
  expiresAt: number;
}

/** Those of `credentialIds` (API keys, OAuth clients) still valid but ending within `withinMs` of `now`. */
export async function credentialsNearExpiry(db: Db, credentialIds: readonly string[], now: number, withinMs: number): Promise<ExpiringCredential[]> {
  const ids = [...new Set(credentialIds)];
  if (ids.length === 0) return [];
  const out: ExpiringCredential[] = [];
  const keys = await db.selectFrom('api_keys').select(['id', 'expires_at', 'ends_at']).where('id', 'in', ids).where('revoked_at', 'is', null).execute();
  for (const k of keys) {
    const end = Math.min(Number(k.expires_at), k.ends_at === null ? Infinity : Number(k.ends_at));
    if (end > now && end - now < withinMs) out.push({ credentialId: k.id, kind: 'api_key', expiresAt: end });
  }
  const clients = await db.selectFrom('oauth_clients').select(['id', 'expires_at']).where('id', 'in', ids).where('revoked_at', 'is', null).execute();
  for (const c of clients) {
    const end = Number(c.expires_at);
    if (end > now && end - now < withinMs) out.push({ credentialId: c.id, kind: 'oauth_client', expiresAt: end });
  }
  return out;
}
