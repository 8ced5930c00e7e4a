import {
  IntegrationId, WebhookDeliveryListQuery, WebhookDeliveryView as DeliveryViewSchema, WebhookSecretShown, WebhookSubscriptionView, type WebhookDeliveryView, type WebhookEventType, WebhookSecretRotate, WebhookSubscriptionCreate,
  WebhookSubscriptionId, WebhookSubscriptionUpdate,
} from '@depotline/shared';
import { z } from 'zod';
import { AccessRefused, type Granter } from '../../access/authority';
import { deniedEvent } from '../../access/authorize';
import type { Caller } from '../../access/caller';
import type { AuditEvent } from '../../audit/audit-log';
import type { Db } from '../../db/database';
import type { IntegrationRecord } from '../../integrations/records';
import { integrationManagingLocations } from '../../integrations/scopes';
import { integrationForWebhooks } from '../../webhooks/authority';
import {
  acceptedWebhookUrl, createSubscription, deleteSubscription, findSubscription, listSubscriptions, pauseSubscription, presentSubscription,
  resumeSubscription, rotateSubscriptionSecret, type SubscriptionRow, updateSubscription,
} from '../../webhooks/subscriptions';
import { type Endpoint, endpoint } from '../endpoint';
import { adminOpenApi } from '../openapi';

/*
 * Webhook subscriptions of an integration (docs/api.md "Webhooks"), under
 * /integrations/:integrationId/webhooks. Seeing them needs `integration.manage` at one of the
 * integration's locations, changing them at every one (webhooks/authority.ts, the CLI makes the
 * same decision); a refusal is audited after the transaction rolls back. The secret appears once,
 * in the answer that made it (create, rotate-secret). A URL is checked by the SSRF guard before
 * the transaction that saves it.
 */

const userGranter = (caller: Caller): Granter => ({ kind: 'user', actor: caller.actor, profile: caller.profile });
const integrationParams = z.object({ integrationId: IntegrationId });
const subscriptionParams = integrationParams.extend({ subscriptionId: WebhookSubscriptionId });
const SubscriptionAnswer = z.object({ subscription: WebhookSubscriptionView });
const SubscriptionList = z.object({ subscriptions: z.array(WebhookSubscriptionView) });
const ResumeAnswer = z.object({ subscription: WebhookSubscriptionView, requeued: z.number().int() });
const DeliveryList = z.object({ deliveries: z.array(DeliveryViewSchema) });

async function auditingRefusal<R>(audit: (event: AuditEvent) => void, work: () => Promise<R>): Promise<R> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AccessRefused) audit(deniedEvent(err.request));
    throw err;
  }
}

export function webhookEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/integrations/:integrationId/webhooks',
      openapi: adminOpenApi('listWebhooks', 'List an integration\u2019s webhook subscriptions', { 200: { description: 'The subscriptions.', schema: SubscriptionList } }),
      params: integrationParams,
      handle: ({ db, caller, input, now, audit }) => auditingRefusal(audit, async () => {
        const integration = await integrationForWebhooks(db, userGranter(caller), input.params.integrationId, now, null);
        return { subscriptions: (await listSubscriptions(db, integration.id)).map((s) => presentSubscription(s, now)) };
      }),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/webhooks',
      openapi: adminOpenApi('createWebhook', 'Subscribe a receiver (https; checked against internal addresses); the secret is shown once', { 201: { description: 'The subscription and its secret.', schema: WebhookSecretShown } }),
      params: integrationParams,
      body: WebhookSubscriptionCreate,
      status: 201,
      handle: ({ ctx, caller, input, now, audit }) => auditingRefusal(audit, async () => {
        const granter = userGranter(caller);
        // Authority first (a refused caller learns nothing of the URL check), then the URL, then the write.
        await integrationForWebhooks(ctx.db, granter, input.params.integrationId, now, { action: 'webhook.create', events: input.body.events });
        const url = await acceptedWebhookUrl(ctx, input.body.url);
        return ctx.db.transaction().execute(async (trx) => {
          const integration = await integrationForWebhooks(trx, granter, input.params.integrationId, now, { action: 'webhook.create', events: input.body.events });
          return createSubscription(ctx, trx, caller.actor, integration, { ...input.body, url }, now);
        });
      }),
    }),
    endpoint({
      method: 'get',
      path: '/integrations/:integrationId/webhooks/:subscriptionId',
      openapi: adminOpenApi('getWebhook', 'Read a webhook subscription', { 200: { description: 'The subscription.', schema: SubscriptionAnswer } }),
      params: subscriptionParams,
      handle: ({ db, caller, input, now, audit }) => auditingRefusal(audit, async () => {
        const integration = await integrationForWebhooks(db, userGranter(caller), input.params.integrationId, now, null);
        return { subscription: presentSubscription(await findSubscription(db, integration.id, input.params.subscriptionId), now) };
      }),
    }),
    endpoint({
      method: 'patch',
      path: '/integrations/:integrationId/webhooks/:subscriptionId',
      openapi: adminOpenApi('updateWebhook', 'Change a subscription\u2019s URL or events', { 200: { description: 'The subscription.', schema: SubscriptionAnswer } }),
      params: subscriptionParams,
      body: WebhookSubscriptionUpdate,
      handle: ({ ctx, caller, input, now, audit }) => auditingRefusal(audit, async () => {
        const granter = userGranter(caller);
        // Not given: the subscription's events stay, and the check covers every event (the URL may change).
        const events: readonly WebhookEventType[] | undefined = input.body.events;
        await integrationForWebhooks(ctx.db, granter, input.params.integrationId, now, { action: 'webhook.update', events });
        const url = input.body.url !== undefined ? await acceptedWebhookUrl(ctx, input.body.url) : undefined;
        return ctx.db.transaction().execute(async (trx) => {
          const integration = await integrationForWebhooks(trx, granter, input.params.integrationId, now, { action: 'webhook.update', events });
          const row = await findSubscription(trx, integration.id, input.params.subscriptionId);
          const after = await updateSubscription(trx, caller.actor, integration, row, { ...input.body, ...(url !== undefined ? { url } : {}) }, now);
          return { subscription: presentSubscription(after, now) };
        });
      }),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/webhooks/:subscriptionId/rotate-secret',
      openapi: adminOpenApi('rotateWebhookSecret', 'Rotate the signing secret (both sign until the old one ends); the new one is shown once', { 201: { description: 'The subscription and its new secret.', schema: WebhookSecretShown } }),
      params: subscriptionParams,
      body: WebhookSecretRotate,
      status: 201,
      transaction: true,
      handle: (call) => change(call, 'webhook.rotate_secret', (integration, row) =>
        rotateSubscriptionSecret(call.ctx, call.db, call.caller.actor, integration, row, call.input.body.previousSecretEndsAt, call.now)),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/webhooks/:subscriptionId/pause',
      openapi: adminOpenApi('pauseWebhook', 'Pause a subscription (its deliveries wait)', { 200: { description: 'The subscription.', schema: SubscriptionAnswer } }),
      params: subscriptionParams,
      transaction: true,
      handle: (call) => change(call, 'webhook.pause', async (integration, row) =>
        ({ subscription: presentSubscription(await pauseSubscription(call.db, call.caller.actor, integration, row, call.now), call.now) })),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/webhooks/:subscriptionId/resume',
      openapi: adminOpenApi('resumeWebhook', 'Resume a subscription: what waited is due again', { 200: { description: 'The subscription and how many deliveries were queued again.', schema: ResumeAnswer } }),
      params: subscriptionParams,
      transaction: true,
      handle: (call) => change(call, 'webhook.resume', async (integration, row) => {
        const { row: after, requeued } = await resumeSubscription(call.ctx, call.db, call.caller.actor, integration, row, call.now);
        return { subscription: presentSubscription(after, call.now), requeued };
      }),
    }),
    endpoint({
      method: 'delete',
      path: '/integrations/:integrationId/webhooks/:subscriptionId',
      openapi: adminOpenApi('deleteWebhook', 'Delete a subscription (undelivered deliveries are given up)', { 204: { description: 'Deleted.' } }),
      params: subscriptionParams,
      status: 204,
      transaction: true,
      handle: (call) => change(call, 'webhook.delete', (integration, row) => deleteSubscription(call.db, call.caller.actor, integration, row, call.now)),
    }),
    endpoint({
      method: 'get',
      path: '/integrations/:integrationId/webhooks/:subscriptionId/deliveries',
      openapi: adminOpenApi('listWebhookDeliveries', 'A subscription\u2019s deliveries, newest first', { 200: { description: 'The deliveries.', schema: DeliveryList } }),
      params: subscriptionParams,
      query: WebhookDeliveryListQuery,
      handle: ({ db, caller, input, now, audit }) => auditingRefusal(audit, async () => {
        const integration = await integrationForWebhooks(db, userGranter(caller), input.params.integrationId, now, null);
        const row = await findSubscription(db, integration.id, input.params.subscriptionId);
        // An admin of some of a shared integration's depots sees the deliveries of those depots only.
        const mine = integrationManagingLocations(caller.profile, now);
        let q = db.selectFrom('webhook_deliveries').selectAll().where('subscription_id', '=', row.id).where('location_id', 'in', mine.length > 0 ? mine : ['']);
        if (input.query.status) q = q.where('status', '=', input.query.status);
        const rows = await q.orderBy('created_at', 'desc').orderBy('id').limit(input.query.limit).execute();
        const deliveries: WebhookDeliveryView[] = rows.map((d) => ({
          id: d.id, eventType: d.event_type as WebhookEventType, locationId: d.location_id, stopId: d.stop_id, occurredAt: Number(d.occurred_at),
          createdAt: Number(d.created_at), status: d.status, attempts: Number(d.attempts),
          nextAttemptAt: d.status === 'pending' && Number(d.next_attempt_at) < Number.MAX_SAFE_INTEGER ? Number(d.next_attempt_at) : null,
          deliveredAt: d.delivered_at === null ? null : Number(d.delivered_at), lastStatus: d.last_status,
        }));
        return { deliveries };
      }),
    }),
  ];
}

interface ChangeCall {
  db: Db;
  caller: Caller;
  now: number;
  audit: (event: AuditEvent) => void;
  input: { params: { integrationId: string; subscriptionId: string } };
}

/** A change of one subscription inside the endpoint's transaction, once the caller may change the integration's webhooks. */
function change<R>(call: ChangeCall, action: string, work: (integration: IntegrationRecord, row: SubscriptionRow) => Promise<R>): Promise<R> {
  return auditingRefusal(call.audit, async () => {
    const integration = await integrationForWebhooks(call.db, userGranter(call.caller), call.input.params.integrationId, call.now, { action });
    return work(integration, await findSubscription(call.db, integration.id, call.input.params.subscriptionId));
  });
}
