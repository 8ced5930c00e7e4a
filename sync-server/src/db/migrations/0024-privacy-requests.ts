import type { Kysely } from 'kysely';

/**
 * The register of data subject requests (privacy/requests.ts, docs/security-model.md "Data
 * subject requests").
 *
 * `privacy_requests`: one request as received, with its deadline (`due_at`). The customer it is
 * about is `subject_enc`, field-encrypted like a stop's contact details, and set to null once an
 * erasure has removed the customer's data, so the register keeps none of it. `location_ids` and
 * `actions` are JSON: the locations the request covers, and the steps taken on it with counts only.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('privacy_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('law', 'text', (c) => c.notNull())
    .addColumn('location_ids', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('due_at', 'bigint', (c) => c.notNull())
    .addColumn('reference', 'text')
    .addColumn('subject_enc', 'text')
    .addColumn('subject_erased_at', 'bigint')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('handled_by', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('closed_at', 'bigint')
    .addColumn('close_reason', 'text')
    .addColumn('actions', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('privacy_requests_open').on('privacy_requests').columns(['status', 'due_at']).execute();
}

/* eslint-enable @typescript-eslint/no-explicit-any */
