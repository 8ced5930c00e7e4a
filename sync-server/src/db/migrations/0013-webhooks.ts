import type { Kysely } from 'kysely';

/**
 * Webhooks (docs/api.md "Webhooks", docs/security-model.md "Webhooks").
 *
 * `webhook_subscriptions`: an integration's receiver: its https URL, the event types it wants
 * (JSON array), its signing secret and, during a rotation, the previous one until
 * `previous_secret_expires_at` (both field-encrypted: the server needs them to sign). `status` is
 * `active`, `paused` (by an admin, or by the server after a day of failures: `pause_reason`) or
 * `deleted` (secrets cleared; the row stays so its delivery log keeps naming it).
 * `failing_since` is the first failure after the last success.
 *
 * `webhook_deliveries`: the outbox. One row per event and subscription, written in the
 * transaction that made the change; its id is the Standard Webhooks `webhook-id`, the same on
 * every attempt. It holds ids and operational values only (`data`: a status change's from/to,
 * never customer data): the payload is built when it is sent, from the stop as it is then and
 * through the integration's data profile. `next_attempt_at` is also the claim: a worker moves it
 * past the attempt's timeout before sending, so a delivery whose sender died is due again.
 * `retry_until`: past it, a failed attempt makes the delivery `dead`.
 *
 * `webhook_attempts`: one row per attempt: its number, when, the HTTP status or the error class,
 * how long it took, and when the next try is due. No body, no headers.
 *
 * `job_leases`: one row per scheduled job that must run in one process at a time (the webhook
 * worker now; other jobs later): who holds it and until when. A holder renews it; when the
 * holder dies its lease expires and another process takes it.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webhook_subscriptions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('secret_enc', 'text')
    .addColumn('previous_secret_enc', 'text')
    .addColumn('previous_secret_expires_at', 'bigint')
    // active | paused | deleted
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('pause_reason', 'text')
    .addColumn('paused_at', 'bigint')
    .addColumn('failing_since', 'bigint')
    .addColumn('last_success_at', 'bigint')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_subscriptions_integration').on('webhook_subscriptions').columns(['integration_id', 'status']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subscription_id', 'text', (c) => c.notNull().references('webhook_subscriptions.id'))
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('location_id', 'text', (c) => c.notNull())
    .addColumn('stop_id', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('retry_until', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    // pending | delivered | dead
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('delivered_at', 'bigint')
    .addColumn('last_attempt_at', 'bigint')
    .addColumn('last_status', 'text')
    .execute();
  await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('webhook_deliveries_subscription').on('webhook_deliveries').columns(['subscription_id', 'created_at']).execute();

  await db.schema
    .createTable('webhook_attempts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('delivery_id', 'text', (c) => c.notNull().references('webhook_deliveries.id').onDelete('cascade'))
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('status_code', 'integer')
    // null on a 2xx; otherwise: http | timeout | connect | address_refused | redirect | tls
    .addColumn('error', 'text')
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('next_retry_at', 'bigint')
    .execute();
  await db.schema.createIndex('webhook_attempts_delivery').on('webhook_attempts').columns(['delivery_id', 'attempt']).execute();
  await db.schema.createIndex('webhook_attempts_integration_at').on('webhook_attempts').columns(['integration_id', 'at']).execute();

  await db.schema
    .createTable('job_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('acquired_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}

/* eslint-enable @typescript-eslint/no-explicit-any */
