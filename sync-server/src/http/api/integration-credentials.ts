import {
  ApiKeyId, ApiKeyList, ApiKeyView, CredentialCreate, CredentialRotate, IntegrationId, NewApiKey, NewOAuthClientSecret, OAuthClientId, OAuthClientList,
  OAuthClientView, RotatedApiKey,
} from '@depotline/shared';
import { z } from 'zod';
import { AccessRefused, type Granter } from '../../access/authority';
import { deniedEvent } from '../../access/authorize';
import type { Caller } from '../../access/caller';
import type { AuditEvent } from '../../audit/audit-log';
import { applyApiKeyCreate, applyApiKeyRevoke, applyApiKeyRotate, listApiKeys } from '../../integrations/api-keys';
import { applyOAuthClientCreate, applyOAuthClientRevoke, applyOAuthClientRotate, listOAuthClients } from '../../integrations/oauth-clients';
import { type Endpoint, endpoint } from '../endpoint';

/*
 * Credentials of an integration (docs/api.md, "Integration credentials"): API keys and OAuth 2.0
 * clients under /integrations/:integrationId. Every one of these needs `integration.manage` at
 * every location the integration holds a scope at; the check is inside the domain functions
 * (integrations/credential-admin.ts), so the CLI and the REST API make the same decision. A
 * refusal is audited after the transaction rolls back. A secret appears once, in the answer
 * that made it (`secret`, `clientSecret`); lists never carry one.
 */

const userGranter = (caller: Caller): Granter => ({ kind: 'user', actor: caller.actor, profile: caller.profile });
const integrationParams = z.object({ integrationId: IntegrationId });
const keyParams = integrationParams.extend({ keyId: ApiKeyId });
const clientParams = integrationParams.extend({ clientId: OAuthClientId });

/** What the OpenAPI document says of each endpoint (http/openapi.ts): an admin's access token, integration.manage. */
const doc = (operationId: string, summary: string, status: number, description: string, schema: z.ZodType) => ({
  operationId, summary, tags: ['Integration credentials'], security: 'user' as const, permissions: ['integration.manage'],
  responses: { [status]: { description, schema } },
});

async function auditingRefusal<R>(audit: (event: AuditEvent) => void, work: () => Promise<R>): Promise<R> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AccessRefused) audit(deniedEvent(err.request));
    throw err;
  }
}

export function integrationCredentialEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/integrations/:integrationId/keys',
      params: integrationParams,
      openapi: doc('listApiKeys', 'List an integration\u2019s API keys (never their secrets)', 200, 'The keys.', ApiKeyList),
      handle: ({ db, caller, input, now, audit }) => auditingRefusal(audit, async () =>
        ({ keys: await listApiKeys(db, userGranter(caller), input.params.integrationId, now) })),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/keys',
      params: integrationParams,
      body: CredentialCreate,
      status: 201,
      transaction: true,
      openapi: doc('createApiKey', 'Make an API key (its secret is in this answer only)', 201, 'The key and its secret, shown once.', NewApiKey),
      handle: ({ ctx, db, caller, input, now, audit }) => auditingRefusal(audit, () =>
        applyApiKeyCreate(db, ctx.config, userGranter(caller), input.params.integrationId, input.body, now)),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/keys/:keyId/rotate',
      params: keyParams,
      body: CredentialRotate,
      status: 201,
      transaction: true,
      openapi: doc('rotateApiKey', 'Rotate an API key: a new key, the old one working until oldEndsAt', 201, 'The new key (secret shown once) and the old one with its end.', RotatedApiKey),
      handle: ({ ctx, db, caller, input, now, audit }) => auditingRefusal(audit, () =>
        applyApiKeyRotate(db, ctx.config, userGranter(caller), input.params.integrationId, input.params.keyId, input.body, now)),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/keys/:keyId/revoke',
      params: keyParams,
      transaction: true,
      openapi: doc('revokeApiKey', 'Revoke an API key at once', 200, 'The revoked key.', z.object({ key: ApiKeyView })),
      handle: ({ db, caller, input, now, audit }) => auditingRefusal(audit, async () =>
        ({ key: await applyApiKeyRevoke(db, userGranter(caller), input.params.integrationId, input.params.keyId, now) })),
    }),
    endpoint({
      method: 'get',
      path: '/integrations/:integrationId/oauth-clients',
      params: integrationParams,
      openapi: doc('listOAuthClients', 'List an integration\u2019s OAuth clients (never their secrets)', 200, 'The clients.', OAuthClientList),
      handle: ({ db, caller, input, now, audit }) => auditingRefusal(audit, async () =>
        ({ clients: await listOAuthClients(db, userGranter(caller), input.params.integrationId, now) })),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/oauth-clients',
      params: integrationParams,
      body: CredentialCreate,
      status: 201,
      transaction: true,
      openapi: doc('createOAuthClient', 'Make an OAuth 2.0 client (its secret is in this answer only)', 201, 'The client and its secret, shown once.', NewOAuthClientSecret),
      handle: ({ ctx, db, caller, input, now, audit }) => auditingRefusal(audit, () =>
        applyOAuthClientCreate(db, ctx.config, userGranter(caller), input.params.integrationId, input.body, now)),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/oauth-clients/:clientId/rotate',
      params: clientParams,
      body: CredentialRotate,
      transaction: true,
      openapi: doc('rotateOAuthClient', 'Give an OAuth client a new secret, the old one working until oldEndsAt', 200, 'The client and its new secret, shown once.', NewOAuthClientSecret),
      handle: ({ ctx, db, caller, input, now, audit }) => auditingRefusal(audit, () =>
        applyOAuthClientRotate(db, ctx.config, userGranter(caller), input.params.integrationId, input.params.clientId, input.body, now)),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/oauth-clients/:clientId/revoke',
      params: clientParams,
      transaction: true,
      openapi: doc('revokeOAuthClient', 'Revoke an OAuth client and every token it holds', 200, 'The revoked client.', z.object({ client: OAuthClientView })),
      handle: ({ db, caller, input, now, audit }) => auditingRefusal(audit, async () =>
        ({ client: await applyOAuthClientRevoke(db, userGranter(caller), input.params.integrationId, input.params.clientId, now) })),
    }),
  ];
}
