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
 *   per-client-address  the OAuth token endpoint, by the client id (Basic or form body) together
 *                   with the address (IPv6 by /64); once spent, the endpoint answers 429 to a
 *                   wrong secret only (`refuseIfClientAddressSpent`): the right secret still
 *                   gets its token, so even a flood from the client's own network cannot lock it out
 *
 * Nothing is verified here: an unknown or forged credential is counted like a real one, and
 * random ones are held by the per-address budget. Client ids are not secret, so the budget a
 * client id spends before its secret is checked is its budget from that network only: whoever
 * merely knows the id spends their own, never the client's. Two budgets are charged after
 * authentication, so only the holder of the secret spends them, and are added to the same fields:
 *
 *   per-client      the OAuth token endpoint, by the authenticated client (`chargeVerifiedOauthClient`)
 *   per-integration-credential  integration API calls, by the authenticated API key or, for an
 *                   OAuth access token, its client: minting more tokens buys no more calls
 *                   (`chargeIntegrationCredential`, http/integration-endpoint.ts)
 * Every answer carries the IETF httpapi
 * RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers); a request over
 * any budget is answered 429 `rate_limited` with Retry-After. /healthz is outside /api/v1 and
 * not counted. Socket.IO events have their own limits (socket/); they are not REST.
 */

interface Check {
  policy: 'per-credential' | 'per-client-address' | 'per-address';
  limiter: Limiter;
  key: string;
  /** Not refused here: the endpoint decides once it knows whether the secret was right. */
  deferred?: boolean;
}

/** `res.locals` field: seconds until the spent `per-client-address` budget returns. */
const clientAddressSpent = 'oauthClientAddressSpentS';

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
  const perOauthClientAddress = limiter('oauth-client-address', perMinute.oauthClient);
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
        if (clientId !== null) checks.push({ policy: 'per-client-address', limiter: perOauthClientAddress, key: `${secretRateKey(clientId)}|${ipRateKey(clientIp(req))}`, deferred: true });
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
      checks.forEach((c, i) => {
        if (c.deferred && !states[i]!.allowed) res.locals[clientAddressSpent] = resetS(states[i]!);
      });
      const refused = states.filter((s, i) => !s.allowed && !checks[i]!.deferred);
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

/** The budgets charged once the caller is authenticated; like the general API, counted per process while Redis is away. */
const verifiedLimiter = (ctx: ServerContext, name: string, points: number) => ctx.rateLimits.limiter({ name, points, durationS: 60 }, 'per-process');

/**
 * Charges `limiter` for `key` and adds it, as `policy`, to the RateLimit-Policy and RateLimit
 * fields the middleware set; throws `rate_limited` (429, Retry-After) when it is spent.
 */
async function chargeAfterAuthentication(res: Response, policy: string, limiter: Limiter, key: string): Promise<void> {
  const state = await limiter.consume(key);
  const add = (name: string, item: string) => {
    const before = res.getHeader(name);
    res.setHeader(name, typeof before === 'string' && before !== '' ? `${before}, ${item}` : item);
  };
  add('RateLimit-Policy', `"${policy}";q=${limiter.spec.points};w=${limiter.spec.durationS}`);
  add('RateLimit', `"${policy}";r=${state.remaining};t=${resetS(state)}`);
  if (!state.allowed) throw rateLimited(resetS(state));
}

/** The token endpoint, when the secret was wrong: 429 once this client id's budget from this network is spent. */
export function refuseIfClientAddressSpent(res: Response): void {
  const retryAfterS: unknown = res.locals[clientAddressSpent];
  if (typeof retryAfterS === 'number') throw rateLimited(retryAfterS);
}

/** The token endpoint, once the client's secret was verified: the client-wide budget (`per-client`). */
export function chargeVerifiedOauthClient(ctx: ServerContext, res: Response, clientId: string): Promise<void> {
  return chargeAfterAuthentication(res, 'per-client', verifiedLimiter(ctx, 'oauth-client', ctx.config.rateLimits.perMinute.oauthClient), clientId);
}

/**
 * The integration API, once the credential is authenticated: one budget per API key, and one per
 * OAuth client for all the access tokens it was issued (`per-integration-credential`).
 */
export function chargeIntegrationCredential(ctx: ServerContext, res: Response, credential: { kind: 'api_key' | 'oauth_token'; id: string; clientId?: string }): Promise<void> {
  const key = credential.kind === 'oauth_token' && credential.clientId !== undefined ? `oauth_client:${credential.clientId}` : `${credential.kind}:${credential.id}`;
  return chargeAfterAuthentication(res, 'per-integration-credential',
    verifiedLimiter(ctx, 'api-integration-verified-credential', ctx.config.rateLimits.perMinute.integrationCredential), key);
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
