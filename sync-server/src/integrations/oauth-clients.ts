import type { CredentialCreate, CredentialRotate, NewOAuthClientSecret, OAuthClientView } from '@depotline/shared';
import type { Granter } from '../access/authority';
import type { ServerConfig } from '../config';
import type { Db } from '../db/database';
import { conflict, notFound } from '../errors';
import {
  auditCredentialChange, integrationForCredentialChange, requireCredentialAuthority, requireRoomForCredential, userIdOf,
} from './credential-admin';
import { mintSecret, newClientId } from './credential-format';
import { checkExpiry, checkScopesWithin, credentialStatus, overlapEnd, storedScopes } from './credential-policy';

/*
 * OAuth 2.0 clients of integrations (RFC 6749 section 4.4, client credentials; the token
 * endpoint is http/api/oauth-token.ts). A client is an id (`dlc_...`, not a secret), a secret
 * shown once and kept as its SHA-256, scopes among the integration's, and an expiry like an API
 * key's. Rotating gives the client a new secret; the previous one keeps working until the end
 * the admin chose, so the partner can switch without a gap. Revoking a client ends it and every
 * access token it was issued, at once.
 */

type ClientRow = {
  id: string; integration_id: string; name: string; scopes: string; created_at: number; created_by_label: string; expires_at: number;
  previous_secret_ends_at: number | null; revoked_at: number | null; last_used_at: number | null; last_used_ip: string | null;
};

const clientColumns = [
  'id', 'integration_id', 'name', 'scopes', 'created_at', 'created_by_label', 'expires_at', 'previous_secret_ends_at', 'revoked_at',
  'last_used_at', 'last_used_ip',
] as const;

const num = (v: number | null): number | null => (v === null ? null : Number(v));

export function presentOAuthClient(row: ClientRow, now: number): OAuthClientView {
  const expiresAt = Number(row.expires_at);
  const revokedAt = num(row.revoked_at);
  const previousEndsAt = num(row.previous_secret_ends_at);
  const status = credentialStatus({ revoked_at: revokedAt, expires_at: expiresAt, ends_at: null }, now);
  return {
    id: row.id, integrationId: row.integration_id, name: row.name, scopes: storedScopes(row.scopes), status,
    createdAt: Number(row.created_at), createdBy: row.created_by_label, expiresAt, revokedAt,
    previousSecretEndsAt: previousEndsAt !== null && previousEndsAt > now ? previousEndsAt : null,
    lastUsedAt: num(row.last_used_at), lastUsedIp: row.last_used_ip,
  };
}

async function clientOf(db: Db, integrationId: string, clientId: string): Promise<ClientRow> {
  const row = await db.selectFrom('oauth_clients').select(clientColumns).where('id', '=', clientId).where('integration_id', '=', integrationId).executeTakeFirst();
  if (!row) throw notFound('The OAuth client');
  return row;
}

async function liveClientCount(db: Db, integrationId: string, now: number): Promise<number> {
  const row = await db.selectFrom('oauth_clients').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('integration_id', '=', integrationId).where('revoked_at', 'is', null).where('expires_at', '>', now).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function applyOAuthClientCreate(
  trx: Db, config: Pick<ServerConfig, 'integrationCredentials'>, granter: Granter, integrationId: string, input: CredentialCreate, now: number,
): Promise<NewOAuthClientSecret> {
  const integration = await integrationForCredentialChange(trx, granter, integrationId, 'integration.oauthClient.create', now);
  const scopes = checkScopesWithin(input.scopes, new Set(integration.scopes.flatMap((s) => s.permissions)));
  requireCredentialAuthority(granter, integration, scopes, 'integration.oauthClient.create', now);
  const expiresAt = checkExpiry(config, input.expiresAt, now);
  requireRoomForCredential(await liveClientCount(trx, integration.id, now), 'OAuth clients');
  const minted = mintSecret('clientSecret');
  const row: ClientRow = {
    id: newClientId(), integration_id: integration.id, name: input.name, scopes: JSON.stringify(scopes), created_at: now,
    created_by_label: granter.actor.label, expires_at: expiresAt, previous_secret_ends_at: null, revoked_at: null, last_used_at: null, last_used_ip: null,
  };
  await trx.insertInto('oauth_clients').values({
    ...row, secret_hash: minted.secretHash, previous_secret_hash: null, created_by: userIdOf(granter), rotated_at: null, revoked_by_label: null,
  }).execute();
  await auditCredentialChange(trx, granter, integration, 'integration.oauthClient.create', { type: 'oauth_client', id: row.id }, { name: row.name, scopes, expiresAt }, now);
  return { client: presentOAuthClient(row, now), clientSecret: minted.text };
}

export async function listOAuthClients(db: Db, granter: Granter, integrationId: string, now: number): Promise<OAuthClientView[]> {
  const integration = await integrationForCredentialChange(db, granter, integrationId, 'integration.oauthClient.list', now);
  const rows = await db.selectFrom('oauth_clients').select(clientColumns).where('integration_id', '=', integration.id)
    .orderBy('created_at', 'desc').orderBy('id').limit(500).execute();
  return rows.map((r) => presentOAuthClient(r, now));
}

/**
 * A new secret for the client; the current one becomes the previous and works until `oldEndsAt`.
 * Refused while an earlier rotation's overlap still runs: a third secret would end the second
 * without the admin choosing when.
 */
export async function applyOAuthClientRotate(
  trx: Db, config: Pick<ServerConfig, 'integrationCredentials'>, granter: Granter, integrationId: string, clientId: string, input: CredentialRotate, now: number,
): Promise<NewOAuthClientSecret> {
  const integration = await integrationForCredentialChange(trx, granter, integrationId, 'integration.oauthClient.rotate', now);
  const client = await clientOf(trx, integration.id, clientId);
  requireCredentialAuthority(granter, integration, storedScopes(client.scopes), 'integration.oauthClient.rotate', now);
  const status = credentialStatus({ ...client, ends_at: null }, now);
  if (status !== 'active') throw conflict(`The OAuth client is ${status}: make a new client instead.`);
  if (client.previous_secret_ends_at !== null && Number(client.previous_secret_ends_at) > now) {
    throw conflict('The previous secret of this client still works (an earlier rotation); wait until it ends, or revoke the client.');
  }
  const expiresAt = checkExpiry(config, input.expiresAt ?? Number(client.expires_at), now);
  const endsAt = overlapEnd(config, input.oldEndsAt, Number(client.expires_at), now);
  const minted = mintSecret('clientSecret');
  const current = await trx.selectFrom('oauth_clients').select('secret_hash').where('id', '=', client.id).executeTakeFirstOrThrow();
  const updated = await trx.updateTable('oauth_clients').set({
    secret_hash: minted.secretHash, previous_secret_hash: current.secret_hash, previous_secret_ends_at: endsAt, expires_at: expiresAt, rotated_at: now,
  }).where('id', '=', client.id).where('secret_hash', '=', current.secret_hash).where('revoked_at', 'is', null).executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) throw conflict('The OAuth client was rotated or revoked meanwhile.');
  await auditCredentialChange(trx, granter, integration, 'integration.oauthClient.rotate', { type: 'oauth_client', id: client.id }, { oldEndsAt: endsAt, expiresAt }, now);
  return { client: presentOAuthClient({ ...client, expires_at: expiresAt, previous_secret_ends_at: endsAt }, now), clientSecret: minted.text };
}

/** Revokes the client and, with it, every access token it was issued: each use of a token reads its client. */
export async function applyOAuthClientRevoke(trx: Db, granter: Granter, integrationId: string, clientId: string, now: number): Promise<OAuthClientView> {
  const integration = await integrationForCredentialChange(trx, granter, integrationId, 'integration.oauthClient.revoke', now);
  const client = await clientOf(trx, integration.id, clientId);
  if (client.revoked_at !== null) return presentOAuthClient(client, now);
  await trx.updateTable('oauth_clients').set({ revoked_at: now, revoked_by_label: granter.actor.label }).where('id', '=', client.id).execute();
  await auditCredentialChange(trx, granter, integration, 'integration.oauthClient.revoke', { type: 'oauth_client', id: client.id }, { name: client.name }, now);
  return presentOAuthClient({ ...client, revoked_at: now }, now);
}
