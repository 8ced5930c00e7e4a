/**
 * Integrations as rows, for the tests of the call log and unusual-activity rules: inserted
 * directly (like factories.ts does grants), so those tests do not depend on the admin API's
 * own rules. End-to-end tests go through the real API instead.
 */
import crypto from 'node:crypto';
import type { ServerContext } from '../src/context';
import type { IntegrationCallEntry } from '../src/integrations/call-entry';

export async function insertIntegration(
  ctx: ServerContext,
  opts: { locationIds: string[]; autoSuspend?: boolean; name?: string },
): Promise<{ id: string; name: string }> {
  const id = crypto.randomUUID();
  const name = opts.name ?? `shop-${crypto.randomBytes(4).toString('hex')}`;
  const now = ctx.now();
  await ctx.db.insertInto('integrations').values({
    id, name, kind: 'shop', contact: 'ops@example.test', data_profile: JSON.stringify(['orderRef', 'status']), ip_allowlist: '[]',
    auto_suspend_on_alert: opts.autoSuspend ? 1 : 0, suspended_at: null, suspended_reason: null, suspended_by: null, version: 1,
    created_at: now, created_by: 'test', updated_at: now, updated_by: 'test',
  }).execute();
  await ctx.db.insertInto('integration_scopes').values(opts.locationIds.map((location_id) => ({ integration_id: id, location_id, permission: 'orders.write' }))).execute();
  return { id, name };
}

/** An API key row (its secret is never needed here: the rules read ids and dates only). */
export async function insertApiKey(ctx: ServerContext, integrationId: string, expiresAt: number): Promise<string> {
  const id = `dlk_${crypto.randomBytes(8).toString('hex')}`;
  await ctx.db.insertInto('api_keys').values({
    id, integration_id: integrationId, name: 'test key', secret_hash: crypto.randomBytes(32).toString('hex'), scopes: JSON.stringify(['orders.write']),
    created_at: ctx.now(), created_by: null, created_by_label: 'test', expires_at: expiresAt, ends_at: null, replaced_by: null,
    revoked_at: null, revoked_by_label: null, last_used_at: null, last_used_ip: null,
  }).execute();
  return id;
}

export function callEntry(integrationId: string, credentialId: string | null, overrides: Partial<IntegrationCallEntry> = {}): IntegrationCallEntry {
  return {
    integrationId, credentialId, method: 'POST', route: '/api/v1/orders', status: 201, latencyMs: 12, ip: '203.0.113.7', at: Date.now(), ...overrides,
  };
}

/** A webhook subscription with one delivery, and attempts at it as the webhook worker writes them. */
export async function insertWebhookAttempts(
  ctx: ServerContext,
  integrationId: string,
  locationId: string,
  attempts: { at: number; statusCode: number | null; error: string | null; nextRetryAt: number | null }[],
  deliveryStatus: 'pending' | 'delivered' | 'dead' = 'pending',
): Promise<{ subscriptionId: string; deliveryId: string }> {
  const subscriptionId = crypto.randomUUID();
  const deliveryId = `msg_${crypto.randomBytes(8).toString('hex')}`;
  const now = ctx.now();
  await ctx.db.insertInto('webhook_subscriptions').values({
    id: subscriptionId, integration_id: integrationId, url: 'https://hooks.example.test/depotline', events: JSON.stringify(['stop.delivered']),
    secret_enc: null, previous_secret_enc: null, previous_secret_expires_at: null, status: 'active', pause_reason: null, paused_at: null,
    failing_since: null, last_success_at: null, version: 1, created_at: now, created_by: null, updated_at: now,
  }).execute();
  await ctx.db.insertInto('webhook_deliveries').values({
    id: deliveryId, subscription_id: subscriptionId, integration_id: integrationId, event_type: 'stop.delivered', location_id: locationId,
    stop_id: null, data: '{}', occurred_at: now, created_at: now, next_attempt_at: now, retry_until: now + 86_400_000, attempts: attempts.length,
    status: deliveryStatus, delivered_at: null, last_attempt_at: null, last_status: null,
  }).execute();
  await ctx.db.insertInto('webhook_attempts').values(attempts.map((a, i) => ({
    id: crypto.randomUUID(), delivery_id: deliveryId, subscription_id: subscriptionId, integration_id: integrationId, event_type: 'stop.delivered',
    attempt: i + 1, at: a.at, status_code: a.statusCode, error: a.error, latency_ms: 40, next_retry_at: a.nextRetryAt,
  }))).execute();
  return { subscriptionId, deliveryId };
}
