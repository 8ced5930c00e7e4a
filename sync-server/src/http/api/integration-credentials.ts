import { ApiKeyId, CredentialCreate, CredentialRotate, IntegrationId, OAuthClientId } from '@depotline/shared';
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
      handle: ({ ctx, db, caller, input, now, audit }) => auditingRefusal(audit, () =>
        applyApiKeyRotate(db, ctx.config, userGranter(caller), input.params.integrationId, input.params.keyId, input.body, now)),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/keys/:keyId/revoke',
      params: keyParams,
      transaction: true,
      handle: ({ db, caller, input, now, audit }) => auditingRefusal(audit, async () =>
        ({ key: await applyApiKeyRevoke(db, userGranter(caller), input.params.integrationId, input.params.keyId, now) })),
    }),
    endpoint({
      method: 'get',
      path: '/integrations/:integrationId/oauth-clients',
      params: integrationParams,
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
      handle: ({ ctx, db, caller, input, now, audit }) => auditingRefusal(audit, () =>
        applyOAuthClientCreate(db, ctx.config, userGranter(caller), input.params.integrationId, input.body, now)),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/oauth-clients/:clientId/rotate',
      params: clientParams,
      body: CredentialRotate,
      transaction: true,
      handle: ({ ctx, db, caller, input, now, audit }) => auditingRefusal(audit, () =>
        applyOAuthClientRotate(db, ctx.config, userGranter(caller), input.params.integrationId, input.params.clientId, input.body, now)),
    }),
    endpoint({
      method: 'post',
      path: '/integrations/:integrationId/oauth-clients/:clientId/revoke',
      params: clientParams,
      transaction: true,
      handle: ({ db, caller, input, now, audit }) => auditingRefusal(audit, async () =>
        ({ client: await applyOAuthClientRevoke(db, userGranter(caller), input.params.integrationId, input.params.clientId, now) })),
    }),
  ];
}
