import type { Kysely } from 'kysely';

/**
 * Integration credentials (docs/security-model.md, "Integration credentials"). No table holds a
 * usable secret: each stores the SHA-256 of the random part of a key, client secret or token
 * (integrations/credential-format.ts), found by its public id.
 *
 * `api_keys`: one row per API key (`id` is the key's public beginning, `dlk_...`). `scopes` is a
 * JSON array of machine permissions, a subset of the integration's at creation. `expires_at` is
 * required. A rotation sets `ends_at` (when the old key stops, the admin's choice, before its
 * expiry) and `replaced_by` (the new key). `revoked_at` ends it at once. `last_used_at` /
 * `last_used_ip` are refreshed at most once a minute.
 *
 * `oauth_clients`: one row per OAuth 2.0 client (`id` is the client id, `dlc_...`), with the hash
 * of its current secret, and during a rotation the previous secret's hash and when it stops.
 *
 * `oauth_tokens`: access tokens issued at /api/v1/oauth/token, stored as hashes (not signed,
 * self-contained tokens): each use must read the client and the integration anyway to see a
 * revocation or a suspension at once, so one indexed read finds the token too, and there is no
 * signing key to manage. Expired rows are deleted as new tokens are issued.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_by_label', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('ends_at', 'bigint')
    .addColumn('replaced_by', 'text')
    .addColumn('revoked_at', 'bigint')
    .addColumn('revoked_by_label', 'text')
    .addColumn('last_used_at', 'bigint')
    .addColumn('last_used_ip', 'text')
    .execute();
  await db.schema.createIndex('api_keys_integration').on('api_keys').columns(['integration_id', 'created_at']).execute();

  await db.schema
    .createTable('oauth_clients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('previous_secret_hash', 'text')
    .addColumn('previous_secret_ends_at', 'bigint')
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_by_label', 'text', (c) => c.notNull())
    // The current secret's expiry; a rotation gives the new secret its own.
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('rotated_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('revoked_by_label', 'text')
    .addColumn('last_used_at', 'bigint')
    .addColumn('last_used_ip', 'text')
    .execute();
  await db.schema.createIndex('oauth_clients_integration').on('oauth_clients').columns(['integration_id', 'created_at']).execute();

  await db.schema
    .createTable('oauth_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull().references('oauth_clients.id'))
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id'))
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('oauth_tokens_expires').on('oauth_tokens').column('expires_at').execute();
  await db.schema.createIndex('oauth_tokens_client').on('oauth_tokens').column('client_id').execute();
}

/* eslint-enable @typescript-eslint/no-explicit-any */
