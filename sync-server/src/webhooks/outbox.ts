import type { MachinePermission, WebhookEventType } from '@depotline/shared';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { heldUntil, retryWindowMs } from './holds';
import { newWebhookMessageId } from './signing';
import { wakeWebhookWorker } from './wake';

/**
 * Something that happened which integrations may be told about. Ids and operational values
 * only: the stop's customer data is read (and cut to each integration's data profile) when the
 * delivery is sent, so the outbox never holds it.
 */
export interface DomainEvent {
  type: WebhookEventType;
  locationId: string;
  stopId: string | null;
  occurredAt: number;
  /** Operational extras (a status change's from/to); never customer data. */
  data?: Record<string, unknown>;
}

export { retryWindowMs } from './holds';

/**
 * The scopes that let an integration hear of an event at a location: order and stop events need
 * `status.read` or `orders.read`, proof of delivery `pod.read`. A security alert needs a scope
 * at the location (any) and `alertReaches`.
 */
const hearsWith: Readonly<Record<WebhookEventType, readonly MachinePermission[] | 'any'>> = {
  'order.created': ['status.read', 'orders.read'],
  'stop.status_changed': ['status.read', 'orders.read'],
  'stop.delivered': ['status.read', 'orders.read'],
  'stop.failed': ['status.read', 'orders.read'],
  'tracking_link.created': ['status.read', 'orders.read'],
  'pod.added': ['pod.read'],
  'security.alert': 'any',
};

/** Whether scopes held at the event's location let an integration hear of it. */
export function scopesHear(type: WebhookEventType, held: ReadonlySet<string>): boolean {
  const needs = hearsWith[type];
  return needs === 'any' ? held.size > 0 : needs.some((p) => held.has(p));
}

/**
 * Whether a `security.alert` with `data` may go to `integration` (docs/security-model.md
 * "Webhooks"): an alert about one integration (`data.integrationId`) goes to that integration
 * only; an alert about no integration (the API probed by an address) only to integrations of kind
 * `notifications`. Either way only to subscriptions an admin subscribed to `security.alert`.
 */
export function alertReaches(data: Readonly<Record<string, unknown>>, integration: { id: string; kind: string }): boolean {
  const about = data['integrationId'];
  return typeof about === 'string' ? about === integration.id : integration.kind === 'notifications';
}

/** "<integration id> <stop id>" for each of `stopIds` whose order was created by one of `integrationIds`. */
export async function orderOwners(trx: Db, stopIdList: readonly string[], integrationIds: readonly string[]): Promise<Set<string>> {
  const stopIds = [...new Set(stopIdList)];
  const owners = new Set<string>();
  if (stopIds.length === 0 || integrationIds.length === 0) return owners;
  for (let i = 0; i < stopIds.length; i += 500) {
    const rows = await trx.selectFrom('integration_orders').select(['integration_id', 'stop_id'])
      .where('stop_id', 'in', stopIds.slice(i, i + 500)).where('integration_id', 'in', [...new Set(integrationIds)]).execute();
    for (const r of rows) owners.add(`${r.integration_id} ${r.stop_id}`);
  }
  return owners;
}

/** Rows per INSERT: 16 columns each stays under SQLite's 999 bound parameters. */
const insertChunk = 60;

/**
 * Queues one delivery per event and interested subscription, inside the caller's transaction
 * (`trx`): the change and its webhooks commit together or not at all, and a delivery exists only
 * for a change that committed. Interested: the subscription is not deleted and lists the event
 * type, its integration holds a scope that hears it at the event's location (`hearsWith`), for
 * a security alert `alertReaches` it, and, for an event about an order, it may see that order:
 * an integration whose order visibility is `own` hears only of the orders it created
 * (`integration_orders`), one with `location` of every order at its locations. A paused
 * subscription's deliveries are queued too and wait for it to resume; a suspended integration's
 * are queued held (holds.ts) and sent only once an admin resumes it.
 * Returns the ids of the deliveries queued (the `webhook-id`s receivers will see).
 */
export async function enqueueWebhookEvents(trx: Db, ctx: ServerContext, events: readonly DomainEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  const locations = [...new Set(events.map((e) => e.locationId))];
  const rows = await trx.selectFrom('webhook_subscriptions as s')
    .innerJoin('integrations as i', 'i.id', 's.integration_id')
    .innerJoin('integration_scopes as sc', 'sc.integration_id', 's.integration_id')
    .select(['s.id', 's.integration_id', 's.events', 'i.order_visibility', 'i.kind', 'i.suspended_at', 'sc.location_id', 'sc.permission'])
    .where('s.status', '<>', 'deleted')
    .where('sc.location_id', 'in', locations)
    .execute();
  if (rows.length === 0) return [];

  const subscriptions = new Map<string, {
    integrationId: string; kind: string; suspended: boolean; allOrders: boolean; events: ReadonlySet<string>; scopes: Map<string, Set<string>>;
  }>();
  for (const r of rows) {
    let s = subscriptions.get(r.id);
    if (!s) {
      s = {
        integrationId: r.integration_id, kind: r.kind, suspended: r.suspended_at !== null, allOrders: r.order_visibility === 'location',
        events: new Set(JSON.parse(r.events) as string[]), scopes: new Map(),
      };
      subscriptions.set(r.id, s);
    }
    const held = s.scopes.get(r.location_id) ?? new Set<string>();
    held.add(r.permission);
    s.scopes.set(r.location_id, held);
  }

  const stopIds = events.flatMap((e) => (e.stopId !== null ? [e.stopId] : []));
  const owners = await orderOwners(trx, stopIds, [...subscriptions.values()].filter((s) => !s.allOrders).map((s) => s.integrationId));
  const now = ctx.now();
  const deliveries = [];
  for (const e of events) {
    for (const [id, s] of subscriptions) {
      if (!s.events.has(e.type) || !scopesHear(e.type, s.scopes.get(e.locationId) ?? new Set())) continue;
      if (e.type === 'security.alert' && !alertReaches(e.data ?? {}, { id: s.integrationId, kind: s.kind })) continue;
      if (e.type !== 'security.alert' && e.stopId !== null && !s.allOrders && !owners.has(`${s.integrationId} ${e.stopId}`)) continue;
      deliveries.push({
        id: newWebhookMessageId(), subscription_id: id, integration_id: s.integrationId, event_type: e.type,
        location_id: e.locationId, stop_id: e.stopId, data: JSON.stringify(e.data ?? {}), occurred_at: e.occurredAt,
        created_at: now, next_attempt_at: s.suspended ? heldUntil : now, retry_until: now + retryWindowMs, attempts: 0, status: 'pending' as const,
        delivered_at: null, last_attempt_at: null, last_status: null,
      });
    }
  }
  for (let i = 0; i < deliveries.length; i += insertChunk) {
    await trx.insertInto('webhook_deliveries').values(deliveries.slice(i, i + insertChunk)).execute();
  }
  // The worker looks again shortly; the transaction has usually committed by then, else its next round finds them.
  if (deliveries.length > 0) wakeWebhookWorker(ctx);
  return deliveries.map((d) => d.id);
}
