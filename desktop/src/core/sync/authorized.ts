import { ServerRequestError } from '../errors';

/** Where a REST client gets the session's access token. */
export interface AccessTokens {
  /** A token good for the next request (renewed first when it is about to expire). */
  current(): Promise<string>;
  /** A new token, after the server turned the current one away. */
  renew(): Promise<string>;
}

/**
 * Sends with the session's token, and once more with a renewed one when the server says the
 * token is no good: it may have expired between our check and its arrival. A revoked or
 * expired session is not retried.
 */
export async function authorizedCall<T>(tokens: AccessTokens, send: (accessToken: string) => Promise<T>): Promise<T> {
  try {
    return await send(await tokens.current());
  } catch (err) {
    if (!(err instanceof ServerRequestError) || err.code !== 'unauthenticated') throw err;
    return send(await tokens.renew());
  }
}
