import type { z } from 'zod';

/**
 * What the OpenAPI document says about one endpoint (http/openapi.ts builds the document from
 * these). Declared on the endpoint itself, next to the schemas that parse its input, so the
 * document cannot drift from what the server accepts.
 */

/** How the caller proves who it is. */
export type EndpointCredential =
  /** An integration's API key or OAuth access token (`Authorization: Bearer ...`). */
  | 'integration'
  /** A signed-in user's access token (the console, the admin API). */
  | 'user'
  /** An OAuth client's id and secret (the token endpoint: HTTP Basic or form fields). */
  | 'oauthClient'
  | 'none';

export interface EndpointResponseDoc {
  description: string;
  /** The body; omitted for a response without one (204). */
  schema?: z.ZodType;
  /** Default `application/json`. */
  contentType?: string;
  /** Response headers the client may read (`Location`, `Idempotent-Replayed`). */
  headers?: z.ZodObject;
}

export interface EndpointOpenApi {
  /** Stable and unique across the API: client generators name their methods after it. */
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  security: EndpointCredential;
  /** The permissions (integration scopes, or user permissions) the call needs, named in the description. */
  permissions?: readonly string[];
  /** Request headers beyond `Authorization` (`Idempotency-Key`). */
  headers?: z.ZodObject;
  /** The body's media type; default `application/json`. */
  requestContentType?: string;
  /** Success answers by status; the error answers of every endpoint are added by the document. */
  responses: Readonly<Record<number, EndpointResponseDoc>>;
}

/** The document entry of an endpoint: its metadata plus the schemas its pipeline parses with. */
export interface EndpointDoc extends EndpointOpenApi {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express form, `/locations/:locationId/orders`. */
  path: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
}
