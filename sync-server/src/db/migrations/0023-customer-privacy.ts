import type { Kysely } from 'kysely';

/**
 * Customer consent and sharing choices (docs/security-model.md, "Customer consent and sharing").
 * A customer is named by a blind index (privacy/blind-index.ts: a keyed hash of the normalised
 * phone or email), never by the value, so these tables hold no contact details.
 *
 * `customer_consents`: one row per consent given or withdrawn for one purpose at one location,
 * with its source and time (`recorded_at`, when the customer said so) and who recorded it. Rows
 * are added, never changed: the newest per key, location and purpose is the one in force, so the
 * history shows what the customer agreed to when.
 *
 * `customer_flags`: the customer's do-not-sell-or-share choice at a location (CCPA), one row.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('customer_consents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('customer_key', 'text', (c) => c.notNull())
    .addColumn('location_id', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('granted', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'bigint', (c) => c.notNull())
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('customer_consents_key').on('customer_consents').columns(['customer_key', 'location_id']).execute();

  await db.schema
    .createTable('customer_flags')
    .addColumn('customer_key', 'text', (c) => c.notNull())
    .addColumn('location_id', 'text', (c) => c.notNull())
    .addColumn('do_not_sell', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('customer_flags_pk', ['customer_key', 'location_id'])
    .execute();
}
/* eslint-enable @typescript-eslint/no-explicit-any */
