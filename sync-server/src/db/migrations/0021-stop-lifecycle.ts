import type { Kysely } from 'kysely';

/**
 * A stop's life after delivery (docs/security-model.md, "Retention and erasure").
 *
 * `stops.pseudonymised_at`: when the stop lost its customer's identity (contact details past their
 * period, or an erasure) while its delivery record was kept; null while it still has them.
 * `stops.phone_bidx`, `stops.email_bidx`: keyed hashes of the normalised phone number and email
 * (privacy/blind-index.ts), so a customer's stops are found without decrypting every row; null
 * when there is none or the stop was pseudonymised.
 *
 * `stops_purge` serves the purge, which walks a location's stops by `window_end`.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('stops').addColumn('pseudonymised_at', 'bigint').execute();
  await db.schema.alterTable('stops').addColumn('phone_bidx', 'text').execute();
  await db.schema.alterTable('stops').addColumn('email_bidx', 'text').execute();
  await db.schema.createIndex('stops_purge').on('stops').columns(['location_id', 'window_end']).execute();
  await db.schema.createIndex('stops_phone_bidx').on('stops').column('phone_bidx').execute();
  await db.schema.createIndex('stops_email_bidx').on('stops').column('email_bidx').execute();
}
/* eslint-enable @typescript-eslint/no-explicit-any */
