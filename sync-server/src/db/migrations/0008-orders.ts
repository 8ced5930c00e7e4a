import { type Kysely, sql } from 'kysely';

/**
 * The order a stop carries (docs/sync-protocol.md "Orders"). Customer contact and billing
 * values that identify a person or a payment are field-encrypted like the other `*_enc` columns
 * (email, coordinates, payment reference, failure note); counts, flags, amounts and the order
 * reference are plain, so they can be indexed and summed. Existing stops get no order: no
 * reference, one parcel, no barcodes, no checks, no billing, no failure reason.
 *
 * `stops_order_ref`: an order reference names one stop per location (an import finds the stop
 * to update by it); stops without one are not constrained.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  // One statement per column: SQLite adds a single column per ALTER TABLE.
  const stops = () => db.schema.alterTable('stops');
  await stops().addColumn('order_ref', 'text').execute();
  await stops().addColumn('parcel_count', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await stops().addColumn('barcodes', 'text', (c) => c.notNull().defaultTo('[]')).execute();
  for (const name of ['coordinates_enc', 'email_enc']) await stops().addColumn(name, 'text').execute();
  await stops().addColumn('minimum_age', 'integer').execute();
  await stops().addColumn('id_check', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await stops().addColumn('payment_ref_enc', 'text').execute();
  for (const name of ['cod_amount', 'delivery_fee']) await stops().addColumn(name, 'bigint').execute();
  for (const name of ['currency', 'failure_reason', 'failure_note_enc']) await stops().addColumn(name, 'text').execute();
  await db.schema
    .createIndex('stops_order_ref')
    .unique()
    .on('stops')
    .columns(['location_id', 'order_ref'])
    .where(sql.ref('order_ref'), 'is not', null)
    .execute();
}
