import type { Kysely } from 'kysely';

/**
 * Device enrollment (devices/enrollment.ts, docs/security-model.md "Device enrollment"):
 * - `enrollment_tokens`: one-time tokens an administrator hands out; only the SHA-256 of each is kept.
 * - `enrolled_devices`: a console machine that registered its public key with a token, bound to
 *   the token's locations; `revoked_at` ends its sessions and refuses its signatures.
 * - `device_challenges`: the single-use, short-lived nonces a device signs at sign-in.
 * - `enrolled_device_users`: which user's device rows (`user_devices`, by user and device id)
 *   signed in through an enrolled device, so revoking the machine revokes those rows and ends
 *   their sessions with a wipe.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('enrollment_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    // JSON array of location ids
    .addColumn('location_ids', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('used_by_device', 'text')
    .execute();
  await db.schema
    .createTable('enrolled_devices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('public_key', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('platform', 'text')
    .addColumn('location_ids', 'text', (c) => c.notNull())
    .addColumn('token_id', 'text', (c) => c.notNull().references('enrollment_tokens.id'))
    .addColumn('enrolled_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('revoked_by', 'text')
    .execute();
  await db.schema
    .createTable('device_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('enrolled_device_id', 'text', (c) => c.notNull().references('enrolled_devices.id'))
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('device_challenges_expires').on('device_challenges').column('expires_at').execute();
  await db.schema
    .createTable('enrolled_device_users')
    .addColumn('enrolled_device_id', 'text', (c) => c.notNull().references('enrolled_devices.id'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('first_at', 'bigint', (c) => c.notNull())
    .addColumn('last_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('enrolled_device_users_pk', ['enrolled_device_id', 'user_id', 'device_id'])
    .execute();
  await db.schema.createIndex('enrolled_device_users_device').on('enrolled_device_users').columns(['user_id', 'device_id']).execute();
}
/* eslint-enable @typescript-eslint/no-explicit-any */
