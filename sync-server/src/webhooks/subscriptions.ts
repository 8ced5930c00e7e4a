import crypto from 'node:crypto';
import {
  maxWebhookSecretOverlapMs, type WebhookEventType, type WebhookSecretShown, type WebhookSubscriptionCreate, type WebhookSubscriptionUpdate,
  type WebhookSubscriptionView,
} from '@depotline/shared';
import type { Selectable } from 'kysely';
import { appendAuditEntries, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { fieldAad } from '../crypto/field-cipher';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';
import { badRequest, conflict, notFound } from '../errors';
import { integrationLocations, type IntegrationRecord } from '../integrations/records';
import { holdDeliveriesOf, retryWindowMs } from './holds';
import { newWebhookSecret } from './signing';
import { checkWebhookUrl, WebhookTargetRefused } from './ssrf';
import { wakeWebhookWorker } from './wake';

/**
 * Webhook subscriptions (docs/api.md "Webhooks"): created, changed, rotated, paused, resumed and
 * deleted here, for the REST API and the CLI alike, each audited at every location of the
 * integration. The signing secret is field-encrypted (the server must sign with it); it is shown
 * once, when made. A URL is checked by the SSRF guard when saved, and again at every connection.
 */

export type SubscriptionRow = Selectable<Database['webhook_subscriptions']>;

/** At most this many receivers per integration. */
export const maxSubscriptionsPerIntegration = 10;

const secretAad = (id: string) => fieldAad('webhook_subscriptions', 'secret', id);
const previousSecretAad = (id: string) => fieldAad('webhook_subscriptions', 'previous_secret', id);

export function presentSubscription(row: SubscriptionRow, now: number): WebhookSubscriptionView {
  const previousEnds = row.previous_secret_expires_at === null ? null : Number(row.previous_secret_expires_at);
  return {
    id: row.id, integrationId: row.integration_id, url: row.url, events: JSON.parse(row.events) as WebhookEventType[],
    status: row.status === 'paused' ? 'paused' : 'active',
    pauseReason: row.pause_reason === 'admin' || row.pause_reason === 'failing' || row.pause_reason === 'gone' ? row.pause_reason : null,
    pausedAt: row.paused_at === null ? null : Number(row.paused_at),
    failingSince: row.failing_since === null ? null : Number(row.failing_since),
    lastSuccessAt: row.last_success_at === null ? null : Number(row.last_success_at),
    previousSecretEndsAt: row.previous_secret_enc !== null && previousEnds !== null && previousEnds > now ? previousEnds : null,
    createdAt: Number(row.created_at), createdBy: row.created_by, updatedAt: Number(row.updated_at), version: Number(row.version),
  };
}

/** The secrets that sign a delivery now: the current one, and the previous one until its overlap ends. */
export function signingSecrets(ctx: ServerContext, row: Pick<SubscriptionRow, 'id' | 'secret_enc' | 'previous_secret_enc' | 'previous_secret_expires_at'>, now: number): string[] {
  if (row.secret_enc === null) return [];
  const secrets = [ctx.cipher.decrypt(row.secret_enc, secretAad(row.id))];
  if (row.previous_secret_enc !== null && row.previous_secret_expires_at !== null && Number(row.previous_secret_expires_at) > now) {
    secrets.push(ctx.cipher.decrypt(row.previous_secret_enc, previousSecretAad(row.id)));
  }
  return secrets;
}

/** Only the origin of a receiver's URL is audited: a path or query may carry the receiver's own token. */
const urlOrigin = (url: string) => new URL(url).origin;

/** One entry per location of the integration, so each depot's trail shows who changed what hears of it. */
async function auditAtIntegration(
  db: Db, actor: AuditActor, integration: IntegrationRecord, action: string, subscriptionId: string, details: Record<string, unknown>, now: number,
): Promise<void> {
  const locations = [...new Set(integrationLocations(integration))].sort();
  const event = { action, outcome: 'ok' as const, targetType: 'webhook_subscription', targetId: subscriptionId, details: { integrationId: integration.id, ...details } };
  await appendAuditEntries(db, (locations.length > 0 ? locations : [null]).map((locationId) => ({ actor, event: { ...event, locationId } })), now);
}

/**
 * The URL as the SSRF guard accepts it now, or a 400 saying why not. Called before the
 * transaction that saves it: resolving a name may take a while, and holds no lock meanwhile.
 */
export async function acceptedWebhookUrl(ctx: ServerContext, url: string): Promise<string> {
  try {
    return (await checkWebhookUrl(url, { allowLoopback: ctx.config.webhooks.allowLoopback, allowCidrs: ctx.config.webhooks.allowCidrs })).toString();
  } catch (err) {
    if (err instanceof WebhookTargetRefused) throw badRequest([`url: ${err.reason}`]);
    throw err;
  }
}

export async function findSubscription(db: Db, integrationId: string, id: string): Promise<SubscriptionRow> {
  const row = await db.selectFrom('webhook_subscriptions').selectAll()
    .where('id', '=', id).where('integration_id', '=', integrationId).where('status', '<>', 'deleted').executeTakeFirst();
  if (!row) throw notFound('The webhook subscription');
  return row;
}

export async function listSubscriptions(db: Db, integrationId: string): Promise<SubscriptionRow[]> {
  return db.selectFrom('webhook_subscriptions').selectAll()
    .where('integration_id', '=', integrationId).where('status', '<>', 'deleted').orderBy('created_at').orderBy('id').execute();
}

/** Makes the subscription (its URL checked by `acceptedWebhookUrl`) with a new secret, returned this once. */
export async function createSubscription(
  ctx: ServerContext, db: Db, actor: AuditActor, integration: IntegrationRecord, body: WebhookSubscriptionCreate, now: number,
): Promise<WebhookSecretShown> {
  const integrationId = integration.id;
  const url = body.url;
  const count = await db.selectFrom('webhook_subscriptions').select((eb) => eb.fn.countAll<number>().as('n'))
    .where('integration_id', '=', integrationId).where('status', '<>', 'deleted').executeTakeFirstOrThrow();
  if (Number(count.n) >= maxSubscriptionsPerIntegration) throw conflict(`An integration has at most ${maxSubscriptionsPerIntegration} webhook subscriptions.`);
  const id = `whsub_${crypto.randomBytes(16).toString('base64url')}`;
  const secret = newWebhookSecret();
  const row: SubscriptionRow = {
    id, integration_id: integrationId, url, events: JSON.stringify(body.events), secret_enc: ctx.cipher.encrypt(secret, secretAad(id)),
    previous_secret_enc: null, previous_secret_expires_at: null, status: 'active', pause_reason: null, paused_at: null, failing_since: null,
    last_success_at: null, version: 1, created_at: now, created_by: actor.label, updated_at: now,
  };
  await db.insertInto('webhook_subscriptions').values(row).execute();
  await auditAtIntegration(db, actor, integration, 'webhook.create', id, { url: urlOrigin(url), events: body.events }, now);
  return { subscription: presentSubscription(row, now), secret };
}

/** Changes the URL (checked by `acceptedWebhookUrl`) or the event types; the secret stays. */
export async function updateSubscription(
  db: Db, actor: AuditActor, integration: IntegrationRecord, row: SubscriptionRow, body: WebhookSubscriptionUpdate, now: number,
): Promise<SubscriptionRow> {
  const url = body.url ?? row.url;
  const events = body.events !== undefined ? JSON.stringify(body.events) : row.events;
  const after = await bump(db, row, { url, events }, now);
  await auditAtIntegration(db, actor, integration, 'webhook.update', row.id, {
    fields: Object.keys(body).sort(), ...(body.url !== undefined ? { url: { from: urlOrigin(row.url), to: urlOrigin(url) } } : {}),
    ...(body.events !== undefined ? { events: { from: JSON.parse(row.events) as unknown, to: body.events } } : {}),
  }, now);
  return after;
}

/**
 * A new secret signs from now on; the current one becomes the previous and signs beside it until
 * `previousEndsAt` (receivers move to the new secret meanwhile). Returns the new secret, once.
 */
export async function rotateSubscriptionSecret(
  ctx: ServerContext, db: Db, actor: AuditActor, integration: IntegrationRecord, row: SubscriptionRow, previousEndsAt: number | undefined, now: number,
): Promise<WebhookSecretShown> {
  const ends = previousEndsAt ?? now;
  if (ends < now) throw badRequest(['previousSecretEndsAt: the overlap ends now or later']);
  if (ends > now + maxWebhookSecretOverlapMs) throw badRequest(['previousSecretEndsAt: the overlap lasts 30 days at most']);
  const current = signingSecrets(ctx, row, now)[0];
  if (current === undefined) throw notFound('The webhook subscription');
  const secret = newWebhookSecret();
  const after = await bump(db, row, {
    secret_enc: ctx.cipher.encrypt(secret, secretAad(row.id)),
    previous_secret_enc: ends > now ? ctx.cipher.encrypt(current, previousSecretAad(row.id)) : null,
    previous_secret_expires_at: ends > now ? ends : null,
  }, now);
  await auditAtIntegration(db, actor, integration, 'webhook.rotate_secret', row.id, { previousSecretEndsAt: ends > now ? ends : null }, now);
  return { subscription: presentSubscription(after, now), secret };
}

export async function pauseSubscription(db: Db, actor: AuditActor, integration: IntegrationRecord, row: SubscriptionRow, now: number): Promise<SubscriptionRow> {
  if (row.status === 'paused') return row;
  const after = await bump(db, row, { status: 'paused', pause_reason: 'admin', paused_at: now }, now);
  await holdDeliveriesOf(db, [row.id]);
  await auditAtIntegration(db, actor, integration, 'webhook.pause', row.id, {}, now);
  return after;
}

/**
 * Resumes a paused subscription: every delivery not yet delivered (waiting, or given up while the
 * receiver failed) is due again now, with a fresh retry window. The failure clock starts over.
 */
export async function resumeSubscription(
  ctx: ServerContext, db: Db, actor: AuditActor, integration: IntegrationRecord, row: SubscriptionRow, now: number,
): Promise<{ row: SubscriptionRow; requeued: number }> {
  if (row.status !== 'paused') return { row, requeued: 0 };
  const after = await bump(db, row, { status: 'active', pause_reason: null, paused_at: null, failing_since: null }, now);
  const requeued = await db.updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: now, retry_until: now + retryWindowMs })
    .where('subscription_id', '=', row.id).where('status', 'in', ['pending', 'dead']).executeTakeFirst();
  const count = Number(requeued.numUpdatedRows);
  await auditAtIntegration(db, actor, integration, 'webhook.resume', row.id, { requeued: count, pausedFor: row.pause_reason }, now);
  wakeWebhookWorker(ctx);
  return { row: after, requeued: count };
}

/** Deletes the receiver: its secrets are wiped, its undelivered deliveries given up; the row stays for the delivery log. */
export async function deleteSubscription(db: Db, actor: AuditActor, integration: IntegrationRecord, row: SubscriptionRow, now: number): Promise<void> {
  await bump(db, row, { status: 'deleted', secret_enc: null, previous_secret_enc: null, previous_secret_expires_at: null }, now);
  const dropped = await db.updateTable('webhook_deliveries').set({ status: 'dead', last_status: 'subscription_deleted' })
    .where('subscription_id', '=', row.id).where('status', '=', 'pending').executeTakeFirst();
  await auditAtIntegration(db, actor, integration, 'webhook.delete', row.id, { url: urlOrigin(row.url), dropped: Number(dropped.numUpdatedRows) }, now);
}

/** Writes `changes` if the row is still at the version read; a concurrent change is a 409. */
async function bump(db: Db, row: SubscriptionRow, changes: Partial<SubscriptionRow>, now: number): Promise<SubscriptionRow> {
  const version = Number(row.version) + 1;
  const r = await db.updateTable('webhook_subscriptions').set({ ...changes, version, updated_at: now })
    .where('id', '=', row.id).where('version', '=', row.version).executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw conflict('The webhook subscription changed meanwhile; read it again.');
  return { ...row, ...changes, version, updated_at: now };
}
