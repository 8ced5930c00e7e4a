import type { Kysely } from 'kysely';

/**
 * Drivers and vehicles a manager retires (docs/sync-protocol.md, `driver.retire`,
 * `vehicle.retire`): the record stays, so past routes keep naming it, and `retired_at` says it
 * may not be assigned again. Nothing else about a driver is stored: no phone, no address.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('drivers').addColumn('retired_at', 'bigint').execute();
  await db.schema.alterTable('vehicles').addColumn('retired_at', 'bigint').execute();
}

/* eslint-enable @typescript-eslint/no-explicit-any */
