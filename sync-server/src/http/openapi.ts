import { ErrorBody } from '@depotline/shared';
import type { z } from 'zod';
import { createDocument, type ZodOpenApiObject, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import type { EndpointCredential, EndpointDoc, EndpointOpenApi } from './endpoint-doc';
import { type Endpoint, publicEndpoint } from './endpoint';

/**
 * The OpenAPI 3.1 document of the API an outside system uses (the integration API, the OAuth
 * token endpoint, the integrations admin API), served at `GET /api/v1/openapi.json`. It is
 * generated from the endpoints themselves: each documented endpoint declares `openapi` beside the
 * zod schemas its pipeline parses with (http/endpoint-doc.ts), and zod-openapi renders those
 * schemas, so what the document says a request may hold is what the server accepts.
 */

export const openApiPath = '/openapi.json';

const ApiError = ErrorBody.meta({ id: 'Error', description: 'Every error has this shape; `code` is stable (docs/api.md, "Errors").' });

/** Express `:param` to OpenAPI `{param}`. */
export const openApiPathOf = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const securityOf: Readonly<Record<EndpointCredential, ZodOpenApiOperationObject['security']>> = {
  integration: [{ integrationApiKey: [] }, { integrationOAuth: [] }],
  user: [{ userAccessToken: [] }],
  oauthClient: [{ oauthClientBasic: [] }, {}],
  none: [],
};

const errorAnswer = (description: string) => ({ description, content: { 'application/json': { schema: ApiError } } });

/** The error answers every endpoint of a kind can give, besides its own. */
function errorResponses(doc: EndpointDoc): ZodOpenApiResponsesObject {
  const parses = doc.params !== undefined || doc.query !== undefined || doc.body !== undefined;
  return {
    ...(parses ? { 400: errorAnswer('The request does not match its schema (`issues` names each problem); nothing was changed.') } : {}),
    ...(doc.security === 'integration' || doc.security === 'user'
      ? {
          401: errorAnswer('No credential, or one that is unknown, expired or revoked (`WWW-Authenticate: Bearer error="invalid_token"`).'),
          403: errorAnswer('The credential does not hold the permission at this location, or the call comes from an address outside the allowlist.'),
        }
      : {}),
    ...(doc.body !== undefined ? { 413: errorAnswer('The body is larger than the server accepts.') } : {}),
    429: errorAnswer('Too many requests: wait `Retry-After` seconds (`RateLimit` and `RateLimit-Policy` headers say the budget).'),
  };
}

function operationOf(doc: EndpointDoc): ZodOpenApiOperationObject {
  const requestParams = {
    ...(doc.params ? { path: doc.params as z.ZodObject } : {}),
    ...(doc.query ? { query: doc.query as z.ZodObject } : {}),
    ...(doc.headers ? { header: doc.headers } : {}),
  };
  const permissions = doc.permissions?.length ? `\n\nNeeds ${doc.permissions.map((p) => `\`${p}\``).join(' or ')} at the location.` : '';
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, r] of Object.entries(doc.responses)) {
    responses[status as `${1 | 2 | 3 | 4 | 5}${string}`] = {
      description: r.description,
      ...(r.headers ? { headers: r.headers } : {}),
      ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: r.schema } } } : {}),
    };
  }
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    ...(doc.description || permissions ? { description: `${doc.description ?? ''}${permissions}`.trim() } : {}),
    tags: [...doc.tags],
    security: securityOf[doc.security],
    ...(Object.keys(requestParams).length > 0 ? { requestParams } : {}),
    ...(doc.body ? { requestBody: { required: true, content: { [doc.requestContentType ?? 'application/json']: { schema: doc.body } } } } : {}),
    responses: { ...errorResponses(doc), ...responses },
  };
}

/** The document for the endpoints that declare `openapi`; the others (the console's) are left out. */
export function openApiDocument(endpoints: readonly Endpoint[], info: { version: string } = { version: '1' }): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = {};
  for (const e of endpoints) {
    if (!e.doc) continue;
    const path = openApiPathOf(e.doc.path);
    paths[path] = { ...paths[path], [e.doc.method]: operationOf(e.doc) };
  }
  const spec: ZodOpenApiObject = {
    openapi: '3.1.0',
    info: {
      title: 'Depotline API',
      version: info.version,
      description: 'Orders in, status out, for the shops, courier partners and other systems a depot works with. '
        + 'Every answer holds only the fields the integration\'s data profile allows.',
    },
    servers: [{ url: '/api/v1' }],
    paths,
    components: {
      securitySchemes: {
        integrationApiKey: { type: 'http', scheme: 'bearer', description: 'An integration\'s API key, `Authorization: Bearer <key>`.' },
        integrationOAuth: {
          type: 'oauth2',
          description: 'OAuth 2.0 client credentials (RFC 6749 section 4.4): a short-lived bearer token from the token endpoint.',
          flows: { clientCredentials: { tokenUrl: '/api/v1/oauth/token', scopes: integrationScopes } },
        },
        oauthClientBasic: { type: 'http', scheme: 'basic', description: 'The OAuth client id and secret (`client_secret_basic`); or send them as form fields (`client_secret_post`).' },
        userAccessToken: { type: 'http', scheme: 'bearer', description: 'A signed-in user\'s access token (`POST /auth/login`).' },
      },
    },
  };
  return createDocument(spec);
}

const integrationScopes: Record<string, string> = {
  'orders.write': 'Create and update orders at the integration\'s locations.',
  'orders.read': 'Read orders and the changes since a cursor.',
  'status.read': 'Read an order\'s status and status history.',
  'pod.read': 'Read proof of delivery.',
};

/**
 * `GET /openapi.json`: public (a partner reads it before holding a key), built once at start-up
 * from the endpoint list it is mounted with.
 */
export function openApiEndpoint(endpoints: readonly Endpoint[]): Endpoint {
  let document: unknown;
  return publicEndpoint({
    method: 'get',
    path: openApiPath,
    handle: () => {
      document ??= openApiDocument(endpoints);
      return Promise.resolve(document);
    },
  });
}

/** The document entry of an integrations admin endpoint: a signed-in admin’s access token, `integration.manage`. */
export const adminOpenApi = (operationId: string, summary: string, responses: EndpointOpenApi['responses']): EndpointOpenApi =>
  ({ operationId, summary, tags: ['integrations admin'], security: 'user', permissions: ['integration.manage'], responses });
