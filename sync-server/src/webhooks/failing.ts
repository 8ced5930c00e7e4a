import { loadAccessProfile } from '../access/access-profile';
import { checkPermission, usersAtLocation } from '../access/authorize';
import { appendAuditEntries, type AuditActor } from '../audit/audit-log';
import { insertAlertNotice } from '../auth/security-alerts';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { enqueueWebhookEvents } from './outbox';

/**
 * A receiver that has failed for a day, or answered 410 Gone, is paused (docs/operations.md "Webhooks"): its deliveries
 * wait instead of being retried into the void, and every admin holding `integration.manage` at
 * one of the integration's locations gets a `webhook_paused` security alert; the pause is a
 * `security.alert` audit entry at each location, and a `security.alert` webhook event for
 * integrations subscribed to those. Resuming (REST or CLI) sends what waited.
 */

export const failingPauseAfterMs = 24 * 60 * 60 * 1000;

export const webhookActor: AuditActor = { userId: null, label: 'system:webhooks', deviceId: null, ip: null };

async function integrationAdmins(db: Db, locationIds: readonly string[], now: number): Promise<string[]> {
  const candidates = new Set<string>();
  for (const locationId of locationIds) for (const userId of await usersAtLocation(db, locationId, now)) candidates.add(userId);
  const admins: string[] = [];
  for (const userId of [...candidates].sort()) {
    const profile = await loadAccessProfile(db, userId, now);
    if (locationIds.some((locationId) => checkPermission(profile, { permission: 'integration.manage', locationId }, now))) admins.push(userId);
  }
  return admins;
}

/**
 * Pauses the subscriptions among `ids` that are active and have failed since a day or more, with
 * their alerts, in the caller's transaction. Returns the ids it paused.
 */
export async function pauseFailingSubscriptions(ctx: ServerContext, trx: Db, ids: readonly string[], now: number): Promise<string[]> {
  if (ids.length === 0) return [];
  const due = await trx.selectFrom('webhook_subscriptions').select(['id', 'integration_id', 'failing_since', 'url'])
    .where('id', 'in', [...ids]).where('status', '=', 'active').where('failing_since', '<=', now - failingPauseAfterMs).execute();
  return pauseWithAlert(ctx, trx, due, 'failing', now);
}

/**
 * Pauses the subscriptions among `ids` whose receiver answered 410 Gone: the receiver says it is
 * gone for good, so it is paused at once (with the same alerts) rather than retried for a day.
 */
export async function pauseGoneSubscriptions(ctx: ServerContext, trx: Db, ids: readonly string[], now: number): Promise<string[]> {
  if (ids.length === 0) return [];
  const gone = await trx.selectFrom('webhook_subscriptions').select(['id', 'integration_id', 'failing_since', 'url'])
    .where('id', 'in', [...ids]).where('status', '=', 'active').execute();
  return pauseWithAlert(ctx, trx, gone, 'gone', now);
}

type Pausable = { id: string; integration_id: string; failing_since: number | null; url: string };

async function pauseWithAlert(ctx: ServerContext, trx: Db, subscriptions: readonly Pausable[], reason: 'failing' | 'gone', now: number): Promise<string[]> {
  const paused: string[] = [];
  for (const s of subscriptions) {
    const r = await trx.updateTable('webhook_subscriptions')
      .set((eb) => ({ status: 'paused', pause_reason: reason, paused_at: now, updated_at: now, version: eb('version', '+', 1) }))
      .where('id', '=', s.id).where('status', '=', 'active').executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) continue;
    paused.push(s.id);
    const locationIds = (await trx.selectFrom('integration_scopes').select('location_id').distinct().where('integration_id', '=', s.integration_id).execute())
      .map((l) => l.location_id).sort();
    const details = {
      kind: 'webhook_paused', reason, integrationId: s.integration_id, subscriptionId: s.id, receiver: new URL(s.url).origin,
      failingSince: s.failing_since === null ? null : Number(s.failing_since),
    };
    await appendAuditEntries(trx, (locationIds.length > 0 ? locationIds : [null]).map((locationId) => ({
      actor: webhookActor, event: { action: 'security.alert', outcome: 'ok', targetType: 'webhook_subscription', targetId: s.id, locationId, details },
    })), now);
    for (const userId of await integrationAdmins(trx, locationIds, now)) {
      await insertAlertNotice(trx, { userId, kind: 'webhook_paused', details, actor: webhookActor }, now);
    }
    await enqueueWebhookEvents(trx, ctx, locationIds.map((locationId) => ({
      type: 'security.alert' as const, locationId, stopId: null, occurredAt: now,
      data: { kind: 'webhook_paused', reason, integrationId: s.integration_id, subscriptionId: s.id },
    })));
    ctx.log.error(reason === 'gone' ? 'webhook receiver answered 410 Gone: paused' : 'webhook receiver failed for a day: paused', { subscriptionId: s.id, integrationId: s.integration_id });
  }
  return paused;
}
