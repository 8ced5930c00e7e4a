import type { Kysely } from 'kysely';

/**
 * Four-eyes approvals (docs/security-model.md, "Four-eyes approvals"). One row per request for a
 * sensitive change: who asked, the full change (JSON, parsed with the kind's schema again
 * before it is applied), why, the locations it touches and the permissions it hands out (JSON
 * arrays, as they were at request time), and its life: `pending` until a second person decides
 * (`approved`, `denied`), the requester withdraws it, it expires, or approval finds it `stale`.
 * The decision is a conditional UPDATE on `status = 'pending'`, so two approvers never both win.
 * `used_at` marks the single use of an approved change that is used after approval (a bulk
 * export's download).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('approval_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('change', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('location_ids', 'text', (c) => c.notNull())
    .addColumn('hands_out', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('requested_by_label', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    // pending | approved | denied | withdrawn | expired | stale
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('decided_by', 'text')
    .addColumn('decided_by_label', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('decision_note', 'text')
    .addColumn('stale_reason', 'text')
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('approval_requests_status').on('approval_requests').columns(['status', 'expires_at']).execute();
  await db.schema.createIndex('approval_requests_requested_by').on('approval_requests').columns(['requested_by', 'requested_at']).execute();
}
