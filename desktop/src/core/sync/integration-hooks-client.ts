import {
  IntegrationAlertList, IntegrationCallPage, WebhookAttemptPage, WebhookSecretShown, WebhookSubscriptionView,
  type IntegrationAlertView, type IntegrationCallView, type WebhookAttemptView, type WebhookSecretShown as SecretShown,
  type WebhookSubscriptionView as Subscription,
} from '@depotline/shared';
import { z } from 'zod';
import type { AccessTokens } from './authorized';
import { authorizedCall } from './authorized';
import { RestTransport, segment, type RestMethod, type RestOptions } from './rest';

const SubscriptionBody = z.object({ subscription: WebhookSubscriptionView });
const SubscriptionList = z.object({ subscriptions: z.array(WebhookSubscriptionView) });

/**
 * An integration's webhook subscriptions and its logs over REST (docs/api.md "Webhooks",
 * "Integration logs"), with the session's token. A new or rotated signing secret is in the answer
 * of the call that made it; this client hands it up and keeps nothing.
 */
export class IntegrationHooksClient {
  readonly #rest: RestTransport;
  readonly #tokens: AccessTokens;

  constructor(serverUrl: URL, tokens: AccessTokens, options: RestOptions = {}) {
    this.#rest = new RestTransport(serverUrl, options);
    this.#tokens = tokens;
  }

  async webhooks(id: string): Promise<Subscription[]> {
    return (await this.#json('GET', `${base(id)}/webhooks`, SubscriptionList)).subscriptions;
  }

  createWebhook(id: string, body: { url: string; events: readonly string[] }): Promise<SecretShown> {
    return this.#json('POST', `${base(id)}/webhooks`, WebhookSecretShown, body);
  }

  async setWebhookPaused(id: string, webhookId: string, paused: boolean): Promise<Subscription> {
    return (await this.#json('POST', `${base(id)}/webhooks/${segment(webhookId)}/${paused ? 'pause' : 'resume'}`, SubscriptionBody, {})).subscription;
  }

  async updateWebhook(id: string, webhookId: string, body: { events: readonly string[] }): Promise<Subscription> {
    return (await this.#json('PATCH', `${base(id)}/webhooks/${segment(webhookId)}`, SubscriptionBody, body)).subscription;
  }

  rotateWebhookSecret(id: string, webhookId: string, body: { previousSecretEndsAt?: number }): Promise<SecretShown> {
    return this.#json('POST', `${base(id)}/webhooks/${segment(webhookId)}/rotate-secret`, WebhookSecretShown, body);
  }

  deleteWebhook(id: string, webhookId: string): Promise<void> {
    return authorizedCall(this.#tokens, (accessToken) => this.#rest.empty('DELETE', `/api/v1${base(id)}/webhooks/${segment(webhookId)}`, { accessToken }));
  }

  /** The newest calls first, one page. */
  async calls(id: string, limit: number): Promise<IntegrationCallView[]> {
    return (await this.#json('GET', `${base(id)}/calls?limit=${limit}`, IntegrationCallPage)).calls;
  }

  async attempts(id: string, limit: number): Promise<WebhookAttemptView[]> {
    return (await this.#json('GET', `${base(id)}/webhook-attempts?limit=${limit}`, WebhookAttemptPage)).attempts;
  }

  async alerts(id: string, limit: number): Promise<IntegrationAlertView[]> {
    return (await this.#json('GET', `${base(id)}/alerts?limit=${limit}`, IntegrationAlertList)).alerts.slice(0, limit);
  }

  #json<S extends z.ZodType>(method: RestMethod, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    return authorizedCall(this.#tokens, (accessToken) =>
      this.#rest.json(method, `/api/v1${path}`, schema, { accessToken, ...(body !== undefined ? { body } : {}) }));
  }
}

const base = (id: string) => `/integrations/${segment(id)}`;
