import type { Kysely } from 'kysely';

/**
 * Orders that integrations send through the REST API (docs/api.md, "Integration API").
 *
 * `idempotency_keys`: one row per `Idempotency-Key` an integration sent with a create, written in
 * the transaction that made the order, so a retried request finds it and is answered with the same
 * order instead of making a second one. The key is stored as a SHA-256 hash (keys are the
 * integration's own strings), the request as a hash of its method, path and body (a reused key with
 * another body is refused), the answer as its status and the id of the stop it made: the order is
 * presented again on a replay, through the integration's data profile as it is then, so no customer
 * data is kept here. Rows expire (`expires_at`) and are pruned.
 *
 * `integration_orders`: the stops an integration created, and which one; an integration updates only
 * the orders it created. (A table beside `stops` rather than a column on it, so every writer of
 * stops goes on as it is.)
 *
 * `audit_log_target`: an order's status history is read from its audit entries.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('location_id', 'text', (c) => c.notNull().references('locations.id'))
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('stop_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['integration_id', 'key_hash'])
    .execute();
  await db.schema.createIndex('idempotency_keys_expires').on('idempotency_keys').column('expires_at').execute();
  await db.schema
    .createTable('integration_orders')
    .addColumn('stop_id', 'text', (c) => c.primaryKey().references('stops.id').onDelete('cascade'))
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('location_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_log_target').on('audit_log').columns(['target_type', 'target_id']).execute();
}
/* eslint-enable @typescript-eslint/no-explicit-any */
