import { type OAuthErrorResponse, OAuthErrorResponse as OAuthErrorSchema, OAuthTokenResponse } from '@depotline/shared';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { appendAuditEntries, type AuditActor } from '../../audit/audit-log';
import { auditRefusal } from '../../audit/refusal-digest';
import type { ServerContext } from '../../context';
import { allowlistDecision } from '../../integrations/allowlist';
import { isClientId } from '../../integrations/credential-format';
import { authenticateClient, type ClientRefusal, issueAccessToken, narrowScopes } from '../../integrations/oauth-tokens';
import { clientIp, type Endpoint, endpointDoc } from '../endpoint';
import { chargeVerifiedOauthClient, refuseIfClientAddressSpent } from '../rate-limits';

/*
 * POST /api/v1/oauth/token: the OAuth 2.0 client credentials grant (RFC 6749 section 4.4).
 * The body is form-encoded (section 4.4.2; parsed for this route only); the client
 * authenticates with HTTP Basic (`client_secret_basic`) or with `client_id` and `client_secret`
 * in the body (`client_secret_post`), never both (section 2.3: one method per request). Answers
 * follow section 5.1 (success) and 5.2 (errors: JSON `error`, `error_description`), never
 * cached (`Cache-Control: no-store`, `Pragma: no-cache`). An unknown client id and a wrong
 * secret get the same answer, after the same work, so the endpoint tells nobody which ids exist.
 * The route is rate limited like every route under /api/v1 (http/rate-limits.ts).
 */

export const oauthTokenPath = '/oauth/token';

type OAuthError = OAuthErrorResponse['error'];

class TokenRefusal extends Error {
  constructor(
    readonly error: OAuthError,
    readonly description: string,
    readonly audit: Record<string, unknown> | null = null,
    /** Set once the client is authenticated: the refusal is then audited as its integration. */
    readonly integrationName: string | null = null,
  ) {
    super(description);
  }
}

/** The form fields this endpoint reads (documented; the request is read by hand below, to answer in RFC 6749 form). */
const TokenRequestForm = z.object({
  grant_type: z.literal('client_credentials'),
  scope: z.string().optional().meta({ description: 'Space-separated scopes, each held by the client; omitted: all of the client\u2019s.' }),
  client_id: z.string().optional().meta({ description: 'With `client_secret_post` only.' }),
  client_secret: z.string().optional().meta({ description: 'With `client_secret_post` only.' }),
});

/** One value per parameter (RFC 6749 section 3.2: a parameter sent twice is an invalid request); empty counts as omitted. */
function formParams(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (body === null || typeof body !== 'object') return out;
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new TokenRefusal('invalid_request', `The parameter ${name.slice(0, 40)} is given more than once.`);
    if (value !== '') out[name] = value;
  }
  return out;
}

interface ClientAuth {
  method: 'client_secret_basic' | 'client_secret_post';
  clientId: string;
  clientSecret: string;
}

/** RFC 6749 section 2.3.1: Basic credentials are form-encoded before base64. */
const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));

function clientAuthOf(req: Request, params: Record<string, string>): ClientAuth {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const basic = /^Basic +([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
    if (!basic) throw new TokenRefusal('invalid_client', 'Authenticate the client with HTTP Basic or with client_id and client_secret in the body.', { reason: 'authorization scheme' });
    if (params.client_secret !== undefined) throw new TokenRefusal('invalid_request', 'Use one client authentication method: HTTP Basic or client_secret in the body, not both.');
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    let clientId: string;
    let clientSecret: string;
    try {
      clientId = formDecode(colon < 0 ? decoded : decoded.slice(0, colon));
      clientSecret = colon < 0 ? '' : formDecode(decoded.slice(colon + 1));
    } catch {
      throw new TokenRefusal('invalid_client', 'The client could not be authenticated.', { reason: 'basic encoding' });
    }
    if (params.client_id !== undefined && params.client_id !== clientId) throw new TokenRefusal('invalid_request', 'client_id in the body differs from the one authenticated.');
    return { method: 'client_secret_basic', clientId, clientSecret };
  }
  if (params.client_id === undefined) throw new TokenRefusal('invalid_client', 'Authenticate the client with HTTP Basic or with client_id and client_secret in the body.', { reason: 'no client authentication' });
  return { method: 'client_secret_post', clientId: params.client_id, clientSecret: params.client_secret ?? '' };
}

const safeClientId = (id: string | undefined) => (id !== undefined && isClientId(id) ? id : null);

async function handleTokenRequest(ctx: ServerContext, req: Request, res: Response): Promise<void> {
  const ip = clientIp(req);
  const now = ctx.now();
  const anonymous: AuditActor = { userId: null, label: 'anonymous', deviceId: null, ip };
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  let clientId: string | null = null;
  try {
    if (!req.is('application/x-www-form-urlencoded')) throw new TokenRefusal('invalid_request', 'Send the request as application/x-www-form-urlencoded (RFC 6749 section 4.4.2).');
    const params = formParams(req.body);
    if (params.grant_type === undefined) throw new TokenRefusal('invalid_request', 'grant_type is missing.');
    const auth = clientAuthOf(req, params);
    clientId = safeClientId(auth.clientId);
    const found = await authenticateClient(ctx.db, auth.clientId, auth.clientSecret, now);
    // Past this id's budget from this network, a wrong secret is answered 429 (http/rate-limits.ts).
    if (!found.ok) refuseIfClientAddressSpent(res);
    if (!found.ok) throw new TokenRefusal('invalid_client', 'The client could not be authenticated.', { reason: found.reason satisfies ClientRefusal, method: auth.method });
    const client = found.client;
    // The client-wide budget, spent only by whoever holds the secret (http/rate-limits.ts).
    await chargeVerifiedOauthClient(ctx, res, client.id);
    const actor: AuditActor = { ...anonymous, label: `integration:${client.integrationName}` };
    const refusedAs = (error: OAuthError, description: string, reason: string) => new TokenRefusal(error, description, { reason, integrationId: client.integrationId }, client.integrationName);
    if (params.grant_type !== 'client_credentials') throw refusedAs('unsupported_grant_type', 'Only grant_type=client_credentials is supported.', 'grant type');
    if (client.integrationSuspended) throw refusedAs('unauthorized_client', 'The integration is suspended: an admin must resume it.', 'integration suspended');
    // The address allowlist, as on every call of the integration API: checked once the client is known, so a stranger learns nothing.
    if (!allowlistDecision({ ipAllowlist: client.integrationAllowlist }, ip).allowed) {
      throw refusedAs('unauthorized_client', 'The integration does not accept requests from this address.', 'address not allowed');
    }
    const narrowed = narrowScopes(params.scope, client.scopes);
    if (!narrowed.ok) throw refusedAs('invalid_scope', narrowed.description, 'scope');
    const token = await ctx.db.transaction().execute(async (trx) => {
      const issued = await issueAccessToken(trx, ctx, client, narrowed.scopes, now);
      await appendAuditEntries(trx, [{ actor, event: {
        action: 'integration.oauth.token', outcome: 'ok', targetType: 'oauth_client', targetId: client.id, locationId: null,
        details: { integrationId: client.integrationId, tokenId: issued.id, scopes: narrowed.scopes, method: auth.method, expiresIn: issued.expires_in },
      } }], now);
      return issued;
    });
    const { id: _id, ...body } = token;
    res.status(200).json(OAuthTokenResponse.parse(body));
  } catch (err) {
    if (!(err instanceof TokenRefusal)) throw err;
    const actor = err.integrationName ? { ...anonymous, label: `integration:${err.integrationName}` } : anonymous;
    // Digested per network, reason and client per minute (audit/refusal-digest.ts): a flood writes no row per request.
    await auditRefusal(ctx, actor, {
      action: 'integration.oauth.token', outcome: 'denied', targetType: clientId ? 'oauth_client' : null, targetId: clientId, locationId: null,
      details: { error: err.error, ...err.audit },
    }, `${err.error}:${typeof err.audit?.reason === 'string' ? err.audit.reason : ''}`, now);
    // RFC 6749 section 5.2: invalid_client is 401 with a challenge (RFC 7235 requires one on every 401): Basic, the scheme offered.
    const status = err.error === 'invalid_client' ? 401 : 400;
    if (status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="depotline", charset="UTF-8"');
    res.status(status).json({ error: err.error, error_description: err.description } satisfies OAuthErrorResponse);
  }
}

/**
 * A body the form parser refused (too large, bad charset, too many fields) is an invalid request,
 * in RFC 6749 form. The rate limiter usually read the form already (for the client id it counts);
 * these bounds are the same, so the answer does not depend on which read it.
 */
function formBody() {
  const parse = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 32 });
  return (req: Request, res: Response, next: NextFunction) => {
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Pragma', 'no-cache');
      // The same answer for every parse failure; nothing was read, so there is nobody to audit.
      res.status(400).json({ error: 'invalid_request', error_description: 'The body is not a valid form of at most 16 KiB.' } satisfies OAuthErrorResponse);
    });
  };
}

export function oauthTokenEndpoints(): Endpoint[] {
  return [{
    method: 'post',
    path: oauthTokenPath,
    doc: endpointDoc({
      method: 'post',
      path: oauthTokenPath,
      body: TokenRequestForm,
      openapi: {
        operationId: 'oauthToken',
        summary: 'Get an access token (OAuth 2.0 client credentials)',
        description: 'RFC 6749 section 4.4. Authenticate the client with HTTP Basic (`client_secret_basic`) or with `client_id` and `client_secret` in the form (`client_secret_post`), not both. The token is a Bearer credential for the integration API, bound to the client\u2019s integration.',
        tags: ['OAuth'],
        security: 'oauthClient',
        requestContentType: 'application/x-www-form-urlencoded',
        responses: {
          200: { description: 'The access token (RFC 6749 section 5.1).', schema: OAuthTokenResponse },
          400: { description: 'RFC 6749 section 5.2: invalid_request, unsupported_grant_type, invalid_scope or unauthorized_client (the integration is suspended, or the request comes from an address outside its allowlist).', schema: OAuthErrorSchema },
          401: { description: 'invalid_client: unknown client, wrong secret, revoked or expired client (one answer for all).', schema: OAuthErrorSchema },
        },
      },
    }),
    handlers: (ctx) => [formBody(), (req, res, next) => {
      handleTokenRequest(ctx, req, res).catch(next);
    }],
  }];
}
