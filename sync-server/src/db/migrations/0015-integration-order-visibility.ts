import { type Kysely, sql } from 'kysely';

/**
 * Which orders an integration reads and hears about (docs/security-model.md, "Integrations"):
 * `own`, only the orders it created through the API (`integration_orders`); `location`, every
 * order at its locations. Every integration starts at `own`, those registered before this
 * migration too: an admin widens a courier partner or a warehouse that delivers other people's
 * orders (with a second admin's approval when its data profile holds contact or billing fields).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('integrations')
    .addColumn('order_visibility', 'text', (c) => c.notNull().defaultTo('own').check(sql`order_visibility in ('own', 'location')`))
    .execute();
}

