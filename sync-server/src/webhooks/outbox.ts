import type { ServerContext } from '../context';
import type { Db } from '../db/database';

/**
 * The events a subscription can ask for (the Standard Webhooks `type`). The shared catalogue
 * (shared/src/integrations.ts) names the same list; this one follows it once it is published.
 */
export type WebhookEventType =
  | 'order.created' | 'stop.status_changed' | 'stop.delivered' | 'stop.failed' | 'pod.added' | 'tracking_link.created' | 'security.alert';

/**
 * Something that happened which integrations may be told about. Ids and operational values
 * only: the stop's customer data is read (and filtered by each integration's data profile)
 * when the delivery is sent, so the outbox never holds it in plaintext.
 */
export interface DomainEvent {
  type: WebhookEventType;
  locationId: string;
  stopId: string | null;
  occurredAt: number;
  /** Operational extras (a status change's from/to); never customer PII. */
  data?: Record<string, unknown>;
}

/**
 * Queues the deliveries of `events` to every subscription that wants them, inside the caller's
 * transaction (`trx`): the change and its webhooks commit together or not at all.
 */
export async function enqueueWebhookEvents(trx: Db, ctx: ServerContext, events: readonly DomainEvent[]): Promise<void> {
  if (events.length === 0) return;
  // Fan-out arrives with the outbox tables (migration 0013-webhooks).
  await Promise.resolve({ trx, ctx });
}
