import type { MachinePermission, WebhookEventType } from '@depotline/shared';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
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

/** How long a delivery is retried before it is given up (`dead`): at least a day, per the retry schedule. */
export const retryWindowMs = 24 * 60 * 60 * 1000;

/**
 * The scopes that let an integration hear of an event at a location: order and stop events need
 * `status.read` or `orders.read`, proof of delivery `pod.read`. A security alert goes to
 * integrations registered at the location (any scope) whose admin subscribed them to it.
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

/** "<integration id> <stop id>" for each event's order created by one of `integrationIds`. */
async function orderOwners(trx: Db, events: readonly DomainEvent[], integrationIds: readonly string[]): Promise<Set<string>> {
  const stopIds = [...new Set(events.flatMap((e) => (e.stopId !== null ? [e.stopId] : [])))];
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
 * type, its integration is not suspended and holds a scope that hears it at the event's location
 * (`hearsWith`), and, for an event about an order, may see that order: an integration whose
 * order visibility is `own` hears only of the orders it created (`integration_orders`), one with
 * `location` of every order at its locations. A paused subscription's deliveries are queued too
 * and wait for it to resume.
 * Returns the ids of the deliveries queued (the `webhook-id`s receivers will see).
 */
export async function enqueueWebhookEvents(trx: Db, ctx: ServerContext, events: readonly DomainEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  const locations = [...new Set(events.map((e) => e.locationId))];
  const rows = await trx.selectFrom('webhook_subscriptions as s')
    .innerJoin('integrations as i', 'i.id', 's.integration_id')
    .innerJoin('integration_scopes as sc', 'sc.integration_id', 's.integration_id')
    .select(['s.id', 's.integration_id', 's.events', 'i.order_visibility', 'sc.location_id', 'sc.permission'])
    .where('s.status', '<>', 'deleted')
    .where('i.suspended_at', 'is', null)
    .where('sc.location_id', 'in', locations)
    .execute();
  if (rows.length === 0) return [];

  const subscriptions = new Map<string, { integrationId: string; allOrders: boolean; events: ReadonlySet<string>; scopes: Map<string, Set<string>> }>();
  for (const r of rows) {
    let s = subscriptions.get(r.id);
    if (!s) {
      s = { integrationId: r.integration_id, allOrders: r.order_visibility === 'location', events: new Set(JSON.parse(r.events) as string[]), scopes: new Map() };
      subscriptions.set(r.id, s);
    }
    const held = s.scopes.get(r.location_id) ?? new Set<string>();
    held.add(r.permission);
    s.scopes.set(r.location_id, held);
  }

  const owners = await orderOwners(trx, events, [...subscriptions.values()].filter((s) => !s.allOrders).map((s) => s.integrationId));
  const now = ctx.now();
  const deliveries = [];
  for (const e of events) {
    for (const [id, s] of subscriptions) {
      if (!s.events.has(e.type) || !scopesHear(e.type, s.scopes.get(e.locationId) ?? new Set())) continue;
      if (e.type !== 'security.alert' && e.stopId !== null && !s.allOrders && !owners.has(`${s.integrationId} ${e.stopId}`)) continue;
      deliveries.push({
        id: newWebhookMessageId(), subscription_id: id, integration_id: s.integrationId, event_type: e.type,
        location_id: e.locationId, stop_id: e.stopId, data: JSON.stringify(e.data ?? {}), occurred_at: e.occurredAt,
        created_at: now, next_attempt_at: now, retry_until: now + retryWindowMs, attempts: 0, status: 'pending' as const,
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
