import type { Kysely } from 'kysely';

/**
 * Retention periods per location and legal holds (docs/security-model.md, "Retention and legal holds").
 *
 * `retention_policies`: a period one location set for one class; a class with no row follows the
 * server's default (DEPOTLINE_RETENTION_<CLASS>_DAYS).
 *
 * `legal_holds`: suspends purge and erasure for a stop, a customer (by the blind index of a phone
 * or email, never the value) or a whole location, until released through a second person's
 * approval. Rows are never deleted: a released hold stays as the record of what was kept and why.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('retention_policies')
    .addColumn('location_id', 'text', (c) => c.notNull())
    .addColumn('class', 'text', (c) => c.notNull())
    .addColumn('days', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('retention_policies_pk', ['location_id', 'class'])
    .execute();

  await db.schema
    .createTable('legal_holds')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('location_id', 'text', (c) => c.notNull())
    .addColumn('stop_id', 'text')
    .addColumn('customer_key', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('placed_by', 'text', (c) => c.notNull())
    .addColumn('placed_at', 'bigint', (c) => c.notNull())
    .addColumn('released_at', 'bigint')
    .addColumn('released_by', 'text')
    .addColumn('release_reason', 'text')
    .execute();
  await db.schema.createIndex('legal_holds_location_active').on('legal_holds').columns(['location_id', 'released_at']).execute();
}

/* eslint-enable @typescript-eslint/no-explicit-any */
