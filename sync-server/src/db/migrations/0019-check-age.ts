import { type Kysely, sql } from 'kysely';

/**
 * The age a passing check was made against (docs/security-model.md, "Delivery PIN and regulated
 * goods"). `stops.check_min_age`: the stop's `minimum_age` when the driver recorded a passing age
 * check; the delivered guard accepts the check only while it is at least the stop's current
 * `minimum_age`, so a check over 16 does not deliver an order raised to 18.
 *
 * Passing age checks recorded before this version said nothing of their threshold. On stops that
 * are over (delivered, failed, cancelled) they are taken as made at the stop's age, so their
 * handover reads as it did; on open stops they lapse and the driver checks again.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not the current types */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('stops').addColumn('check_min_age', 'integer').execute();
  await db.updateTable('stops').set({ check_min_age: sql`minimum_age` })
    .where('check_passed', '=', 'age').where('status', 'in', ['delivered', 'failed', 'cancelled'])
    .execute();
}
/* eslint-enable @typescript-eslint/no-explicit-any */
