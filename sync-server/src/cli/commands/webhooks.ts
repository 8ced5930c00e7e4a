import { WebhookEvents, type WebhookSubscriptionView, webhookEventTypes } from '@depotline/shared';
import { z } from 'zod';
import type { Granter } from '../../access/authority';
import type { ServerContext } from '../../context';
import { notFound } from '../../errors';
import { findIntegration, type IntegrationRecord } from '../../integrations/records';
import { operatorActor } from '../../provisioning/operator';
import { integrationForWebhooks } from '../../webhooks/authority';
import {
  acceptedWebhookUrl, createSubscription, deleteSubscription, findSubscription, listSubscriptions, pauseSubscription, presentSubscription,
  resumeSubscription, rotateSubscriptionSecret, type SubscriptionRow,
} from '../../webhooks/subscriptions';
import { type CliCommand, type CliValues, commaList, isoTime, parseCliInput, parseExpiry, requiredString } from '../command';

/*
 * `depotline-admin integration webhook create|list|rotate-secret|pause|resume|delete`
 * (docs/operations.md "Webhooks"): the same domain functions as the REST API, as the operator.
 * A signing secret is printed once, by the command that made it. The URL is checked by the SSRF
 * guard with this process's settings (DEPOTLINE_WEBHOOK_ALLOW_LOOPBACK). A resumed receiver's
 * deliveries are sent by the running server at its next poll.
 */

const operator = (): Granter => ({ kind: 'operator', actor: operatorActor() });

async function integrationIdOf(ctx: ServerContext, nameOrId: string): Promise<string> {
  const found = (await findIntegration(ctx.db, { id: nameOrId })) ?? (await findIntegration(ctx.db, { name: nameOrId.trim().toLowerCase() }));
  if (!found) throw notFound(`The integration "${nameOrId}"`);
  return found.id;
}

const integrationOption = { type: 'string', value: '<name|id>', description: 'The integration', required: true } as const;
const subscriptionOption = { type: 'string', value: '<whsub_...>', description: 'The subscription (its id, from webhook list)', required: true } as const;
const storeNow = 'Give it to the receiver now (it verifies signatures with it): it is not shown again.';

const line = (s: WebhookSubscriptionView) => [
  s.id, s.status === 'paused' ? `paused (${s.pauseReason ?? 'admin'}) since ${isoTime(s.pausedAt)}` : 'active', s.url, s.events.join(','),
  s.failingSince === null ? null : `failing since ${isoTime(s.failingSince)}`,
  s.previousSecretEndsAt === null ? null : `previous secret signs until ${isoTime(s.previousSecretEndsAt)}`,
].filter((x) => x !== null).join('\t');

/** Runs `work` on one subscription of the integration, in one transaction, as the operator. */
function onSubscription<R>(values: CliValues, action: string, work: (ctx: ServerContext, trx: ServerContext['db'], integration: IntegrationRecord, row: SubscriptionRow) => Promise<R>) {
  const nameOrId = requiredString(values, 'integration');
  const subscriptionId = requiredString(values, 'subscription').trim();
  return async (ctx: ServerContext) => {
    const integrationId = await integrationIdOf(ctx, nameOrId);
    return ctx.db.transaction().execute(async (trx) => {
      const integration = await integrationForWebhooks(trx, operator(), integrationId, ctx.now(), { action });
      return work(ctx, trx, integration, await findSubscription(trx, integration.id, subscriptionId));
    });
  };
}

const create: CliCommand = {
  group: 'integration',
  name: 'webhook create',
  summary: 'Subscribe a receiver (https URL) of an integration to events; prints its signing secret once',
  options: {
    integration: integrationOption,
    url: { type: 'string', value: '<https://...>', description: 'Where deliveries are POSTed (https; its host must resolve to public addresses)', required: true },
    events: { type: 'string', value: '<type,type,...>', description: `Event types: ${webhookEventTypes.join(', ')}`, required: true },
  },
  notes: ['Example: depotline-admin integration webhook create --integration acme-courier --url https://hooks.acme.example/depotline --events stop.status_changed,stop.delivered'],
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    const url = requiredString(values, 'url').trim();
    const { events } = parseCliInput(z.object({ events: WebhookEvents }), { events: commaList(requiredString(values, 'events')) });
    return async (ctx) => {
      const integrationId = await integrationIdOf(ctx, nameOrId);
      const checked = await acceptedWebhookUrl(ctx, url);
      const made = await ctx.db.transaction().execute(async (trx) => {
        const integration = await integrationForWebhooks(trx, operator(), integrationId, ctx.now(), { action: 'webhook.create', events });
        return createSubscription(ctx, trx, operatorActor(), integration, { url: checked, events }, ctx.now());
      });
      return { json: made, text: `${line(made.subscription)}\n\nSigning secret: ${made.secret}\n${storeNow}` };
    };
  },
};

const list: CliCommand = {
  group: 'integration',
  name: 'webhook list',
  summary: 'List an integration\u2019s webhook subscriptions (never their secrets)',
  options: { integration: integrationOption },
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    return async (ctx) => {
      const now = ctx.now();
      const subscriptions = (await listSubscriptions(ctx.db, await integrationIdOf(ctx, nameOrId))).map((s) => presentSubscription(s, now));
      return { json: { subscriptions }, text: subscriptions.length === 0 ? 'No webhook subscriptions.' : subscriptions.map(line).join('\n') };
    };
  },
};

const rotate: CliCommand = {
  group: 'integration',
  name: 'webhook rotate-secret',
  summary: 'Make a new signing secret; the previous one also signs until --old-ends (both signatures are sent meanwhile)',
  options: {
    integration: integrationOption,
    subscription: subscriptionOption,
    'old-ends': { type: 'string', value: '<date|time|now>', required: true, description: 'When the previous secret stops signing: now, or a date or time at most 30 days away' },
  },
  notes: ['Example: depotline-admin integration webhook rotate-secret --integration acme-courier --subscription whsub_... --old-ends 2026-12-14'],
  prepare(values) {
    const oldEnds = requiredString(values, 'old-ends').trim();
    const endsAt = oldEnds === 'now' ? null : parseExpiry(oldEnds, 'old-ends');
    return onSubscription(values, 'webhook.rotate_secret', async (ctx, trx, integration, row) => {
      const made = await rotateSubscriptionSecret(ctx, trx, operatorActor(), integration, row, endsAt ?? ctx.now(), ctx.now());
      return { json: made, text: `${line(made.subscription)}\n\nNew signing secret: ${made.secret}\n${storeNow}` };
    });
  },
};

const pause: CliCommand = {
  group: 'integration',
  name: 'webhook pause',
  summary: 'Stop sending to a receiver; its deliveries wait until it is resumed',
  options: { integration: integrationOption, subscription: subscriptionOption },
  prepare: (values) => onSubscription(values, 'webhook.pause', async (ctx, trx, integration, row) => {
    const s = presentSubscription(await pauseSubscription(trx, operatorActor(), integration, row, ctx.now()), ctx.now());
    return { json: { subscription: s }, text: line(s) };
  }),
};

const resume: CliCommand = {
  group: 'integration',
  name: 'webhook resume',
  summary: 'Send to a paused receiver again: every delivery not yet delivered is due now, with a fresh day of retries',
  options: { integration: integrationOption, subscription: subscriptionOption },
  prepare: (values) => onSubscription(values, 'webhook.resume', async (ctx, trx, integration, row) => {
    const { row: after, requeued } = await resumeSubscription(ctx, trx, operatorActor(), integration, row, ctx.now());
    const s = presentSubscription(after, ctx.now());
    return { json: { subscription: s, requeued }, text: `${line(s)}\n${requeued} deliveries queued again.` };
  }),
};

const remove: CliCommand = {
  group: 'integration',
  name: 'webhook delete',
  summary: 'Delete a receiver: its secret is wiped and what was not delivered is given up',
  options: { integration: integrationOption, subscription: subscriptionOption },
  prepare: (values) => onSubscription(values, 'webhook.delete', async (ctx, trx, integration, row) => {
    await deleteSubscription(trx, operatorActor(), integration, row, ctx.now());
    return { json: { deleted: row.id }, text: `Deleted ${row.id}.` };
  }),
};

export const webhookCommands: readonly CliCommand[] = [create, list, rotate, pause, resume, remove];
