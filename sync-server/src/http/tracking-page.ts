import fs from 'node:fs';
import path from 'node:path';
import { trackingTokenPattern } from '@depotline/shared';
import express, { type Request, type Response, type Router } from 'express';
import type { ServerContext } from '../context';
import { ipRateKey, secretRateKey } from '../ratelimit/keys';
import { recordTrackingHit, trackingHitAuditor } from '../tracking/hits';
import { findActiveLink } from '../tracking/links';
import { activePage, busyPage, inactivePage } from '../tracking/page-html';
import { trackingViewOf } from '../tracking/view';
import { clientIp } from './endpoint';

/**
 * The customer tracking page, public, outside /api/v1 (docs/security-model.md "Customer tracking
 * links"):
 *
 *   GET /t/<token>          the page (HTML), rendered from the public view
 *   GET /t/<token>/status   the same view as JSON, for the page's live update
 *   GET /t/assets/*         its script and style sheet
 *
 * Every answer: a policy allowing only this origin's script, style and requests (nothing inline,
 * no framing, no forms), `Cache-Control: no-store`, `Referrer-Policy: no-referrer`,
 * `X-Robots-Tag: noindex, nofollow`; no cookie is ever set. An unknown, malformed, expired or
 * revoked token gets the same 404 page. Rate limits per client address and per token run before
 * any lookup; a malformed token never reaches the database.
 */

const pageCsp = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'none'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

function harden(res: Response): void {
  res.setHeader('Content-Security-Policy', pageCsp);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Robots-Tag', 'noindex, nofollow');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Permissions-Policy', 'geolocation=(), camera=(), microphone=()');
}

const wantsJson = (req: Request) => req.path.endsWith('/status');

export function trackingPageRouter(ctx: ServerContext): Router {
  const here = path.join(import.meta.dirname, 'tracking-page');
  const assets: Record<string, { type: string; body: Buffer }> = {
    '/t/assets/track.js': { type: 'text/javascript; charset=utf-8', body: fs.readFileSync(path.join(here, 'track.js')) },
    '/t/assets/track.css': { type: 'text/css; charset=utf-8', body: fs.readFileSync(path.join(here, 'track.css')) },
  };
  const { perAddressPerMin, perLinkPerMin } = ctx.config.tracking;
  const perAddress = ctx.rateLimits.limiter({ name: 'tracking-address', points: perAddressPerMin, durationS: 60 }, 'per-process');
  const perToken = ctx.rateLimits.limiter({ name: 'tracking-token', points: perLinkPerMin, durationS: 60 }, 'per-process');
  const auditHits = trackingHitAuditor(ctx);
  const router = express.Router();

  // Headers and the per-address budget first, for every /t request (assets included).
  router.use('/t', (req, res, next) => {
    harden(res);
    perAddress.consume(ipRateKey(clientIp(req))).then((state) => {
      if (state.allowed) return next();
      refuse(req, res, state.resetMs);
    }, next);
  });

  for (const [route, asset] of Object.entries(assets)) {
    router.get(route, (_req, res) => void res.type(asset.type).send(asset.body));
  }

  const inactive = (req: Request, res: Response) => {
    if (wantsJson(req)) res.status(404).json({ active: false });
    else res.status(404).type('html').send(inactivePage());
  };

  router.get(['/t/:token', '/t/:token/status'], (req, res, next) => {
    const token = String(req.params['token']);
    if (!trackingTokenPattern.test(token)) return inactive(req, res);
    void (async () => {
      const budget = await perToken.consume(secretRateKey(token));
      if (!budget.allowed) return refuse(req, res, budget.resetMs);
      const now = ctx.now();
      const link = await findActiveLink(ctx.db, token, now);
      const view = link ? await trackingViewOf(ctx, ctx.db, link, now) : null;
      if (!link || !view) return inactive(req, res);
      await recordTrackingHit(ctx, link, now);
      auditHits(now);
      if (wantsJson(req)) res.json(view);
      else res.type('html').send(activePage(view));
    })().catch(next);
  });

  // Anything else under /t: the same page as an unknown link.
  router.use('/t', (req, res) => inactive(req, res));
  return router;
}

function refuse(req: Request, res: Response, resetMs: number): void {
  const retryAfterS = Math.max(1, Math.ceil(resetMs / 1000));
  res.setHeader('Retry-After', String(retryAfterS));
  if (wantsJson(req)) res.status(429).json({ error: { code: 'rate_limited', message: `Too many requests; try again in ${retryAfterS} s.` } });
  else res.status(429).type('html').send(busyPage(retryAfterS));
}
