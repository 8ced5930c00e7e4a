import type { Kysely } from 'kysely';

/**
 * Custom permission groups (docs/security-model.md, "Permission groups and denials").
 *
 * - `permission_groups`: a named set of allowed permissions and explicit denials (JSON arrays of
 *   catalogue names), whether holders must use a second factor, whether its grants must expire,
 *   and a version that grows on every change. Retired groups stay, so old grants and audit
 *   entries still name them; names are unique among all groups.
 * - `permission_group_locations`: a group's scope, the locations where it may be granted.
 * - `grants.group_id`: the group a grant names. Such a grant keeps `role = 'group'`, a value
 *   that is no role template (so it grants nothing by role), because SQLite cannot relax the
 *   column's NOT NULL in place.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('permission_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('permissions', 'text', (c) => c.notNull())
    .addColumn('denials', 'text', (c) => c.notNull())
    .addColumn('mfa_required', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('must_expire', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .addColumn('retired_at', 'bigint')
    .addColumn('retired_by', 'text')
    .execute();
  // The security watcher looks for groups changed since its last tick.
  await db.schema.createIndex('permission_groups_updated_at').on('permission_groups').column('updated_at').execute();

  await db.schema
    .createTable('permission_group_locations')
    .addColumn('group_id', 'text', (c) => c.notNull().references('permission_groups.id'))
    .addColumn('location_id', 'text', (c) => c.notNull().references('locations.id'))
    .addPrimaryKeyConstraint('permission_group_locations_pk', ['group_id', 'location_id'])
    .execute();
  await db.schema.createIndex('permission_group_locations_location').on('permission_group_locations').column('location_id').execute();

  await db.schema.alterTable('grants').addColumn('group_id', 'text', (c) => c.references('permission_groups.id')).execute();
  await db.schema.createIndex('grants_group').on('grants').column('group_id').execute();
}
