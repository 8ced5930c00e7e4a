import {
  MaxActivityRows, MaxWebhooks, webhookEventTypes,
  type BridgeArgs, type BridgeValue, type ConsoleIntegrationActivity, type ConsoleWebhookView, type WebhookEventType, type WebhookSubscriptionView,
} from '@depotline/shared';
import { ServerRequestError } from '../../core';
import { refusal, translate, type IntegrationsAccess } from './integration-access';

export interface IntegrationHooksOptions {
  /** The user's access for integrations at the depot; refuses without `integration.manage` there. */
  access: (locationId: string) => Promise<IntegrationsAccess>;
  activity: () => void;
}

/**
 * The Integrations screen's webhook subscriptions and recent activity. A new or rotated signing
 * secret passes from the server's answer to the bridge's, once, and is kept nowhere. The logs
 * carry status, latency, time and address only: the server records no bodies or customer data.
 */
export class IntegrationHooks {
  readonly #o: IntegrationHooksOptions;

  constructor(options: IntegrationHooksOptions) {
    this.#o = options;
  }

  async integrationWebhooks(args: BridgeArgs<'integrationWebhooks'>): Promise<ConsoleWebhookView[]> {
    const { hooks } = await this.#o.access(args.locationId);
    const list = await translate(hooks.webhooks(args.integrationId));
    return list.slice(0, MaxWebhooks).map(toWebhookView).sort((a, b) => a.createdAt - b.createdAt);
  }

  async createWebhook(args: BridgeArgs<'createWebhook'>): Promise<BridgeValue<'createWebhook'>> {
    const { hooks } = await this.#o.access(args.locationId);
    const made = await translate(hooks.createWebhook(args.integrationId, { url: args.url, events: args.events }));
    return this.#done({ webhook: toWebhookView(made.subscription), secret: made.secret });
  }

  async setWebhookPaused(args: BridgeArgs<'setWebhookPaused'>): Promise<ConsoleWebhookView> {
    const { hooks } = await this.#o.access(args.locationId);
    return this.#done(toWebhookView(await translate(hooks.setWebhookPaused(args.integrationId, args.webhookId, args.paused))));
  }

  async updateWebhookEvents(args: BridgeArgs<'updateWebhookEvents'>): Promise<ConsoleWebhookView> {
    const { hooks } = await this.#o.access(args.locationId);
    return this.#done(toWebhookView(await translate(hooks.updateWebhook(args.integrationId, args.webhookId, { events: args.events }))));
  }

  async rotateWebhookSecret(args: BridgeArgs<'rotateWebhookSecret'>): Promise<BridgeValue<'rotateWebhookSecret'>> {
    const { hooks } = await this.#o.access(args.locationId);
    const body = args.previousSecretEndsAt !== undefined ? { previousSecretEndsAt: args.previousSecretEndsAt } : {};
    const made = await translate(hooks.rotateWebhookSecret(args.integrationId, args.webhookId, body));
    return this.#done({ webhook: toWebhookView(made.subscription), secret: made.secret });
  }

  async deleteWebhook(args: BridgeArgs<'deleteWebhook'>): Promise<null> {
    const { hooks } = await this.#o.access(args.locationId);
    await translate(hooks.deleteWebhook(args.integrationId, args.webhookId));
    return this.#done(null);
  }

  /** Newest first. A log this server does not offer yet is an empty list, not an error. */
  async integrationActivity(args: BridgeArgs<'integrationActivity'>): Promise<ConsoleIntegrationActivity> {
    const { hooks } = await this.#o.access(args.locationId);
    const [calls, attempts, alerts] = await Promise.all([
      offered(hooks.calls(args.integrationId, MaxActivityRows)),
      offered(hooks.attempts(args.integrationId, MaxActivityRows)),
      offered(hooks.alerts(args.integrationId, MaxActivityRows)),
    ]);
    const newest = <T extends { at: number }>(xs: T[]) => xs.sort((a, b) => b.at - a.at).slice(0, MaxActivityRows);
    return {
      calls: newest(calls.map((c) => ({
        at: c.at, method: clip(c.method, 10), route: clip(c.route, 200), status: c.status, latencyMs: Math.max(0, c.latencyMs),
        ip: c.ip && clip(c.ip, 64), credential: c.credentialId && clip(c.credentialId, 80),
      }))),
      attempts: newest(attempts.map((a) => ({
        at: a.at, event: clip(a.event, 64), url: clip(a.url, 2048), attempt: Math.max(1, a.attempt), status: a.status, outcome: a.outcome,
        error: a.error && clip(a.error, 300), latencyMs: a.latencyMs === null ? null : Math.max(0, a.latencyMs), nextRetryAt: a.nextRetryAt,
      }))),
      alerts: newest(alerts.map((a) => ({ id: a.id, at: a.at, kind: clip(a.kind, 64), summary: clip(a.summary, 1000), suspended: a.suspended }))),
    };
  }

  #done<T>(value: T): T {
    this.#o.activity();
    return value;
  }
}

const knownEvents = new Set<string>(webhookEventTypes);

function toWebhookView(w: WebhookSubscriptionView): ConsoleWebhookView {
  return {
    id: w.id, url: clip(w.url, 2048), events: w.events.filter((e): e is WebhookEventType => knownEvents.has(e)),
    status: w.status, pauseReason: w.pauseReason, pausedAt: w.pausedAt, failingSince: w.failingSince, lastSuccessAt: w.lastSuccessAt,
    createdAt: w.createdAt, previousSecretEndsAt: w.previousSecretEndsAt,
  };
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A log endpoint this server does not have (it answers `not_found`) reads as empty. */
async function offered<T>(request: Promise<T[]>): Promise<T[]> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof ServerRequestError && err.code === 'not_found') return [];
    throw refusal(err);
  }
}
