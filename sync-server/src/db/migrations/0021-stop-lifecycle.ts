import { type Kysely, sql } from 'kysely';

/**
 * A stop's life after delivery (docs/security-model.md, "Retention and legal holds").
 *
 * `stops.pseudonymised_at`: when the stop lost its customer's identity (contact details past their
 * period, or an erasure) while its delivery record was kept; null while it still has them.
 * `stops.phone_bidx`, `stops.email_bidx`: keyed hashes of the normalised phone number and email
 * (privacy/blind-index.ts), so a customer's stops are found without decrypting every row; null
 * when there is none or the stop was pseudonymised.
 *
 * Indexes for the purge, which walks each location's records by age: stops by `window_end` (all
 * of them for the delivery class; those still holding contact details for the contact class),
 * live proofs by `created_at`, tracking links by `expires_at`.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('stops').addColumn('pseudonymised_at', 'bigint').execute();
  await db.schema.alterTable('stops').addColumn('phone_bidx', 'text').execute();
  await db.schema.alterTable('stops').addColumn('email_bidx', 'text').execute();
  await db.schema.createIndex('stops_purge').on('stops').columns(['location_id', 'window_end', 'id']).execute();
  await db.schema.createIndex('stops_contact_purge').on('stops').columns(['location_id', 'window_end', 'id'])
    .where(sql.ref('pseudonymised_at'), 'is', null).execute();
  await db.schema.createIndex('proofs_purge').on('proofs').columns(['location_id', 'created_at'])
    .where(sql.ref('deleted_at'), 'is', null).execute();
  // Deleting a stop deletes its webhook deliveries and idempotency records too: found by stop.
  await db.schema.createIndex('webhook_deliveries_stop').on('webhook_deliveries').column('stop_id').execute();
  await db.schema.createIndex('idempotency_keys_stop').on('idempotency_keys').column('stop_id').execute();
  await db.schema.createIndex('tracking_links_purge').on('tracking_links').columns(['location_id', 'expires_at']).execute();
  await db.schema.createIndex('stops_phone_bidx').on('stops').column('phone_bidx').execute();
  await db.schema.createIndex('stops_email_bidx').on('stops').column('email_bidx').execute();
}
/* eslint-enable @typescript-eslint/no-explicit-any */
