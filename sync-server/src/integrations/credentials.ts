import type { Permission } from '@depotline/shared';
import { auditRefusal } from '../audit/refusal-digest';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { AppError, invalidMachineCredential } from '../errors';
import { parseSecret, secretMatches, unknownSecretHash } from './credential-format';
import { storedScopes } from './credential-policy';

/**
 * Who is calling the integration API: an integration, through one of its credentials (an API
 * key, or an OAuth 2.0 access token: then `id` is the token's id, `dlt_...`, and `clientId` its
 * client's), with the scopes that credential carries. The scopes were within the integration's
 * when the credential was made; the endpoint still intersects them with the integration's
 * current scopes, so narrowing the integration narrows every credential at once.
 */
export interface MachinePrincipal {
  integrationId: string;
  credential: { kind: 'api_key' | 'oauth_token'; id: string; clientId?: string };
  scopes: readonly Permission[];
}

/**
 * A refused credential: the one answer (401, `WWW-Authenticate: Bearer error="invalid_token"`,
 * RFC 6750 section 3.1) whatever was wrong. When the credential named a known integration
 * (revoked, expired, past its rotation's end), `integrationId` and `credentialId` say which, for
 * the call log; they are never sent.
 */
export class MachineCredentialRefused extends AppError {
  constructor(readonly integrationId: string | null, readonly credentialId: string | null) {
    const base = invalidMachineCredential();
    super(base.code, base.status, base.message);
    this.headers = base.headers;
  }
}

type Refusal = 'missing' | 'malformed' | 'checksum' | 'unknown' | 'secret' | 'revoked' | 'expired' | 'rotated' | 'client revoked' | 'client expired';

// RFC 6750 section 2.1: the scheme is case-insensitive; our credentials are base62 and `_` only.
const bearer = /^Bearer +([A-Za-z0-9_]{1,200})$/i;

/** Last use is written at most this often per credential: a busy key does not write on every call. */
export const lastUseWriteEveryMs = 60_000;

interface Found {
  integrationId: string;
  integrationName: string;
  credential: MachinePrincipal['credential'];
  scopes: Permission[];
  /** Null when the credential works; otherwise why not. */
  refusal: Refusal | null;
  /** The row whose last use to record (the key, or the token's client). */
  touch: { table: 'api_keys' | 'oauth_clients'; id: string; lastUsedAt: number | null };
}

async function findApiKey(db: Db, id: string, secret: string, now: number): Promise<Found | null> {
  const row = await db.selectFrom('api_keys').innerJoin('integrations', 'integrations.id', 'api_keys.integration_id')
    .select([
      'api_keys.id', 'api_keys.integration_id', 'api_keys.secret_hash', 'api_keys.scopes', 'api_keys.expires_at', 'api_keys.ends_at',
      'api_keys.revoked_at', 'api_keys.last_used_at', 'integrations.name as integration_name',
    ])
    .where('api_keys.id', '=', id).executeTakeFirst();
  const matches = secretMatches(secret, row?.secret_hash ?? unknownSecretHash);
  if (!row) return null;
  const refusal: Refusal | null = !matches ? 'secret'
    : row.revoked_at !== null ? 'revoked'
      : Number(row.expires_at) <= now ? 'expired'
        : row.ends_at !== null && Number(row.ends_at) <= now ? 'rotated' : null;
  return {
    integrationId: row.integration_id, integrationName: row.integration_name, credential: { kind: 'api_key', id: row.id },
    scopes: storedScopes(row.scopes), refusal, touch: { table: 'api_keys', id: row.id, lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at) },
  };
}

async function findAccessToken(db: Db, id: string, secret: string, now: number): Promise<Found | null> {
  const row = await db.selectFrom('oauth_tokens')
    .innerJoin('oauth_clients', 'oauth_clients.id', 'oauth_tokens.client_id')
    .innerJoin('integrations', 'integrations.id', 'oauth_clients.integration_id')
    .select([
      'oauth_tokens.id', 'oauth_tokens.client_id', 'oauth_tokens.integration_id', 'oauth_tokens.secret_hash', 'oauth_tokens.scopes',
      'oauth_tokens.expires_at', 'oauth_clients.integration_id as client_integration_id', 'oauth_clients.scopes as client_scopes',
      'oauth_clients.revoked_at as client_revoked_at', 'oauth_clients.expires_at as client_expires_at', 'oauth_clients.last_used_at',
      'integrations.name as integration_name',
    ])
    .where('oauth_tokens.id', '=', id).executeTakeFirst();
  const matches = secretMatches(secret, row?.secret_hash ?? unknownSecretHash);
  if (!row) return null;
  // Bound to its integration: a token whose client belongs elsewhere is no token.
  const refusal: Refusal | null = !matches || row.integration_id !== row.client_integration_id ? 'secret'
    : Number(row.expires_at) <= now ? 'expired'
      : row.client_revoked_at !== null ? 'client revoked'
        : Number(row.client_expires_at) <= now ? 'client expired' : null;
  const clientScopes = new Set(storedScopes(row.client_scopes));
  return {
    integrationId: row.client_integration_id, integrationName: row.integration_name,
    credential: { kind: 'oauth_token', id: row.id, clientId: row.client_id },
    scopes: storedScopes(row.scopes).filter((s) => clientScopes.has(s)), refusal,
    touch: { table: 'oauth_clients', id: row.client_id, lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at) },
  };
}

/**
 * Records when and from where a credential was last used, at most once a minute per credential
 * (the condition is in the update, so several server processes do not all write). A failure is
 * logged and never fails the call.
 */
async function touchLastUse(ctx: ServerContext, touch: Found['touch'], ip: string | null, now: number): Promise<void> {
  if (touch.lastUsedAt !== null && now - touch.lastUsedAt < lastUseWriteEveryMs) return;
  try {
    await ctx.db.updateTable(touch.table).set({ last_used_at: now, last_used_ip: ip }).where('id', '=', touch.id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', now - lastUseWriteEveryMs)])).execute();
  } catch (err) {
    ctx.log.error('recording a credential\u2019s last use failed', { credential: touch.id, err: String(err) });
  }
}

/**
 * A refused machine authentication, audited with the public id at most (never the secret): the
 * first of its kind from a network each minute at once, the rest of that minute as one digest.
 */
async function refuse(ctx: ServerContext, ip: string | null, now: number, reason: Refusal, who: { kind: string | null; id: string | null; found: Found | null }): Promise<never> {
  const found = who.found;
  // Whoever showed a wrong secret is not the integration, though the id they used names it.
  const asIntegration = found !== null && reason !== 'secret';
  // Digested per network, reason and integration per minute (audit/refusal-digest.ts): a flood writes no row per request.
  await auditRefusal(ctx, {
    userId: null, label: asIntegration ? `integration:${found.integrationName}` : 'anonymous', deviceId: null, ip,
  }, {
    action: 'integration.authenticate', outcome: 'denied', targetType: found ? 'integration' : null, targetId: found?.integrationId ?? null,
    details: { reason, credentialKind: who.kind, credentialId: who.id },
  }, reason, now);
  throw new MachineCredentialRefused(found?.integrationId ?? null, found ? who.id : null);
}

/**
 * The one check behind every integration API call: `Authorization: Bearer <API key or OAuth
 * access token>`. A key or token is read from that header only (never a query or body: URLs end
 * up in logs, RFC 6750 section 5.3). Anything wrong (missing, malformed, bad checksum, unknown,
 * wrong secret, revoked, expired, past its rotation's end, its OAuth client revoked or expired)
 * is 401 with `WWW-Authenticate: Bearer error="invalid_token"` and an audit entry saying why.
 * Whether the integration is suspended, and whether the address is allowed, is the endpoint's
 * next step (http/integration-endpoint.ts), answered 403 as the integration.
 */
export async function authenticateMachine(ctx: ServerContext, authorization: string | undefined, ip: string | null, now: number): Promise<MachinePrincipal> {
  const match = authorization ? bearer.exec(authorization.trim()) : null;
  if (!match) return refuse(ctx, ip, now, authorization ? 'malformed' : 'missing', { kind: null, id: null, found: null });
  const parsed = parseSecret(match[1]!);
  if (!parsed.ok || parsed.kind === 'clientSecret') {
    const reason = parsed.ok ? 'malformed' : parsed.reason;
    return refuse(ctx, ip, now, reason, { kind: parsed.kind, id: parsed.ok ? null : parsed.id, found: null });
  }
  const found = parsed.kind === 'apiKey'
    ? await findApiKey(ctx.db, parsed.id, parsed.secret, now)
    : await findAccessToken(ctx.db, parsed.id, parsed.secret, now);
  if (!found) return refuse(ctx, ip, now, 'unknown', { kind: parsed.kind, id: parsed.id, found: null });
  if (found.refusal) return refuse(ctx, ip, now, found.refusal, { kind: parsed.kind, id: parsed.id, found });
  await touchLastUse(ctx, found.touch, ip, now);
  return { integrationId: found.integrationId, credential: found.credential, scopes: found.scopes };
}
