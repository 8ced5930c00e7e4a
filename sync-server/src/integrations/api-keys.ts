import type { ApiKeyView, CredentialCreate, CredentialRotate, NewApiKey, RotatedApiKey } from '@depotline/shared';
import type { Granter } from '../access/authority';
import type { ServerConfig } from '../config';
import type { Db } from '../db/database';
import { conflict, notFound } from '../errors';
import {
  auditCredentialChange, integrationForCredentialChange, requireCredentialAuthority, requireRoomForCredential, userIdOf,
} from './credential-admin';
import { mintSecret } from './credential-format';
import { checkExpiry, checkScopesWithin, credentialStatus, overlapEnd, storedScopes } from './credential-policy';
import type { IntegrationRecord } from './records';

/*
 * API keys of integrations (docs/security-model.md, "Integration credentials"). A key is shown
 * once, in the answer that made it; the server keeps the SHA-256 of its secret. Every key
 * expires (at most DEPOTLINE_API_KEY_MAX_DAYS away) and holds scopes among its integration's.
 *
 * Rotation with overlap: `rotate` makes a new key with the same name and scopes and gives the
 * old one an end date the admin chooses (now, or up to DEPOTLINE_ROTATION_OVERLAP_MAX_DAYS away):
 * both work until then, so the partner can switch without a gap. Revocation is immediate.
 */

type KeyRow = {
  id: string; integration_id: string; name: string; scopes: string; created_at: number; created_by_label: string; expires_at: number;
  ends_at: number | null; replaced_by: string | null; revoked_at: number | null; last_used_at: number | null; last_used_ip: string | null;
};

const keyColumns = [
  'id', 'integration_id', 'name', 'scopes', 'created_at', 'created_by_label', 'expires_at', 'ends_at', 'replaced_by', 'revoked_at',
  'last_used_at', 'last_used_ip',
] as const;

const num = (v: number | null): number | null => (v === null ? null : Number(v));

export function presentApiKey(row: KeyRow, now: number): ApiKeyView {
  const expiresAt = Number(row.expires_at);
  const endsAt = num(row.ends_at);
  const revokedAt = num(row.revoked_at);
  return {
    id: row.id, integrationId: row.integration_id, name: row.name, scopes: storedScopes(row.scopes),
    status: credentialStatus({ revoked_at: revokedAt, expires_at: expiresAt, ends_at: endsAt }, now),
    createdAt: Number(row.created_at), createdBy: row.created_by_label, expiresAt, endsAt, replacedBy: row.replaced_by,
    revokedAt, lastUsedAt: num(row.last_used_at), lastUsedIp: row.last_used_ip,
  };
}

async function keyOf(db: Db, integrationId: string, keyId: string): Promise<KeyRow> {
  const row = await db.selectFrom('api_keys').select(keyColumns).where('id', '=', keyId).where('integration_id', '=', integrationId).executeTakeFirst();
  if (!row) throw notFound('The API key');
  return row;
}

/** Keys of the integration that still work at `now` (not revoked, not expired, not past a rotation's end). */
async function liveKeyCount(db: Db, integrationId: string, now: number): Promise<number> {
  const rows = await db.selectFrom('api_keys').select(['expires_at', 'ends_at']).where('integration_id', '=', integrationId).where('revoked_at', 'is', null)
    .where('expires_at', '>', now).execute();
  return rows.filter((r) => r.ends_at === null || Number(r.ends_at) > now).length;
}

async function insertKey(
  trx: Db, granter: Granter, integration: IntegrationRecord, fields: { name: string; scopes: readonly string[]; expiresAt: number }, now: number,
): Promise<{ row: KeyRow; secret: string }> {
  const minted = mintSecret('apiKey');
  const row: KeyRow = {
    id: minted.id, integration_id: integration.id, name: fields.name, scopes: JSON.stringify(fields.scopes), created_at: now,
    created_by_label: granter.actor.label, expires_at: fields.expiresAt, ends_at: null, replaced_by: null, revoked_at: null,
    last_used_at: null, last_used_ip: null,
  };
  await trx.insertInto('api_keys').values({ ...row, secret_hash: minted.secretHash, created_by: userIdOf(granter), revoked_by_label: null }).execute();
  return { row, secret: minted.text };
}

/** The integration's permissions at any location: what its credentials may be scoped to. */
const heldScopes = (integration: IntegrationRecord) => new Set(integration.scopes.flatMap((s) => s.permissions));

export async function applyApiKeyCreate(
  trx: Db, config: Pick<ServerConfig, 'integrationCredentials'>, granter: Granter, integrationId: string, input: CredentialCreate, now: number,
): Promise<NewApiKey> {
  const integration = await integrationForCredentialChange(trx, granter, integrationId, 'integration.key.create', now);
  const scopes = checkScopesWithin(input.scopes, heldScopes(integration));
  requireCredentialAuthority(granter, integration, scopes, 'integration.key.create', now);
  const expiresAt = checkExpiry(config, input.expiresAt, now);
  requireRoomForCredential(await liveKeyCount(trx, integration.id, now), 'API keys');
  const { row, secret } = await insertKey(trx, granter, integration, { name: input.name, scopes, expiresAt }, now);
  await auditCredentialChange(trx, granter, integration, 'integration.key.create', { type: 'api_key', id: row.id }, { name: row.name, scopes, expiresAt }, now);
  return { key: presentApiKey(row, now), secret };
}

export async function listApiKeys(db: Db, granter: Granter, integrationId: string, now: number): Promise<ApiKeyView[]> {
  const integration = await integrationForCredentialChange(db, granter, integrationId, 'integration.key.list', now);
  const rows = await db.selectFrom('api_keys').select(keyColumns).where('integration_id', '=', integration.id)
    .orderBy('created_at', 'desc').orderBy('id').limit(500).execute();
  return rows.map((r) => presentApiKey(r, now));
}

/**
 * A new key with the old one's name and scopes (still within the integration's: a scope the
 * integration lost is dropped, and none left is refused); the old key works until `oldEndsAt`.
 */
export async function applyApiKeyRotate(
  trx: Db, config: Pick<ServerConfig, 'integrationCredentials'>, granter: Granter, integrationId: string, keyId: string, input: CredentialRotate, now: number,
): Promise<RotatedApiKey> {
  const integration = await integrationForCredentialChange(trx, granter, integrationId, 'integration.key.rotate', now);
  const old = await keyOf(trx, integration.id, keyId);
  const status = credentialStatus(old, now);
  if (status === 'revoked' || status === 'expired') throw conflict(`The API key is ${status}: make a new key instead.`);
  if (old.replaced_by !== null) throw conflict(`The API key was already rotated (to ${old.replaced_by}); rotate that one.`);
  const held = heldScopes(integration);
  const scopes = storedScopes(old.scopes).filter((s) => held.has(s));
  if (scopes.length === 0) throw conflict('The integration no longer holds any of this key\u2019s scopes: make a new key instead.');
  requireCredentialAuthority(granter, integration, scopes, 'integration.key.rotate', now);
  const expiresAt = checkExpiry(config, input.expiresAt ?? Number(old.expires_at), now);
  const endsAt = overlapEnd(config, input.oldEndsAt, Number(old.expires_at), now);
  // The new key replaces the old one in the count: a rotation is possible at the limit.
  requireRoomForCredential((await liveKeyCount(trx, integration.id, now)) - 1, 'API keys');
  const { row, secret } = await insertKey(trx, granter, integration, { name: old.name, scopes, expiresAt }, now);
  const claimed = await trx.updateTable('api_keys').set({ ends_at: endsAt, replaced_by: row.id })
    .where('id', '=', old.id).where('replaced_by', 'is', null).where('revoked_at', 'is', null).executeTakeFirst();
  // Two rotations of one key at once: the second finds it taken and rolls back.
  if (Number(claimed.numUpdatedRows) !== 1) throw conflict('The API key was rotated or revoked meanwhile.');
  await auditCredentialChange(trx, granter, integration, 'integration.key.rotate', { type: 'api_key', id: old.id }, { newKeyId: row.id, oldEndsAt: endsAt, scopes, expiresAt }, now);
  return { key: presentApiKey(row, now), secret, previous: presentApiKey({ ...old, ends_at: endsAt, replaced_by: row.id }, now) };
}

/** Revokes a key at once. Revoking a revoked key changes nothing. */
export async function applyApiKeyRevoke(trx: Db, granter: Granter, integrationId: string, keyId: string, now: number): Promise<ApiKeyView> {
  const integration = await integrationForCredentialChange(trx, granter, integrationId, 'integration.key.revoke', now);
  const key = await keyOf(trx, integration.id, keyId);
  if (key.revoked_at !== null) return presentApiKey(key, now);
  await trx.updateTable('api_keys').set({ revoked_at: now, revoked_by_label: granter.actor.label }).where('id', '=', key.id).execute();
  await auditCredentialChange(trx, granter, integration, 'integration.key.revoke', { type: 'api_key', id: key.id }, { name: key.name }, now);
  return presentApiKey({ ...key, revoked_at: now }, now);
}
