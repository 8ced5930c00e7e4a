import type { Kysely } from 'kysely';

/**
 * Delivery PIN and regulated-goods checks (docs/security-model.md, "Delivery PIN and regulated
 * goods").
 *
 * On `stops`: whether the order requires a PIN (`pin_required`), the PIN as a keyed HMAC for
 * checking (`pin_hash`) and field-encrypted for the tracking page alone (`pin_enc`), the wrong
 * tries so far (`pin_failures`; at the limit the stop is locked until a dispatcher unlocks it),
 * when it was verified, and which kind of check passed (`check_passed`: `age` or `id`).
 *
 * `delivery_checks`: each age or ID check a driver recorded: the document's type, pass or fail,
 * and for an age check only whether the person is over the threshold. Never a document number,
 * a name or a date of birth.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('stops').addColumn('pin_required', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('stops').addColumn('pin_hash', 'text').execute();
  await db.schema.alterTable('stops').addColumn('pin_enc', 'text').execute();
  await db.schema.alterTable('stops').addColumn('pin_failures', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('stops').addColumn('pin_verified_at', 'bigint').execute();
  await db.schema.alterTable('stops').addColumn('check_passed', 'text').execute();

  await db.schema
    .createTable('delivery_checks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('stop_id', 'text', (c) => c.notNull().references('stops.id'))
    .addColumn('location_id', 'text', (c) => c.notNull().references('locations.id'))
    // `age` or `id`
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('document_type', 'text', (c) => c.notNull())
    // `pass` or `fail`
    .addColumn('result', 'text', (c) => c.notNull())
    // 0 or 1 for an age check, null for an ID check
    .addColumn('over_threshold', 'integer')
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addColumn('device_time', 'bigint')
    .addColumn('recorded_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('delivery_checks_stop').on('delivery_checks').columns(['stop_id', 'recorded_at']).execute();
}
