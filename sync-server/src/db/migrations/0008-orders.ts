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
  const columns: [string, 'text' | 'integer' | 'bigint', ((c: any) => any)?][] = [
    ['order_ref', 'text'],
    ['parcel_count', 'integer', (c) => c.notNull().defaultTo(1)],
    ['barcodes', 'text', (c) => c.notNull().defaultTo('[]')],
    ['coordinates_enc', 'text'],
    ['email_enc', 'text'],
    ['minimum_age', 'integer'],
    ['id_check', 'integer', (c) => c.notNull().defaultTo(0)],
    ['payment_ref_enc', 'text'],
    ['cod_amount', 'bigint'],
    ['delivery_fee', 'bigint'],
    ['currency', 'text'],
    ['failure_reason', 'text'],
    ['failure_note_enc', 'text'],
  ];
  // One statement per column: SQLite adds a single column per ALTER TABLE.
  for (const [name, type, build] of columns) {
    await db.schema.alterTable('stops').addColumn(name, type, build ?? ((c) => c)).execute();
  }
  await db.schema
    .createIndex('stops_order_ref')
    .unique()
    .on('stops')
    .columns(['location_id', 'order_ref'])
    .where(sql.ref('order_ref'), 'is not', null)
    .execute();
}
