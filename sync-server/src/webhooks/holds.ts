import type { Db } from '../db/database';

/**
 * Deliveries that wait instead of being sent (docs/api.md "Webhooks"). A delivery is held (its
 * `next_attempt_at` at `heldUntil`, out of the worker's way) while its subscription is paused or
 * its integration is suspended: nothing is lost, and nothing reaches a suspended integration
 * before an admin resumes it. Held deliveries are never pruned.
 *
 * A subscription's pause holds its deliveries at once and its resume makes them due again
 * (subscriptions.ts). An integration's suspension and resume are followed by the worker
 * (`holdSuspendedDeliveries`, `releaseHeldDeliveries`, each round while it holds the lease): the
 * worker never sends for a suspended integration anyway, so the hold only keeps the retry window
 * from running out while the integration is suspended.
 */

/** How long a delivery is retried before it is given up (`dead`): at least a day, per the retry schedule; counted afresh on release. */
export const retryWindowMs = 24 * 60 * 60 * 1000;

export const heldUntil = Number.MAX_SAFE_INTEGER;

/** Holds the deliveries still to be sent to the subscriptions `subscriptionIds` (paused). */
export async function holdDeliveriesOf(db: Db, subscriptionIds: readonly string[]): Promise<void> {
  await db.updateTable('webhook_deliveries').set({ next_attempt_at: heldUntil })
    .where('subscription_id', 'in', [...subscriptionIds]).where('status', '=', 'pending').execute();
}

/** Holds the deliveries still to be sent to suspended integrations. Returns how many it held. */
export async function holdSuspendedDeliveries(db: Db): Promise<number> {
  const suspended = (await db.selectFrom('integrations').select('id').where('suspended_at', 'is not', null).execute()).map((i) => i.id);
  if (suspended.length === 0) return 0;
  const r = await db.updateTable('webhook_deliveries').set({ next_attempt_at: heldUntil })
    .where('status', '=', 'pending').where('next_attempt_at', '<', heldUntil).where('integration_id', 'in', suspended).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Makes held deliveries due now, with a fresh retry window, where nothing holds them any more:
 * the subscription is active and the integration not suspended (an integration resumed).
 * Returns how many it released.
 */
export async function releaseHeldDeliveries(db: Db, now: number): Promise<number> {
  const r = await db.updateTable('webhook_deliveries').set({ next_attempt_at: now, retry_until: now + retryWindowMs })
    .where('status', '=', 'pending').where('next_attempt_at', '=', heldUntil)
    .where('integration_id', 'in', (eb) => eb.selectFrom('integrations').select('id').where('suspended_at', 'is', null))
    .where('subscription_id', 'in', (eb) => eb.selectFrom('webhook_subscriptions').select('id').where('status', '=', 'active'))
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
