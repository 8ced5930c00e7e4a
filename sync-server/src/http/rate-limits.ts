import express, { type Request, type RequestHandler, type Response } from 'express';
import type { ServerContext } from '../context';
import { rateLimited } from '../errors';
import { ipRateKey, secretRateKey } from '../ratelimit/keys';
import type { Limiter, LimitState } from '../ratelimit/store';
import { clientIp } from './endpoint';

/**
 * Rate limits on every REST route under /api/v1 (app.ts mounts this before the routers), for
 * users and integrations alike, counted in the rate-limit store (Redis when configured, so
 * every server process shares one budget):
 *
 *   per-address     every request, by client address (IPv6 by /64), as `trust proxy` sees it
 *   per-credential  requests carrying `Authorization: Bearer <credential>`, by its SHA-256: a
 *                   user access token, or an integration's API key or OAuth access token
 *   per-client      the OAuth token endpoint, by the client id (Basic or form body)
 *
 * Nothing is verified here: an unknown or forged credential is counted like a real one, and
 * random ones are held by the per-address budget. Every answer carries the IETF httpapi
 * RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers); a request over
 * any budget is answered 429 `rate_limited` with Retry-After. /healthz is outside /api/v1 and
 * not counted. Socket.IO events have their own limits (socket/); they are not REST.
 */

interface Check {
  policy: 'per-credential' | 'per-client' | 'per-address';
  limiter: Limiter;
  key: string;
}

/** RFC 6749 section 3.2: the token endpoint, relative to /api/v1. */
const tokenEndpointPath = '/oauth/token';

export function rateLimitRequests(ctx: ServerContext): RequestHandler {
  const { perMinute } = ctx.config.rateLimits;
  const store = ctx.rateLimits;
  // The general API keeps counting per process while Redis is away (ratelimit/limits.ts, WhenStoreDown).
  const limiter = (name: string, points: number) => store.limiter({ name, points, durationS: 60 }, 'per-process');
  const perAddress = limiter('api-address', perMinute.address);
  const perUserToken = limiter('api-user-token', perMinute.userToken);
  const perIntegrationCredential = limiter('api-integration-credential', perMinute.integrationCredential);
  const perOauthClient = limiter('oauth-client', perMinute.oauthClient);
  // The token endpoint takes a form body (RFC 6749 section 4.4.2); its client id is counted, so
  // the form is read here, bounded (the endpoint's own parser then finds it already read).
  const readTokenForm = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 32 });

  return async (req, res, next) => {
    try {
      const checks: Check[] = [];
      // Express matches routes case-insensitively and with a trailing slash: so does this.
      if (req.method === 'POST' && req.path.toLowerCase().replace(/\/+$/, '') === tokenEndpointPath) {
        // A form that cannot be read is the endpoint's to refuse, in its own (RFC 6749) form; a Basic client id still counts.
        await runMiddleware(readTokenForm, req, res).catch(() => undefined);
        const clientId = oauthClientIdOf(req);
        if (clientId !== null) checks.push({ policy: 'per-client', limiter: perOauthClient, key: secretRateKey(clientId) });
      } else {
        const credential = bearerCredentialOf(req);
        if (credential !== null) {
          const byClass = looksLikeUserAccessToken(credential) ? perUserToken : perIntegrationCredential;
          checks.push({ policy: 'per-credential', limiter: byClass, key: secretRateKey(credential) });
        }
      }
      checks.push({ policy: 'per-address', limiter: perAddress, key: ipRateKey(clientIp(req)) });
      const states = await Promise.all(checks.map((c) => c.limiter.consume(c.key)));
      res.setHeader('RateLimit-Policy', checks.map((c) => `"${c.policy}";q=${c.limiter.spec.points};w=${c.limiter.spec.durationS}`).join(', '));
      res.setHeader('RateLimit', checks.map((c, i) => `"${c.policy}";r=${states[i]!.remaining};t=${resetS(states[i]!)}`).join(', '));
      const refused = states.filter((s) => !s.allowed);
      if (refused.length > 0) {
        next(rateLimited(Math.max(...refused.map(resetS))));
        return;
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** Whole seconds until the window resets, at least 1 (so Retry-After never says "now" too early). */
const resetS = (state: LimitState) => Math.max(1, Math.ceil(state.resetMs / 1000));

function runMiddleware(handler: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    void handler(req, res, (err?: unknown) => {
      if (err === undefined || err === null) resolve();
      else reject(err instanceof Error ? err : new Error('the token form could not be read'));
    });
  });
}

/** Whatever follows `Bearer ` (the scheme is case-insensitive, RFC 7235); not checked here. */
function bearerCredentialOf(req: Request): string | null {
  const match = /^Bearer +(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match ? match[1]! : null;
}

/**
 * User access tokens are JWTs (auth/access-tokens.ts): three base64url parts whose header starts
 * `eyJ` (`{"`). Integration credentials have their own prefixed format. A forged look-alike only
 * picks which budget its own key counts against.
 */
const looksLikeUserAccessToken = (credential: string) => /^eyJ[\w-]*\.[\w-]*\.[\w-]*$/.test(credential);

/**
 * The client id of a token request: from `Authorization: Basic` (client_secret_basic: the id
 * is form-encoded before base64, RFC 6749 section 2.3.1) or the form's `client_id`
 * (client_secret_post).
 */
function oauthClientIdOf(req: Request): string | null {
  const basic = /^Basic +([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const raw = colon === -1 ? decoded : decoded.slice(0, colon);
    try {
      return decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      return raw;
    }
  }
  const body: unknown = req.body;
  if (typeof body === 'object' && body !== null && 'client_id' in body) {
    const id = body.client_id;
    return typeof id === 'string' && id.length > 0 ? id : null;
  }
  return null;
}
