import {
  ApiKeyList, ApiKeyView, ApprovalRequired, type IntegrationCreate, type IntegrationUpdate, IntegrationView, NewApiKey, NewOAuthClientSecret,
  OAuthClientList, OAuthClientView, RotatedApiKey,
  type ApiKeyView as ApiKey, type CredentialCreate, type CredentialRotate, type NewOAuthClientSecret as NewClientSecret, type OAuthClientView as OAuthClient,
  type IntegrationView as Integration, type RotatedApiKey as Rotated, type NewApiKey as NewKey,
} from '@depotline/shared';
import { z } from 'zod';
import type { AccessTokens } from './authorized';
import { authorizedCall } from './authorized';
import type { Held } from './governance-client';
import { RestTransport, segment, type RestMethod, type RestOptions } from './rest';

const IntegrationBody = z.object({ integration: IntegrationView });
const IntegrationOrApproval = z.union([IntegrationBody, ApprovalRequired]);
const IntegrationList = z.object({ integrations: z.array(IntegrationView) });
const KeyBody = z.object({ key: ApiKeyView });
const ClientBody = z.object({ client: OAuthClientView });

/**
 * The admin's side of integrations over REST (docs/api.md "Integrations"): the registry, the
 * data profile (a change that turns on contact or billing fields comes back as the approval
 * request that now waits, HTTP 202), API keys and OAuth clients. Like the governance client,
 * every call carries only the session's access token, and every answer is parsed with its shared
 * schema. A new secret is in the answer of the call that made it; this client hands it up and
 * keeps nothing.
 */
export class IntegrationsClient {
  readonly #rest: RestTransport;
  readonly #tokens: AccessTokens;

  constructor(serverUrl: URL, tokens: AccessTokens, options: RestOptions = {}) {
    this.#rest = new RestTransport(serverUrl, options);
    this.#tokens = tokens;
  }

  /* the registry */

  async list(locationId: string): Promise<Integration[]> {
    const query = new URLSearchParams({ locationId, includeSuspended: 'true' });
    return (await this.#json('GET', `/integrations?${query.toString()}`, IntegrationList)).integrations;
  }

  async get(id: string): Promise<Integration> {
    return (await this.#json('GET', `/integrations/${segment(id)}`, IntegrationBody)).integration;
  }

  async create(body: z.input<typeof IntegrationCreate>): Promise<Integration> {
    return (await this.#json('POST', '/integrations', IntegrationBody, body)).integration;
  }

  async update(id: string, body: z.input<typeof IntegrationUpdate> & { reason?: string }): Promise<Held<Integration>> {
    const answer = await this.#json('PATCH', `/integrations/${segment(id)}`, IntegrationOrApproval, body);
    return 'approvalRequired' in answer ? { approval: answer.approval } : { applied: answer.integration };
  }

  async suspend(id: string, reason: string): Promise<Integration> {
    return (await this.#json('POST', `/integrations/${segment(id)}/suspend`, IntegrationBody, { reason })).integration;
  }

  async resume(id: string): Promise<Integration> {
    return (await this.#json('POST', `/integrations/${segment(id)}/resume`, IntegrationBody, {})).integration;
  }

  /* API keys */

  async keys(id: string): Promise<ApiKey[]> {
    return (await this.#json('GET', `/integrations/${segment(id)}/keys`, ApiKeyList)).keys;
  }

  createKey(id: string, body: CredentialCreate): Promise<NewKey> {
    return this.#json('POST', `/integrations/${segment(id)}/keys`, NewApiKey, body);
  }

  rotateKey(id: string, keyId: string, body: CredentialRotate): Promise<Rotated> {
    return this.#json('POST', `/integrations/${segment(id)}/keys/${segment(keyId)}/rotate`, RotatedApiKey, body);
  }

  async revokeKey(id: string, keyId: string): Promise<ApiKey> {
    return (await this.#json('POST', `/integrations/${segment(id)}/keys/${segment(keyId)}/revoke`, KeyBody, {})).key;
  }

  /* OAuth 2.0 clients */

  async oauthClients(id: string): Promise<OAuthClient[]> {
    return (await this.#json('GET', `/integrations/${segment(id)}/oauth-clients`, OAuthClientList)).clients;
  }

  createOAuthClient(id: string, body: CredentialCreate): Promise<NewClientSecret> {
    return this.#json('POST', `/integrations/${segment(id)}/oauth-clients`, NewOAuthClientSecret, body);
  }

  rotateOAuthClient(id: string, clientId: string, body: CredentialRotate): Promise<NewClientSecret> {
    return this.#json('POST', `/integrations/${segment(id)}/oauth-clients/${segment(clientId)}/rotate`, NewOAuthClientSecret, body);
  }

  async revokeOAuthClient(id: string, clientId: string): Promise<OAuthClient> {
    return (await this.#json('POST', `/integrations/${segment(id)}/oauth-clients/${segment(clientId)}/revoke`, ClientBody, {})).client;
  }

  /* transport */

  #json<S extends z.ZodType>(method: RestMethod, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    return authorizedCall(this.#tokens, (accessToken) =>
      this.#rest.json(method, `/api/v1${path}`, schema, { accessToken, ...(body !== undefined ? { body } : {}) }));
  }
}
