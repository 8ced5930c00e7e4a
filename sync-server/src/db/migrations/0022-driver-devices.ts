import { type Kysely, sql } from 'kysely';

/**
 * Driver devices (docs/security-model.md, "Driver devices").
 *
 * `position_history`: every position a driver's device sent, not only the last one (`positions`
 * keeps that). It is the driver location history retention class: rows are deleted by age of
 * `recorded_at` per location, hence the index.
 *
 * `routes.completed_at`: when the route's last stop reached a final state (delivered, failed or
 * cancelled); null while any stop is open or the route has none. `routes.driver_access_until`:
 * the completion plus the grace period then configured; the driver's own access to the route's
 * customer data ends at it (sync/driver-access.ts). `routes.driver_removal_at`: when the server
 * wrote the route's change that tells the driver's device to remove it; null until then and
 * again once the route is reopened.
 *
 * `sessions.idle_timeout_s`: the session's own idle limit in seconds, fixed when it is created or
 * refreshed (auth/session-idle.ts): the shorter driver limit for a user whose grants are only the
 * driver role; null means the server-wide limit.
 *
 * Routes whose stops are all final already are taken as completed at their last stop's change,
 * with the default grace period of an hour, so devices still holding them are told to remove them.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('position_history')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('driver_id', 'text', (c) => c.notNull())
    .addColumn('location_id', 'text', (c) => c.notNull())
    .addColumn('lat', 'double precision', (c) => c.notNull())
    .addColumn('lng', 'double precision', (c) => c.notNull())
    .addColumn('heading_deg', 'double precision')
    .addColumn('speed_kmh', 'double precision')
    .addColumn('recorded_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('position_history_location_recorded').on('position_history').columns(['location_id', 'recorded_at']).execute();

  await db.schema.alterTable('routes').addColumn('completed_at', 'bigint').execute();
  await db.schema.alterTable('routes').addColumn('driver_access_until', 'bigint').execute();
  await db.schema.alterTable('routes').addColumn('driver_removal_at', 'bigint').execute();
  await db.schema.createIndex('routes_driver_removal').on('routes').columns(['driver_removal_at', 'driver_access_until']).execute();

  await db.schema.alterTable('sessions').addColumn('idle_timeout_s', 'integer').execute();

  await db.updateTable('routes')
    .set({ completed_at: sql`(select max(s.updated_at) from stops s where s.route_id = routes.id)` })
    .where(sql<boolean>`exists (select 1 from stops s where s.route_id = routes.id)`)
    .where(sql<boolean>`not exists (select 1 from stops s where s.route_id = routes.id and s.status not in ('delivered', 'failed', 'cancelled'))`)
    .execute();
  await db.updateTable('routes').set({ driver_access_until: sql`completed_at + ${sql.lit(3_600_000)}` }).where('completed_at', 'is not', null).execute();
}
/* eslint-enable @typescript-eslint/no-explicit-any */
