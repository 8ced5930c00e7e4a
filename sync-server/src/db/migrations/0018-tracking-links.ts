import type { Kysely } from 'kysely';

/**
 * Customer tracking links (docs/security-model.md, "Customer tracking links").
 *
 * `tracking_links`: one link of a stop. The token itself is never stored, only its SHA-256
 * (`token_hash`, unique): a leak of the database gives no working link. `origin` says whether
 * the server made it when the route was dispatched (`auto`) or a dispatcher did. A link works
 * until `expires_at` (its maximum age, brought forward once the stop is delivered or
 * cancelled) unless revoked first.
 *
 * `tracking_link_hits`: page and status views per link per hour (no address, no user agent),
 * the figures the audit log receives once the hour is over (`audited_at`).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tracking_links')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('stop_id', 'text', (c) => c.notNull())
    .addColumn('location_id', 'text', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('revoked_by', 'text')
    .execute();
  await db.schema.createIndex('tracking_links_stop').on('tracking_links').column('stop_id').execute();

  await db.schema
    .createTable('tracking_link_hits')
    .addColumn('link_id', 'text', (c) => c.notNull())
    .addColumn('location_id', 'text', (c) => c.notNull())
    // the hour's start, ms since the epoch
    .addColumn('hour', 'bigint', (c) => c.notNull())
    .addColumn('views', 'integer', (c) => c.notNull())
    .addColumn('audited_at', 'bigint')
    .addPrimaryKeyConstraint('tracking_link_hits_pk', ['link_id', 'hour'])
    .execute();
  await db.schema.createIndex('tracking_link_hits_unaudited').on('tracking_link_hits').columns(['audited_at', 'hour']).execute();
}

/* eslint-enable @typescript-eslint/no-explicit-any */
