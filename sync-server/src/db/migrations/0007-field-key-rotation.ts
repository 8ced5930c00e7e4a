import type { Kysely } from 'kysely';

/**
 * Field-key rotation and tampered values (docs/security-model.md, "Data at rest").
 *
 * `field_key_rotations`: one row per `depotline-admin keys rotate-field-key` run towards a key
 * id. The cursor (table, last row id done) moves in the same transaction as each batch's
 * re-encrypted values, so a rotation stopped at any point resumes where its last batch ended.
 *
 * `withheld_values`: a record holding a value that did not decrypt, and when its
 * `security.alert` was last raised, so the alert is raised once per record and window however
 * often the record is read, by however many server processes.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('field_key_rotations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .addColumn('cursor_table', 'text')
    .addColumn('cursor_id', 'text')
    .addColumn('batches', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rewritten', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('field_key_rotations_status').on('field_key_rotations').columns(['status', 'started_at']).execute();

  await db.schema
    .createTable('withheld_values')
    .addColumn('table_name', 'text', (c) => c.notNull())
    .addColumn('row_id', 'text', (c) => c.notNull())
    .addColumn('columns', 'text', (c) => c.notNull())
    .addColumn('location_id', 'text')
    .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('alerted_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('withheld_values_pk', ['table_name', 'row_id'])
    .execute();
}
