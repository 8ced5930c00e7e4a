import type { RequestHandler } from 'express';
import { authenticateAccessToken } from '../auth/access-tokens';
import type { ServerContext } from '../context';
import { unauthenticated } from '../errors';
import { setPrincipal } from './pipeline';

/**
 * REST authentication: `Authorization: Bearer <access token>` only. A token in the query
 * string is never read (it would land in proxy and server logs).
 */
export function requireAuth(ctx: ServerContext): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers.authorization;
    const match = header ? /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header) : null;
    if (!match) {
      next(unauthenticated());
      return;
    }
    authenticateAccessToken(ctx, match[1]!).then(
      (principal) => {
        setPrincipal(req, principal);
        next();
      },
      next,
    );
  };
}
