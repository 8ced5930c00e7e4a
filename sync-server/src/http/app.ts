import express, { type Express } from 'express';
import helmet from 'helmet';
import type { ServerContext } from '../context';
import { notFound } from '../errors';
import { ceremonyPageRouter } from './ceremony-page';
import { type Endpoint, mountEndpoints } from './endpoint';
import { errorMiddleware } from './error-middleware';
import { rateLimitRequests } from './rate-limits';
import { trackingPageRouter } from './tracking-page';

/**
 * The Express app: security headers on every response, rate limits and bounded JSON bodies on
 * the API under /api/v1, and one error middleware registered last.
 */
export function createHttpApp(ctx: ServerContext, endpoints: readonly Endpoint[], isReady: () => boolean): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', ctx.config.trustProxyHops);
  app.use(
    helmet({
      // An API serves no pages: nothing may be framed, scripted or embedded.
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      strictTransportSecurity: ctx.config.tls ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      crossOriginResourcePolicy: { policy: 'same-origin' },
    }),
  );
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  app.get('/healthz', (_req, res) => {
    if (isReady()) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'starting' });
  });

  // The security-key ceremony page (its own, stricter-for-scripts policy): ceremony-page.ts.
  app.use(ceremonyPageRouter());

  // The customer tracking page at /t/<token> (its own policy, rate limits and 404s): tracking-page.ts.
  app.use(trackingPageRouter(ctx));

  // Rate limits first, before any body is read: every route under /api/v1, known or not (rate-limits.ts).
  app.use('/api/v1', rateLimitRequests(ctx));

  const api = express.Router();
  api.use(express.json({ limit: ctx.config.maxBodyBytes, strict: true }));
  mountEndpoints(api, ctx, endpoints);
  app.use('/api/v1', api);

  app.use((_req, _res, next) => next(notFound('The endpoint')));
  app.use(errorMiddleware(ctx.log));
  return app;
}
