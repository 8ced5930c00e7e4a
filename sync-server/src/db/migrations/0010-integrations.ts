import type { Kysely } from 'kysely';

/**
 * Integrations (docs/security-model.md, "Integrations").
 *
 * - `integrations`: an outside system registered by an admin: a unique readable name (the audit
 *   log names it `integration:<name>`), its kind, a contact at the partner, its data profile and
 *   address allowlist (JSON arrays of profile field names and canonical CIDR ranges), whether an
 *   unusual-activity alert suspends it, and when and why it was suspended. `version` grows on
 *   every change, so an edit or an approval made against an older version is refused.
 * - `integration_scopes`: what it may do, one machine permission per location per row.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('integrations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('contact', 'text', (c) => c.notNull())
    .addColumn('data_profile', 'text', (c) => c.notNull())
    .addColumn('ip_allowlist', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('auto_suspend_on_alert', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('suspended_at', 'bigint')
    .addColumn('suspended_reason', 'text')
    .addColumn('suspended_by', 'text')
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('integration_scopes')
    .addColumn('integration_id', 'text', (c) => c.notNull().references('integrations.id'))
    .addColumn('location_id', 'text', (c) => c.notNull().references('locations.id'))
    .addColumn('permission', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('integration_scopes_pk', ['integration_id', 'location_id', 'permission'])
    .execute();
  await db.schema.createIndex('integration_scopes_location').on('integration_scopes').columns(['location_id', 'integration_id']).execute();
}

/* eslint-enable @typescript-eslint/no-explicit-any */
